//! Malformed input, broken clients, and whether the server survives them with its data. Each
//! case is followed by a liveness check (a fresh, well-formed PUT answered ok); data survival is
//! a case of its own, at the end.

use std::time::Duration;

use serde_json::Value;

use super::{Case, Ctx, Group, Status, Verdict};
use crate::codes::Code;
use crate::protocol::srpc::codec;
use crate::protocol::srpc::findings::SrpcCode;
use crate::protocol::srpc::oracle;
use crate::protocol::srpc::reply::{self, NoReply};

const SURVIVE: &str =
    "The server answers {\"status\": \"ERROR\"} (or closes that one connection) and keeps serving.";

/// The malformed-input cases: each sends bytes (built with the case's own fresh keys), maybe
/// half-closes, expects ERROR or a close, and then a live server.
macro_rules! malformed_cases {
    ($($name:ident: $id:literal, $description:literal, half_close: $half:literal, $what:literal, $bytes:expr;)*) => {
        $(fn $name(ctx: &mut Ctx) -> Verdict {
            let build: fn(&mut Ctx) -> Vec<u8> = $bytes;
            let bytes = build(ctx);
            malformed(ctx, &bytes, $half, $what)
        })*
        fn malformed_cases() -> Vec<Case> {
            vec![$(Case { id: $id, group: Group::Robust, description: $description, requirement: SURVIVE, run: $name }),*]
        }
    };
}

malformed_cases! {
    short_header: "robust/short-header", "3 header bytes, then the client closes its side",
        half_close: true, "a 3-byte header", |_| vec![1, 0, 0];
    header_only: "robust/header-only", "a header declaring 40 bytes, then the client closes its side",
        half_close: true, "a header with no payload", |_| codec::frame(1, 40, b"");
    truncated_payload: "robust/truncated-payload", "half of the declared payload, then the client closes its side",
        half_close: true, "a truncated payload", |ctx| {
            let payload = oracle::put_request(&ctx.key(), &Value::from("truncated"));
            codec::frame(1, payload.len() as i32, &payload[..payload.len() / 2])
        };
    negative_length: "robust/negative-length", "a header declaring length -1",
        half_close: true, "a negative length", |_| codec::frame(1, -1, b"");
    huge_length: "robust/huge-length", "a header declaring 2147483647 bytes, then the client closes its side",
        half_close: true, "a declared length of 2147483647", |_| codec::frame(1, i32::MAX, b"{}");
    empty_payload: "robust/empty-payload", "a header declaring length 0",
        half_close: false, "an empty payload", |_| codec::frame(1, 0, b"");
    invalid_utf8: "robust/invalid-utf8", "a payload that is not UTF-8",
        half_close: false, "invalid UTF-8", |_| codec::request(b"{\"func\": \"GET\xff\xfe\", \"params\": {\"obj\": \"x\"}}");
    invalid_json: "robust/invalid-json", "a payload that is not JSON",
        half_close: false, "invalid JSON", |_| frame_of(r#"{"func": "GET", "params": {"obj": }"#);
    not_object: "robust/json-not-object", "a payload that is a JSON list",
        half_close: false, "a JSON list", |_| frame_of(r#"["GET", {"obj": "x"}]"#);
    missing_func: "robust/missing-func", "a request without \"func\"",
        half_close: false, "a request without func", |_| frame_of(r#"{"params": {"obj": "x"}}"#);
    missing_params: "robust/missing-params", "a request without \"params\"",
        half_close: false, "a request without params", |_| frame_of(r#"{"func": "GET"}"#);
    params_not_object: "robust/params-not-object", "a GET whose params is a list",
        half_close: false, "params that is a list", |_| frame_of(r#"{"func": "GET", "params": ["obj", "x"]}"#);
    missing_obj: "robust/missing-obj", "a GET without \"obj\"",
        half_close: false, "a GET without obj", |_| frame_of(r#"{"func": "GET", "params": {"name": "x"}}"#);
    missing_val: "robust/missing-val", "a PUT without \"val\"",
        half_close: false, "a PUT without val", |ctx| frame_of(&format!(r#"{{"func": "PUT", "params": {{"obj": {}}}}}"#, ctx.key()));
    unhashable_obj: "robust/unhashable-obj", "a PUT whose obj is a list",
        half_close: false, "a list as obj", |_| frame_of(r#"{"func": "PUT", "params": {"obj": ["a", "list"], "val": 1}}"#);
    deep_nesting: "robust/deep-nesting", "a value nested 100,000 levels deep",
        half_close: false, "a value nested 100,000 deep", |ctx| {
            let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            frame_of(&format!(r#"{{"func": "PUT", "params": {{"obj": {}, "val": {deep}}}}}"#, ctx.key()))
        };
}

pub fn cases() -> Vec<Case> {
    let c = |id, description, requirement, run| Case {
        id,
        group: Group::Robust,
        description,
        requirement,
        run,
    };
    let mut cases = vec![c(
        "robust/empty-connection",
        "a client connects and leaves (end of stream, then a reset) without sending anything",
        "A connection that sends nothing does not stop the server.",
        empty_connection as fn(&mut Ctx) -> Verdict,
    )];
    cases.extend(malformed_cases());
    cases.push(c(
        "robust/client-gone",
        "a client sends a PUT and leaves (end of stream, then a reset) before the server answers",
        "A client that leaves early does not stop the server (no unhandled BrokenPipeError).",
        client_gone,
    ));
    cases.push(c(
        "robust/data-survives",
        "a value stored before this group is still there",
        "No malformed input loses stored data.",
        data_survives,
    ));
    cases
}

/// Writes the value that `robust/data-survives` checks, once, before the group's first case,
/// and reads it back. If it cannot be read back even now, the store does not persist at all;
/// that is state/persistence's finding, so data-survives will skip rather than repeat it.
fn ensure_sentinel(ctx: &mut Ctx) -> Result<(), Verdict> {
    if ctx.sentinel.is_none() {
        let name = ctx.key();
        let val = oracle::json(r#"{"written": "before the robust group", "n": [1, 2, 3]}"#);
        ctx.put(&name, &val)?;
        let readable = ctx.expect_stored(&name, &val).status != Status::Fail;
        ctx.sentinel = Some((name, val, readable));
        ctx.restarts_at_sentinel = ctx.restarts.len();
    }
    Ok(())
}

/// Sends raw bytes (half-closing afterwards if asked), judges the answer, then checks the server
/// is still alive.
fn malformed(ctx: &mut Ctx, bytes: &[u8], half_close: bool, what: &str) -> Verdict {
    if let Err(v) = ensure_sentinel(ctx) {
        return v;
    }
    let mut conn = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    let answer = reply::exchange(&mut conn, bytes, &[], Duration::ZERO, half_close);
    let transcript = ctx.keep(conn);
    let timeout = ctx.settings.timeout;
    let first = match answer {
        Ok(r) if r.status().as_deref() == Some("ERROR") => Verdict::pass(),
        Ok(r) => Verdict::new(Status::Warn, format!("{what} was answered {}; expected an ERROR reply", r.json))
            .expected(oracle::error_reply().to_string())
            .actual(r.json.to_string())
            .finding(Code::Srpc(SrpcCode::BadRequestReply)),
        Err(NoReply::ClosedSilently | NoReply::Reset) => Verdict::pass(),
        Err(NoReply::Silent(seen)) => Verdict::fail(match seen {
            Some(why) => format!("no reply and no close after {what}: {why}"),
            None => format!("no reply and no close within {} after {what}", humantime::format_duration(timeout)),
        })
            .because(if half_close { Code::Srpc(SrpcCode::EofNotHandled) } else { Code::Srpc(SrpcCode::LengthNotChecked) }, if half_close {
                "the client had closed its side, so no more bytes could come; your server keeps waiting instead of treating end-of-stream (recv() returning b\"\") as an incomplete request"
            } else {
                "your server keeps waiting for bytes that will never come: check the declared length before reading, and reply ERROR to a length that is negative or too large"
            }),
        Err(e @ NoReply::Garbled { .. }) => Verdict::fail(format!("after {what}: {}", e.describe(timeout))),
    };
    let first = Verdict {
        transcript: Some(Box::new(transcript)),
        ..first
    };
    match ctx.alive() {
        Ok(()) => first,
        Err(v) => Verdict {
            transcript: first.transcript,
            ..Verdict {
                message: format!("after {what}: {}", v.message),
                ..v
            }
        },
    }
}

fn frame_of(text: &str) -> Vec<u8> {
    codec::request(text.as_bytes())
}

/// A client that sends `bytes` (perhaps nothing) and leaves without reading; the server must
/// still answer afterwards. `what` and `hint` describe the client and the usual crash.
///
/// The server meets the departed client the same way every time, whatever its timing: where
/// srpc-check can hold it still ([`crate::observe::Watch::pause`]), the client connects,
/// sends, half-closes and resets while the server is stopped. The server then reads the bytes,
/// then end-of-stream, and its first send on the connection fails, as for a client that left
/// before the server got to it. Where it cannot (a remote server), the client closes after
/// sending, and a server that sends twice may or may not meet the reset in time.
/// Longest wait for a server to come to rest after a client left.
const SETTLE_LIMIT: Duration = Duration::from_millis(250);

fn leaves_early(ctx: &mut Ctx, bytes: &[u8], what: &str, code: Code, hint: &str) -> Verdict {
    if let Err(v) = ensure_sentinel(ctx) {
        return v;
    }
    let paused = ctx.settings.watch.pause(ctx.settings.timeout);
    let mut conn = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    if !bytes.is_empty() {
        let _ = conn.send(bytes);
    }
    if paused.is_some() {
        let transcript = conn.leave_with_reset();
        ctx.exchanges.push(transcript);
    } else {
        ctx.keep(conn);
    }
    // Let the server meet the departed client before the next one comes: until it is seen at
    // rest, or (unobserved) for a moment.
    if paused.is_some() {
        drop(paused);
        ctx.settings.watch.settle(SETTLE_LIMIT);
    } else {
        std::thread::sleep(Duration::from_millis(50));
    }
    match ctx.alive() {
        Ok(()) => Verdict::pass(),
        Err(v) => Verdict {
            message: format!("after {what}: {}", v.message),
            ..v
        }
        .because(code, hint),
    }
}

fn empty_connection(ctx: &mut Ctx) -> Verdict {
    leaves_early(
        ctx,
        b"",
        "a connection that sent nothing",
        Code::Srpc(SrpcCode::CrashOnShortHeader),
        "your server crashed on a connection that sent nothing: recv() returned b\"\" (or fewer than 8 bytes) and the code went on to unpack or decode it. Treat a short header as a closed client",
    )
}

fn client_gone(ctx: &mut Ctx) -> Verdict {
    let request = codec::request(&oracle::put_request(&ctx.key(), &Value::from(1)));
    leaves_early(
        ctx,
        &request,
        "a client that left without reading",
        Code::CrashWhenClientLeaves,
        "your server crashed sending to a client that had gone (BrokenPipeError or ConnectionResetError, perhaps raised inside an except block). Catch errors around send as well",
    )
}

fn data_survives(ctx: &mut Ctx) -> Verdict {
    if let Err(v) = ensure_sentinel(ctx) {
        return v;
    }
    let (name, val, readable) = ctx.sentinel.clone().expect("sentinel written");
    if let Some(&after) = ctx.restarts.get(ctx.restarts_at_sentinel) {
        return Verdict::fail(format!(
            "the server crashed or hung after {after} and had to be restarted, so the value stored before the group is lost"
        ))
        .same_as(after)
        .hint("a server that dies on a bad request loses everything it stored; catch exceptions per connection so that it never has to be restarted");
    }
    if !readable {
        return Verdict::new(Status::Skip, "the value written before the group could not be read back even then; see state/persistence");
    }
    let v = ctx.expect_stored(&name, &val);
    if v.status == Status::Fail {
        return v.hint("a value stored before the robust group is gone or changed: the server lost its data while handling malformed input (did it restart?)");
    }
    v
}
