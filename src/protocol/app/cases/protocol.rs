//! The message format both ways: the 2-byte length, the four header keys and their types,
//! content-length in bytes, each reply's content type and encoding, and the close after it.

use std::time::Duration;

use super::super::codec;
use super::super::oracle;
use super::{code, expect, no_reply, send, AppCode, Kind};
use crate::suite::{Case, Ctx, Group, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "protocol/length-prefix",
            group: Group::Protocol,
            description: "the reply starts with the JSON header's length, 2 bytes big-endian",
            requirement: "A message is struct.pack(\">H\", len(jsonheader)) + jsonheader + content.",
            run: length_prefix,
        },
        Case {
            id: "protocol/header-keys",
            group: Group::Protocol,
            description: "the reply header has the four keys, spelled so, with their types",
            requirement: "The JSON header has byteorder, content-type and content-encoding (strings) and content-length (an int), spelled exactly so.",
            run: header_keys,
        },
        Case {
            id: "protocol/content-length-bytes",
            group: Group::Protocol,
            description: "content-length counts bytes of non-ASCII content",
            requirement: "content-length is len(content_bytes), the UTF-8 bytes: the ring's answer is 60 bytes but 57 characters.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Search("ring")),
        },
        Case {
            id: "protocol/reply-types",
            group: Group::Protocol,
            description: "a JSON reply is text/json utf-8; a binary one binary/custom-server-binary-type binary",
            requirement: "Each reply's content-type and content-encoding say how its content is written.",
            run: reply_types,
        },
        Case {
            id: "protocol/closes-after-reply",
            group: Group::Protocol,
            description: "the server closes the connection once the reply is sent",
            requirement: "One request per connection: once the reply's send buffer has drained, the server closes.",
            run: closes_after_reply,
        },
    ]
}

fn length_prefix(ctx: &mut Ctx) -> Verdict {
    let request = codec::search("morpheus");
    match send(ctx, &request, &[], Duration::ZERO, false) {
        Err(v) => v,
        Ok(Err(e)) => no_reply(&e, ctx.settings.timeout),
        Ok(Ok(_)) => Verdict::pass(),
    }
}

fn header_keys(ctx: &mut Ctx) -> Verdict {
    let request = codec::binary(b"0123456789");
    match send(ctx, &request, &[], Duration::ZERO, false) {
        Err(v) => v,
        Ok(Err(e)) => no_reply(&e, ctx.settings.timeout),
        Ok(Ok(m)) => super::check_message(&request, &m).unwrap_or_else(Verdict::pass),
    }
}

fn reply_types(ctx: &mut Ctx) -> Verdict {
    for kind in [Kind::Search("morpheus"), Kind::Echo(b"0123456789abc")] {
        let request = kind.request();
        let v = match send(ctx, &request, &[], Duration::ZERO, false) {
            Err(v) => v,
            Ok(Err(e)) => no_reply(&e, ctx.settings.timeout),
            Ok(Ok(m)) if super::check_message(&request, &m).is_some() => {
                super::check_message(&request, &m).expect("checked")
            }
            Ok(Ok(m)) => {
                let want = match kind {
                    Kind::Search(_) => (oracle::JSON_TYPE, "utf-8"),
                    _ => (oracle::BINARY_TYPE, "binary"),
                };
                let got = (m.text("content-type"), m.text("content-encoding"));
                if got == (Some(want.0), Some(want.1)) {
                    Verdict::pass()
                } else {
                    let msg = format!(
                        "the reply's content-type and content-encoding are {:?} and {:?}, not {:?} and {:?}",
                        got.0.unwrap_or(""),
                        got.1.unwrap_or(""),
                        want.0,
                        want.1
                    );
                    Verdict::fail(msg.clone())
                        .actual(m.header_text.clone())
                        .because(code(AppCode::ReplyHeaderWrong), msg)
                }
            }
        };
        if v.status != crate::suite::Status::Pass {
            return v;
        }
    }
    Verdict::pass()
}

fn closes_after_reply(ctx: &mut Ctx) -> Verdict {
    let kind = Kind::Search("ring");
    let request = kind.request();
    match send(ctx, &request, &[], Duration::ZERO, true) {
        Err(v) => v,
        Ok(Err(e)) => no_reply(&e, ctx.settings.timeout),
        Ok(Ok(m)) if !m.closed => Verdict::fail(
            "the whole reply arrived, and the server did not close the connection after it",
        )
        .because(
            crate::codes::Code::NoClose,
            "close the connection once the reply is sent (the tutorial's _write calls self.close() when the send buffer is empty); a selector left on read and write spins the CPU meanwhile",
        ),
        // What the reply says is the other cases' business.
        Ok(Ok(_)) => Verdict::pass(),
    }
}
