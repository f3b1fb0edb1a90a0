//! Requests that arrive in pieces. Each piece is written with TCP_NODELAY and a pause before the
//! next, so the server's reads really see the split; a server that reads with one recv() fails
//! here every time. A case checks only that the split PUT was parsed whole (answered ok).

use std::time::Duration;

use serde_json::Value;

use super::{Case, Ctx, Group, Status, Verdict};
use crate::codes::Code;
use crate::protocol::srpc::codec::HEADER_LEN;
use crate::protocol::srpc::findings::SrpcCode;
use crate::protocol::srpc::oracle;

/// Pause between the bytes of the dribble case (it sends one byte per write).
const DRIBBLE_PAUSE: Duration = Duration::from_millis(4);

macro_rules! header_splits {
    ($($name:ident: $id:literal at $cut:literal),* $(,)?) => {
        $(fn $name(ctx: &mut Ctx) -> Verdict { split_put(ctx, &[$cut], None) })*
        fn header_split_cases() -> Vec<Case> {
            vec![$(Case {
                id: $id,
                group: Group::Fragment,
                description: concat!("the header arrives in two pieces, split after byte ", $cut),
                requirement: "A server reads until it has all 8 header bytes, however they are split.",
                run: $name,
            }),*]
        }
    };
}

header_splits! {
    header_split_1: "fragment/header-split-1" at 1,
    header_split_2: "fragment/header-split-2" at 2,
    header_split_3: "fragment/header-split-3" at 3,
    header_split_4: "fragment/header-split-4" at 4,
    header_split_5: "fragment/header-split-5" at 5,
    header_split_6: "fragment/header-split-6" at 6,
    header_split_7: "fragment/header-split-7" at 7,
}

pub fn cases() -> Vec<Case> {
    let c = |id, description, requirement, run| Case {
        id,
        group: Group::Fragment,
        description,
        requirement,
        run,
    };
    let mut cases = header_split_cases();
    cases.extend([
        c(
            "fragment/header-then-payload",
            "the header, then the payload in a second write",
            "A server reads the payload separately from the header if need be.",
            header_then_payload,
        ),
        c(
            "fragment/payload-split",
            "the payload arrives in two pieces",
            "A server reads until it has all `length` payload bytes.",
            payload_split,
        ),
        c(
            "fragment/dribble",
            "the whole request one byte at a time",
            "A server assembles a request from any number of reads.",
            dribble,
        ),
        c(
            "fragment/random-splits",
            "five requests cut at random points (seeded)",
            "Any split of a request is read correctly.",
            random_splits,
        ),
        c(
            "fragment/large-request",
            "a request of more than 1 MiB",
            "A request larger than any single recv() is read whole.",
            large_request,
        ),
        c(
            "fragment/large-reply",
            "a reply of more than 1 MiB (an unknown func name echoed back)",
            "A reply larger than a single send() is sent whole.",
            large_reply,
        ),
    ]);
    cases
}

fn put_payload(ctx: &mut Ctx) -> (Value, Vec<u8>) {
    let name = ctx.key();
    let val = Value::String("fragmented request".into());
    let payload = oracle::put_request(&name, &val);
    (name, payload)
}

/// The bug a failed split shows: a cut inside the header breaks a single header recv(); a cut
/// inside the payload, a single payload recv(); the cut between them alone, a single recv()
/// for the whole message.
fn describe_cuts(cuts: &[usize], payload_len: usize) -> (Code, String) {
    if let Some(cut) = cuts.iter().copied().filter(|&c| c < HEADER_LEN).min() {
        (Code::Srpc(SrpcCode::HeaderSingleRecv), format!("your server reads the header with a single recv(); it broke when the header arrived in two pieces ({}, then the rest). recv(8) may return fewer than 8 bytes: loop until all 8 have arrived", crate::words::count(cut, "byte")))
    } else if let Some(cut) = cuts.iter().copied().filter(|&c| c > HEADER_LEN).min() {
        (Code::Srpc(SrpcCode::PayloadSingleRecv), format!("your server reads the payload with a single recv(); it broke when the payload arrived in pieces ({} of {payload_len} bytes first). recv(n) returns at most n bytes, often fewer: loop until all of them have arrived", cut - HEADER_LEN))
    } else {
        (Code::Srpc(SrpcCode::MessageSingleRecv), "your server seems to read header and payload with one recv(); it broke when the payload arrived after the header. Read the header, then loop until all `length` payload bytes have arrived".into())
    }
}

/// Sends a fresh PUT cut at `cuts` and checks it was answered ok.
fn split_put(ctx: &mut Ctx, cuts: &[usize], pause: Option<Duration>) -> Verdict {
    let (name, payload) = put_payload(ctx);
    let pause = pause.unwrap_or(ctx.settings.split_pause);
    let v = match ctx.call_split(&payload, cuts, pause) {
        Ok(reply) => super::judge(&oracle::put_reply(&name), &reply.json),
        Err(v) => v,
    };
    if v.status == Status::Fail {
        let (code, hint) = describe_cuts(cuts, payload.len());
        return Verdict {
            message: format!("request split at byte offsets {cuts:?}: {}", v.message),
            ..v
        }
        .because(code, hint);
    }
    v
}

fn header_then_payload(ctx: &mut Ctx) -> Verdict {
    split_put(ctx, &[HEADER_LEN], None)
}

fn payload_split(ctx: &mut Ctx) -> Verdict {
    let (_, payload) = put_payload(ctx);
    split_put(ctx, &[HEADER_LEN + payload.len() / 2], None)
}

fn dribble(ctx: &mut Ctx) -> Verdict {
    let (_, payload) = put_payload(ctx);
    let cuts: Vec<usize> = (1..HEADER_LEN + payload.len()).collect();
    split_put(ctx, &cuts, Some(DRIBBLE_PAUSE))
}

fn random_splits(ctx: &mut Ctx) -> Verdict {
    for _ in 0..5 {
        let (_, payload) = put_payload(ctx);
        let total = HEADER_LEN + payload.len();
        let n = ctx.rng.usize(1..=3);
        let mut cuts: Vec<usize> = (0..n).map(|_| ctx.rng.usize(1..total)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let v = split_put(ctx, &cuts, None);
        if v.status != Status::Pass {
            return Verdict {
                message: format!("{} (seed {})", v.message, ctx.settings.seed),
                ..v
            };
        }
    }
    Verdict::pass()
}

fn big_value() -> Value {
    Value::String("x".repeat((1 << 20) + 1))
}

fn large_request(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let v = ctx.expect(
        &oracle::put_request(&name, &big_value()),
        &oracle::put_reply(&name),
    );
    if v.status == Status::Fail {
        return v.because(Code::Srpc(SrpcCode::PayloadSingleRecv), "a 1 MiB request reaches the server in many pieces; a single recv() returns only what has arrived so far. Loop until all `length` payload bytes are in");
    }
    v
}

fn large_reply(ctx: &mut Ctx) -> Verdict {
    // An unknown func is echoed in the reply, which makes a 1 MiB reply without relying on the
    // store (persistence is the state group's business).
    let func = big_value();
    let request = format!(r#"{{"func": {func}, "params": {{}}}}"#);
    let v = ctx.expect(request.as_bytes(), &oracle::unknown_func_reply(&func));
    if v.status == Status::Fail {
        // Do not print a megabyte of x's.
        return Verdict {
            expected: Some("the unknown-func reply echoing the 1 MiB func name".into()),
            actual: v.actual.map(|a| if a.len() > 200 { format!("{} characters of JSON: {}...", a.len(), a.chars().take(80).collect::<String>()) } else { a }),
            ..v
        }
        .because(Code::Srpc(SrpcCode::ReplyPartialSend), "a 1 MiB reply did not arrive whole: send it with sendall() (send() may write only part), and read the 1 MiB request fully first (see fragment/large-request)");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_split_names_the_recv_it_broke() {
        let code = |cuts: &[usize]| describe_cuts(cuts, 100).0;
        assert_eq!(code(&[3]), Code::Srpc(SrpcCode::HeaderSingleRecv));
        assert_eq!(code(&[3, 8, 50]), Code::Srpc(SrpcCode::HeaderSingleRecv));
        assert_eq!(code(&[50]), Code::Srpc(SrpcCode::PayloadSingleRecv));
        // A random split that happens to cut at the header's end and in the payload: the
        // payload's cut is what a separate payload recv() trips on.
        assert_eq!(code(&[8, 50]), Code::Srpc(SrpcCode::PayloadSingleRecv));
        assert_eq!(code(&[8]), Code::Srpc(SrpcCode::MessageSingleRecv));
        assert!(describe_cuts(&[1], 100)
            .1
            .contains("(1 byte, then the rest)"));
    }
}
