//! The form of a reply: its header, its length, its JSON, its close. This is the only group that
//! fails a reply for its form; the others read past framing mistakes to test what they test.

use std::time::Instant;

use serde_json::Value;

use super::{no_anomaly, Case, Ctx, Group, Verdict};
use crate::codes::Code;
use crate::net::conn::ReadStatus;
use crate::protocol::srpc::findings::SrpcCode;
use crate::protocol::srpc::oracle::{self, json};
use crate::protocol::srpc::reply::{self, Anomaly};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "protocol/reply-header",
            group: Group::Protocol,
            description: "the reply starts with an 8-byte header: version 1, then the length, little-endian",
            requirement: "Every reply is struct.pack(\"ii\", 1, length) followed by the payload.",
            run: reply_header,
        },
        Case {
            id: "protocol/reply-length",
            group: Group::Protocol,
            description: "the declared length equals the payload's bytes (ASCII reply)",
            requirement: "The header's length is the number of payload bytes that follow it.",
            run: reply_length_ascii,
        },
        Case {
            id: "protocol/reply-length-non-ascii",
            group: Group::Protocol,
            description: "the declared length equals the payload's bytes when the value is non-ASCII",
            requirement: "The length counts bytes, not characters; the lab's json.dumps escapes non-ASCII so both agree.",
            run: reply_length_non_ascii,
        },
        Case {
            id: "protocol/reply-json",
            group: Group::Protocol,
            description: "the payload is the JSON reply object itself",
            requirement: "The payload is json.dumps(reply), encoded once.",
            run: reply_json,
        },
        Case {
            id: "protocol/status-spelling",
            group: Group::Protocol,
            description: "the status is spelled \"OK\" or \"ERROR\" exactly",
            requirement: "Replies carry \"status\": \"OK\" or \"status\": \"ERROR\", case-sensitive.",
            run: status_spelling,
        },
        Case {
            id: "protocol/close-after-reply",
            group: Group::Protocol,
            description: "the server closes the connection after its reply",
            requirement: "One request per connection: after replying, the server closes the connection.",
            run: close_after_reply,
        },
        Case {
            id: "protocol/unknown-func",
            group: Group::Protocol,
            description: "a func other than GET or PUT gets the lab's reply",
            requirement: "Any other func answers {\"status\": \"OK\", \"response\": {\"func\": FUNC, \"response\": \"ERROR - Function doesn't exist\"}}.",
            run: unknown_func,
        },
    ]
}

fn put_reply_of_fresh_key(ctx: &mut Ctx, val: &Value) -> Result<reply::Reply, Verdict> {
    let name = ctx.key();
    ctx.call(&oracle::put_request(&name, val))
}

fn reply_header(ctx: &mut Ctx) -> Verdict {
    match put_reply_of_fresh_key(ctx, &Value::from(1)) {
        Ok(r) => no_anomaly(&r, |a| {
            matches!(
                a,
                Anomaly::BigEndianHeader | Anomaly::NoHeader | Anomaly::Version(_)
            )
        }),
        Err(v) => v,
    }
}

fn length_case(ctx: &mut Ctx, val: &Value) -> Verdict {
    let name = ctx.key();
    if let Err(v) = ctx.put(&name, val) {
        return v;
    }
    match ctx.call(&oracle::get_request(&name)) {
        Ok(r) => no_anomaly(&r, |a| {
            matches!(
                a,
                Anomaly::LengthTooLong { .. } | Anomaly::LengthTooShort { .. }
            )
        }),
        Err(v) => v,
    }
}

fn reply_length_ascii(ctx: &mut Ctx) -> Verdict {
    length_case(ctx, &json(r#"{"text": "plain ascii"}"#))
}

fn reply_length_non_ascii(ctx: &mut Ctx) -> Verdict {
    length_case(ctx, &json(r#"{"text": "héllo wörld ✓ 😀 日本"}"#))
}

fn reply_json(ctx: &mut Ctx) -> Verdict {
    match put_reply_of_fresh_key(ctx, &Value::from(1)) {
        Ok(r) => no_anomaly(&r, |a| matches!(a, Anomaly::DoubleEncoded)),
        Err(v) => v,
    }
}

fn status_spelling(ctx: &mut Ctx) -> Verdict {
    match put_reply_of_fresh_key(ctx, &Value::from(1)) {
        Ok(r) => no_anomaly(&r, |a| matches!(a, Anomaly::StatusCase(_))),
        Err(v) => v,
    }
}

fn close_after_reply(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let mut conn = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    let _ = conn.send(&crate::protocol::srpc::codec::request(
        &oracle::put_request(&name, &Value::from(1)),
    ));
    let read = reply::read(&mut conn);
    let timeout = conn.timeout();
    if let Err(e) = read {
        ctx.keep(conn);
        return super::no_reply_verdict(&e, timeout);
    }
    let (end, extra) = conn.wait_close(Instant::now() + timeout);
    ctx.keep(conn);
    let v = match end {
        ReadStatus::Eof | ReadStatus::Reset => return Verdict::pass(),
        ReadStatus::Timeout => Verdict::fail(format!(
            "the connection was still open {} after the reply",
            humantime::format_duration(timeout)
        ))
        .because(Code::NoClose, "your server never closes the connection after replying: call conn.close() once the reply is sent (a client reading until EOF would hang)"),
        ReadStatus::Data(_) => Verdict::fail("unexpected"),
    };
    if extra > 0 {
        return v.actual(format!(
            "{} arrived after the reply",
            crate::words::count(extra, "more byte")
        ));
    }
    v
}

fn unknown_func(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let func = Value::String("DELETE".into());
    let req = format!(r#"{{"func": {func}, "params": {{"obj": {name}}}}}"#);
    let v = ctx.expect(req.as_bytes(), &oracle::unknown_func_reply(&func));
    if v.status == super::Status::Fail
        && v.actual.as_deref() == Some(&oracle::error_reply().to_string())
    {
        return v.because(Code::Srpc(SrpcCode::UnknownFuncReply), "your server answers ERROR; the lab's make_call answers status OK with \"ERROR - Function doesn't exist\" as the response");
    }
    v
}
