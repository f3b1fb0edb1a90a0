//! A lab 4 client case's verdict, from what one run showed.
//!
//! The first problem found names the finding, in this order: it never connected; its request
//! is not the one the tutorial's client sends; it hung; it misread a reply cut in pieces; it
//! crashed; it printed something other than the reply it got.

use super::serve::{AppConn, RunLog, Sent};
use super::Delivery;
use crate::client::{never_connected, Judged, Settings};
use crate::codes::Code;
use crate::protocol::app::codec::{self, py_bytes};
use crate::protocol::app::findings::AppCode;
use crate::suite::{Status, Verdict};
use crate::words::clip;

/// Characters of a printed or expected line shown in a report.
const SHOWN: usize = 200;

fn code(c: AppCode) -> Code {
    Code::App(c)
}

pub fn judge(delivery: Delivery, log: &RunLog, settings: &Settings) -> Judged {
    let ending = log.ended.judged(&log.output);
    let mut verdict = verdict(delivery, log, settings, ending.hung, ending.crashed);
    if verdict.status == Status::Pass {
        if let Some(why) = &log.not_applicable {
            verdict = Verdict::new(Status::Skip, format!("skipped: {why}"));
        }
    }
    Judged {
        verdict,
        event: ending.shown,
    }
}

fn verdict(
    delivery: Delivery,
    log: &RunLog,
    settings: &Settings,
    hung: bool,
    crashed: bool,
) -> Verdict {
    let Some(conn) = log.conns.first() else {
        return never_connected(
            hung,
            None,
            settings,
            "srpc-check listened on {}; give the client that address ({host} and {port} in the command become it)",
        );
    };
    if let Some(v) = request_problem(conn) {
        return v;
    }
    let sent = conn.sent.as_ref().expect("a whole request is answered");
    let wait = humantime::format_duration(settings.timeout);
    let with_bytes = |v: Verdict| Verdict {
        transcript: Some(conn.log.transcript()),
        ..v
    };
    if hung {
        let (code, how) = if delivery.withholds() {
            (
                Code::ClientHangs,
                "when the server closed without a whole reply, recv() returned b\"\", and the client waited on",
            )
        } else if conn.log.read_short() || delivery.splits() {
            (
                code(AppCode::ClientPartialRead),
                "the reply came in pieces, and the client waits for what it thinks is missing",
            )
        } else {
            (Code::ClientHangs, "the whole reply was delivered")
        };
        return with_bytes(
            Verdict::fail(format!(
                "the client hung: {how}; it did not finish for {wait}, and srpc-check stopped it"
            ))
            .finding(code),
        );
    }
    let printed = printed(&log.output);
    if delivery.withholds() {
        return match printed
            .iter()
            .find(|l| l.starts_with("got result:") || l.starts_with("result:"))
        {
            Some(line) => with_bytes(
                Verdict::fail(format!(
                    "the server sent no whole reply, and the client printed {}",
                    clip(line, SHOWN)
                ))
                .because(
                    code(AppCode::ClientResultWrong),
                    "print a result only for a reply read whole; a reply cut short is an error",
                ),
            ),
            None => Verdict::pass(),
        };
    }
    let expected = expected_lines(sent);
    let missing = expected.iter().find(|want| !shows(&printed, want));
    let Some(want) = missing else {
        return Verdict::pass();
    };
    let got = printed
        .iter()
        .find(|l| same_kind(l, want))
        .map(|l| clip(l, SHOWN));
    let what = match &got {
        Some(line) => format!(
            "the client printed {line}, and the reply it got calls for {}",
            clip(want, SHOWN)
        ),
        None => format!("the client never printed {}", clip(want, SHOWN)),
    };
    let v = Verdict::fail(what)
        .expected(want.clone())
        .actual(got.clone().unwrap_or_default());
    // A split case that prints what the whole case prints is the whole case's finding (the
    // protocol's rules see to that).
    let code = if delivery.splits() {
        code(AppCode::ClientPartialRead)
    } else if crashed && got.is_none() {
        Code::ClientCrash
    } else {
        code(AppCode::ClientResultWrong)
    };
    let hint = match code {
        Code::App(AppCode::ClientPartialRead) => {
            "the reply was cut in pieces: buffer what recv() returns and process each part once all of it has arrived"
        }
        Code::ClientCrash => "the client raised an exception on a reply a correct client handles (its traceback is shown)",
        _ if sent.result.is_some() => "unpack the reply with struct.unpack(\">6si\", content) and print \"result:\" and the integer",
        _ => "print the reply as the lab's client does: got result: and the text, or got response: and the bytes' repr",
    };
    with_bytes(v.because(code, hint))
}

/// What the client printed, line by line.
fn printed(output: &str) -> Vec<&str> {
    output.lines().map(|l| l.trim_end_matches('\r')).collect()
}

/// The lines the lab's client prints for the reply `sent`.
fn expected_lines(sent: &Sent) -> Vec<String> {
    if sent.content_type == crate::protocol::app::oracle::JSON_TYPE {
        let result = serde_json::from_slice::<serde_json::Value>(&sent.content)
            .ok()
            .and_then(|v| v.get("result").and_then(|r| r.as_str()).map(str::to_owned))
            .unwrap_or_default();
        return vec![format!("got result: {result}")];
    }
    let mut lines = vec![format!("got response: {}", py_bytes(&sent.content))];
    if let Some(value) = sent.result {
        lines.push(format!("result: {value}"));
    }
    lines
}

/// Whether `printed` shows `want`: the line itself, or for `result: N` any spacing
/// (`print("result: ", n)` writes two spaces).
fn shows(printed: &[&str], want: &str) -> bool {
    match want.strip_prefix("result:") {
        Some(n) => printed.iter().any(|l| {
            l.strip_prefix("result:")
                .is_some_and(|rest| rest.trim() == n.trim())
        }),
        None => printed.iter().any(|l| l.trim_end() == want),
    }
}

/// A printed line that answers the same question as `want` (its prefix).
fn same_kind(line: &str, want: &str) -> bool {
    let prefix = want.split(':').next().unwrap_or(want);
    line.starts_with(prefix) && line.contains(':')
}

/// What is wrong with the request, when anything is: it is not the bytes the tutorial's client
/// sends for its own content.
fn request_problem(conn: &AppConn) -> Option<Verdict> {
    let raw = &conn.log.request;
    let with_bytes = |v: Verdict| Verdict {
        transcript: Some(conn.log.transcript()),
        ..v
    };
    let Some(request) = &conn.request else {
        let why = conn
            .log
            .problems
            .first()
            .cloned()
            .unwrap_or_else(|| codec::why_not(raw));
        return Some(with_bytes(
            Verdict::fail(format!("the request could not be read: {why}")).because(
                code(AppCode::ClientRequestWrong),
                "send the 2-byte length (struct.pack(\">H\", ...)), the JSON header with the four keys, then exactly content-length bytes of content",
            ),
        ));
    };
    let canonical = canonical(request);
    if let Some(v) = little_endian_command(&request.content) {
        return Some(with_bytes(v));
    }
    if canonical == *raw {
        return None;
    }
    let (what, hint) = if request.header_text.as_bytes()
        != &canonical[2..canonical.len() - request.content.len()]
    {
        (
            format!(
                "the request's JSON header is {}, where the tutorial's client sends {}",
                clip(&request.header_text, SHOWN),
                clip(
                    &String::from_utf8_lossy(&canonical[2..canonical.len() - request.content.len()]),
                    SHOWN
                )
            ),
            "build the header as the tutorial does: byteorder, content-type, content-encoding and content-length (in bytes), spelled so, with json.dumps",
        )
    } else if request.text("content-type") == Some("text/json") {
        (
            format!(
                "the request's content is {}, where the tutorial's client sends {}",
                clip(&String::from_utf8_lossy(&request.content), SHOWN),
                clip(&String::from_utf8_lossy(&canonical[canonical.len() - request.content.len()..]), SHOWN)
            ),
            "send json.dumps({\"action\": action, \"value\": value}, ensure_ascii=False) encoded as UTF-8",
        )
    } else {
        (
            format!("the request is {}", clip(&py_bytes(raw), SHOWN)),
            "send the 2-byte length, the JSON header, then the content",
        )
    };
    let v = Verdict::fail(what).because(code(AppCode::ClientRequestWrong), hint);
    Some(with_bytes(
        v.expected(py_bytes(&canonical)).actual(py_bytes(raw)),
    ))
}

/// A double or negate whose integer is packed little-endian (`"6si"`, `"<6si"`): it reads
/// as a smaller number that way than in network order, as the numbers people type do.
fn little_endian_command(c: &[u8]) -> Option<Verdict> {
    if c.len() != 10 || !(c.starts_with(b"double") || c.starts_with(b"negate")) {
        return None;
    }
    let big = i32::from_be_bytes(c[6..10].try_into().expect("4 bytes"));
    let little = i32::from_le_bytes(c[6..10].try_into().expect("4 bytes"));
    if little.unsigned_abs() >= big.unsigned_abs() {
        return None;
    }
    Some(
        Verdict::fail(format!(
            "the {} command's integer is packed little-endian: a server reads {big} (network order), where {little} was meant",
            String::from_utf8_lossy(&c[..6])
        ))
        .because(
            code(AppCode::ClientRequestWrong),
            "pack the command with struct.pack(\">6si\", command, n): network order",
        )
        .expected(py_bytes(&[&c[..6], &little.to_be_bytes()[..]].concat()))
        .actual(py_bytes(c)),
    )
}

/// The bytes the tutorial's client sends for the content of `request`.
fn canonical(request: &codec::Message) -> Vec<u8> {
    let byteorder = request
        .text("byteorder")
        .filter(|b| *b == "big")
        .unwrap_or("little");
    let content_type = request.text("content-type").unwrap_or(codec::CLIENT_BINARY);
    let content: Vec<u8> = if content_type == "text/json" {
        match serde_json::from_slice::<serde_json::Value>(&request.content) {
            Ok(serde_json::Value::Object(m)) => {
                let field = |k: &str| m.get(k).cloned().unwrap_or(serde_json::Value::Null);
                format!(
                    "{{\"action\": {}, \"value\": {}}}",
                    field("action"),
                    field("value")
                )
                .into_bytes()
            }
            _ => request.content.clone(),
        }
    } else {
        request.content.clone()
    };
    let encoding = if content_type == "text/json" {
        "utf-8"
    } else {
        "binary"
    };
    let header = codec::header(content_type, encoding, content.len())
        .into_iter()
        .collect::<Vec<u8>>();
    let header = String::from_utf8(header)
        .expect("the header is text")
        .replacen("\"little\"", &format!("\"{byteorder}\""), 1);
    codec::framed(header.as_bytes(), &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_clients_requests_are_their_own_canonical_form() {
        for bytes in [
            codec::search("morpheus"),
            codec::search("\u{1f436}"),
            codec::command(b"double", 7654321),
            codec::binary(b"hello"),
        ] {
            let m = codec::parse(&bytes, false).unwrap();
            assert_eq!(canonical(&m), bytes);
        }
        let respelled = codec::framed(
            br#"{"byteorder": "little", "content-type": "binary/custom-client-binary-type", "content-encoding": "binary", "Content-length": 5}"#,
            b"hello",
        );
        let m = codec::parse(&respelled, true).unwrap();
        assert_ne!(canonical(&m), respelled);
    }

    #[test]
    fn the_result_line_may_be_spaced_as_print_spaces_it() {
        assert!(shows(&["result:  15308642"], "result: 15308642"));
        assert!(!shows(&["result:  -1650922496"], "result: 15308642"));
        assert!(shows(&["got result: ok"], "got result: ok"));
    }

    #[test]
    fn a_command_packed_little_endian_is_told_from_one_in_network_order() {
        let le = [&b"double"[..], &7654321i32.to_le_bytes()].concat();
        let v = little_endian_command(&le).expect("little-endian");
        assert!(v.message.contains("7654321"), "{}", v.message);
        for n in [7654321, -300, 7, 0] {
            let be = [&b"negate"[..], &i32::to_be_bytes(n)].concat();
            assert!(little_endian_command(&be).is_none(), "{n}");
        }
    }
}
