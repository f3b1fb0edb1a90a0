//! A lab 3 client case's verdict, from what one run showed.
//!
//! The first problem found names the finding, in this order: it never connected; its student
//! info is not the lab's; it hung; it misread a message cut in pieces, or the id and the ack
//! together; it crashed; it printed other lines than the lab's client prints.

use super::serve::{HandshakeConn, Info, RunLog};
use super::Delivery;
use crate::client::{never_connected, Judged, Settings};
use crate::codes::Code;
use crate::protocol::handshake::cases::type_name;
use crate::protocol::handshake::findings::HandshakeCode;
use crate::protocol::handshake::pickle::{self, Value};
use crate::suite::Verdict;
use crate::words::clip;

/// Characters of a printed line shown in a report.
const SHOWN: usize = 200;

/// The line the lab's client prints once the ack is 1.
pub const PASSED: &str = "Data acknowledged by server and you passed the test";

fn code(c: HandshakeCode) -> Code {
    Code::Handshake(c)
}

pub fn judge(delivery: Delivery, log: &RunLog, settings: &Settings) -> Judged {
    let ending = log.ended.judged(&log.output);
    let verdict = verdict(delivery, log, settings, ending.hung, ending.crashed);
    Judged {
        verdict,
        event: ending.shown,
    }
}

/// What is wrong with the student info; None when it is the lab's.
pub fn info_problem(info: &Value) -> Option<String> {
    let Value::Dict(_) = info else {
        return Some(format!(
            "the student info is the {} {}, not a dict",
            type_name(info),
            clip(&pickle::repr(info), SHOWN)
        ));
    };
    let shown = clip(&pickle::repr(info), SHOWN);
    for (key, want) in [
        ("student_name", "str"),
        ("github_username", "str"),
        ("sid", "int"),
    ] {
        match pickle::get(info, key) {
            None => return Some(format!("{shown} has no key {key:?}")),
            Some(v) if type_name(v) != want => {
                return Some(format!(
                    "{shown}: {key} is a {}, where the lab has a {want}",
                    type_name(v)
                ))
            }
            Some(_) => {}
        }
    }
    None
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
            "srpc-check listened on {}, where the lab's client connects (127.0.0.1, 12000)",
        );
    };
    let with_bytes = |v: Verdict| Verdict {
        transcript: Some(conn.log.transcript()),
        ..v
    };
    if let Some(v) = info_verdict(conn, delivery, hung, crashed) {
        return with_bytes(v);
    }
    let wait = humantime::format_duration(settings.timeout);
    if hung {
        let (code, how) = match delivery {
            Delivery::Together => (
                code(HandshakeCode::ClientReadsTwice),
                "the id and the ack arrived in one segment, and the client waited for an ack it had already received",
            ),
            d if d.splits() => (
                code(HandshakeCode::ClientSingleRecv),
                "a message came in two pieces, and the client waited on",
            ),
            d if d.withholds() => (
                Code::ClientHangs,
                "the server closed without the ack 1 (recv() returned b\"\"), and the client waited on",
            ),
            _ => (Code::ClientHangs, "the id and the ack were delivered whole"),
        };
        return with_bytes(
            Verdict::fail(format!(
                "the client hung: {how}; it did not finish for {wait}, and srpc-check stopped it"
            ))
            .finding(code),
        );
    }
    let printed: Vec<&str> = log.output.lines().map(str::trim_end).collect();
    let passed = printed.contains(&PASSED);
    // A crash on an ack that never came is allowed, as long as the client did not pass.
    if crashed && (passed || !delivery.withholds()) {
        let code = match delivery {
            Delivery::Together => code(HandshakeCode::ClientReadsTwice),
            d if d.splits() => code(HandshakeCode::ClientSingleRecv),
            _ => Code::ClientCrash,
        };
        return with_bytes(
            Verdict::fail("the client crashed (its traceback is shown)").finding(code),
        );
    }
    let connected = format!("{{'clientid': {}}} has successfully connected to", conn.port);
    if !printed.iter().any(|l| l.starts_with(&connected)) {
        let got = printed
            .iter()
            .find(|l| l.contains("connected") || l.contains("clientid"))
            .map(|l| clip(l, SHOWN));
        return with_bytes(
            Verdict::fail(match &got {
                Some(line) => format!("the client printed {line} for its id"),
                None => "the client never printed its id".to_owned(),
            })
            .expected(format!("{connected} 127.0.0.1/12000"))
            .actual(got.unwrap_or_default())
            .because(
                code(HandshakeCode::ClientLinesWrong),
                "print the id dict as it came, then ` has successfully connected to 127.0.0.1/12000`",
            ),
        );
    }
    match (delivery.withholds(), passed) {
        (true, true) => with_bytes(
            Verdict::fail("the client printed that it passed, with no ack 1")
                .expected(format!("no {PASSED:?}"))
                .actual(PASSED)
                .because(
                    code(HandshakeCode::ClientLinesWrong),
                    "print the passed line only when the ack is exactly the int 1",
                ),
        ),
        (false, false) => with_bytes(
            Verdict::fail("the client never printed that it passed, though the ack was 1")
                .expected(PASSED)
                .actual(clip(&printed.join("\n"), SHOWN))
                .because(
                    code(HandshakeCode::ClientLinesWrong),
                    "once the ack is 1, print `Data acknowledged by server and you passed the test`",
                ),
        ),
        _ => Verdict::pass(),
    }
}

/// The student info's own verdict, when it is wrong (or could not come).
fn info_verdict(
    conn: &HandshakeConn,
    delivery: Delivery,
    hung: bool,
    crashed: bool,
) -> Option<Verdict> {
    match &conn.info {
        Info::Value(v) => info_problem(v).map(|p| {
            Verdict::fail(p)
                .expected("{'student_name': str, 'github_username': str, 'sid': int}")
                .actual(clip(&pickle::repr(v), SHOWN))
                .because(
                    code(HandshakeCode::ClientInfoWrong),
                    "send pickle.dumps({'student_name': name, 'github_username': github, 'sid': int(sid)})",
                )
        }),
        Info::Refused(opcode) => Some(
            Verdict::fail(format!(
                "the student info is a pickle with the {opcode} opcode: unpickling it would run code, so srpc-check refused it unread"
            ))
            .because(
                code(HandshakeCode::UnsafePickleRefused),
                "pickle a dict of plain values, not an object",
            ),
        ),
        Info::Malformed(why) => Some(
            Verdict::fail(format!("the student info is not a pickle srpc-check reads: {why}"))
                .because(
                    code(HandshakeCode::ClientInfoWrong),
                    "send the info as one pickle.dumps(...) of the dict",
                ),
        ),
        // Closed by srpc-check before the info, on purpose.
        Info::Missing(_) if delivery == Delivery::ClosesAfterId => None,
        // It never got past the split id: that is the split's finding.
        Info::Missing(why) if delivery == Delivery::SplitId && (hung || crashed) => Some(
            Verdict::fail(format!("the client misread its id, cut in two pieces: {why}"))
                .finding(code(HandshakeCode::ClientSingleRecv)),
        ),
        Info::Missing(_) if hung || crashed => None,
        Info::Missing(why) => Some(
            Verdict::fail(why.clone()).because(
                code(HandshakeCode::ClientInfoWrong),
                "after reading the id, send the student info",
            ),
        ),
    }
}
