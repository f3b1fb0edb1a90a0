//! A client case's verdict, from what one run showed: how the program ended, what each
//! connection carried, and what the program printed.
//!
//! The first problem found names the finding, in this order: it never connected; its requests
//! were malformed; it hung; it stopped reading a reply before its end (which part it had read
//! tells a header read from a payload read); it crashed; it printed something other than the
//! replies it read whole. Leaving connections open is a warning.

use crate::codes::Code;
use crate::protocol::srpc::codec::HEADER_LEN;
use crate::protocol::srpc::findings::SrpcCode;
use crate::server::traceback::Traceback;
use crate::suite::{Status, Verdict};
use crate::words::{clip, count};

use super::serve::{ConnLog, End, RunLog};
use super::Delivery;
use crate::client::listen::Ended;
use crate::client::{never_connected, Judged, Settings};

/// Characters of a printed or expected reply shown in a report.
const SHOWN: usize = 300;

/// "connection 2 of 6".
fn nth(i: usize, total: usize) -> String {
    format!("connection {} of {total}", i + 1)
}

pub fn judge(delivery: Delivery, log: &RunLog, settings: &Settings) -> Judged {
    let ending = log.ended.judged(&log.output);
    let verdict = verdict(
        delivery,
        log,
        settings,
        ending.hung,
        ending.crashed,
        ending.traceback.as_ref(),
    );
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
    traceback: Option<&Traceback>,
) -> Verdict {
    let conns = &log.conns;
    let total = conns.len();
    let status = match &log.ended {
        Ended::Exited(e) => e.status.clone().unwrap_or_else(|| "ended".into()),
        Ended::Stopped(_) => "stopped".into(),
    };
    let wait = humantime::format_duration(settings.timeout).to_string();
    if conns.is_empty() {
        return never_connected(
            hung,
            Some(&status),
            settings,
            "srpc-check listened on {}; the lab's client connects to (socket.gethostname(), 4444)",
        );
    }
    let last = total - 1;
    // A request no server can read explains whatever follows (a hang on the reply it never got).
    if let Some(v) = request_problem(conns) {
        return v;
    }
    if hung {
        let c = &conns[last];
        let code = if delivery == Delivery::CloseWithoutReply {
            Code::Srpc(SrpcCode::ClientHangsOnClose)
        } else if c.read_short() {
            read_code(delivery, c)
        } else if waits_as_big_endian(c) {
            // Read whole, and still waiting: for the length the header declares big-endian,
            // when the client's code unpacks it so (the diagnosis checks the source).
            Code::Srpc(SrpcCode::ClientReplyReadBigEndian)
        } else {
            Code::ClientHangs
        };
        let after = match (c.end, c.reply.is_some()) {
            (End::ClosedByUs, _) => "srpc-check closed it without a reply".to_owned(),
            (_, true) if c.read_short() => format!(
                "the client read {} of the {}-byte reply, and stopped reading",
                count(c.read, "byte"),
                c.frame_len
            ),
            (_, true) => "the whole reply was delivered".to_owned(),
            (_, false) => c.problems.first().cloned().unwrap_or_default(),
        };
        let mut v = Verdict::fail(format!(
            "the client hung: on {} ({after}) it neither finished nor connected again for {wait}; srpc-check stopped it",
            nth(last, total)
        ))
        .finding(code);
        v.transcript = Some(c.transcript());
        return v;
    }
    if delivery == Delivery::CloseWithoutReply {
        return if crashed {
            Verdict::pass().hint(
                "the client ended with an exception when the server closed without replying; it did not hang, which is what this case checks",
            )
        } else {
            Verdict::pass()
        };
    }
    if let Some((i, c)) = conns.iter().enumerate().find(|(_, c)| c.read_short()) {
        let gave_up = delivery == Delivery::Slow && i == 0 && c.read == 0;
        let how = match (c.end, crashed) {
            (_, true) if i == last => "then crashed",
            (End::Reset, _) => "then closed the connection with the rest unread",
            (End::Closed, _) => "then closed the connection",
            _ if c.stalled => "then stopped reading",
            _ => "then exited",
        };
        let message = if gave_up {
            format!(
                "{}: the client stopped waiting before the reply came (it came after {}), {how}",
                nth(i, total),
                humantime::format_duration(super::serve::SLOW)
            )
        } else {
            format!(
                "{}: the client read {} of the {}-byte reply ({}), {how}",
                nth(i, total),
                count(c.read, "byte"),
                c.frame_len,
                if c.read < HEADER_LEN {
                    "part of the header"
                } else {
                    "the header and part of the payload"
                }
            )
        };
        let code = if gave_up {
            Code::Srpc(SrpcCode::ClientGivesUpEarly)
        } else {
            read_code(delivery, c)
        };
        let mut v = Verdict::fail(message).finding(code);
        v.transcript = Some(c.transcript());
        return v;
    }
    if crashed {
        let code = match delivery {
            Delivery::NonAscii if conns.iter().any(|c| c.preloaded) => {
                Code::Srpc(SrpcCode::ClientNonAscii)
            }
            Delivery::Slow if total == 1 => Code::Srpc(SrpcCode::ClientGivesUpEarly),
            _ => Code::ClientCrash,
        };
        let what = traceback
            .map(|t| format!(": {}", t.exception))
            .unwrap_or_default();
        let mut v = Verdict::fail(format!(
            "the client crashed ({status}) after {}{what}",
            count(total, "connection")
        ))
        .finding(code);
        v.transcript = Some(conns[last].transcript());
        return v;
    }
    if let Some(v) = output_problem(delivery, log) {
        return v;
    }
    if let Some((i, c)) = conns.iter().enumerate().find(|(_, c)| c.left_open) {
        let mut v = Verdict::new(
            Status::Warn,
            format!(
                "{} was still open when the client opened the next one",
                nth(i, total)
            ),
        )
        .finding(Code::Srpc(SrpcCode::ClientNeverCloses));
        v.transcript = Some(c.transcript());
        return v;
    }
    if matches!(delivery, Delivery::Large | Delivery::NonAscii)
        && !conns.iter().any(|c| c.preloaded)
    {
        return Verdict::new(
            Status::Skip,
            "the client never GETs a name it has not PUT first, so no reply carried the case's value",
        );
    }
    Verdict::pass()
}

/// The client read the whole reply and waits on, where the reply's header read big-endian
/// declares more than was sent.
fn waits_as_big_endian(c: &ConnLog) -> bool {
    let frame: Vec<u8> = c
        .pieces
        .iter()
        .flat_map(|p| p.bytes.iter().copied())
        .collect();
    c.reply.is_some()
        && c.read >= c.frame_len
        && frame.len() >= HEADER_LEN
        && u64::from(
            crate::protocol::srpc::codec::Header::parse_be(
                frame[..HEADER_LEN].try_into().expect("8 bytes"),
            )
            .length as u32,
        ) > (frame.len() - HEADER_LEN) as u64
}

/// The read bug a short read shows in this case.
fn read_code(delivery: Delivery, c: &ConnLog) -> Code {
    match delivery {
        Delivery::HeaderThenPayload => Code::Srpc(SrpcCode::ClientMessageSingleRecv),
        _ if c.read < HEADER_LEN => Code::Srpc(SrpcCode::ClientHeaderSingleRecv),
        _ => Code::Srpc(SrpcCode::ClientPayloadSingleRecv),
    }
}

/// The first request that is not a well-formed srpc message.
fn request_problem(conns: &[ConnLog]) -> Option<Verdict> {
    let total = conns.len();
    conns.iter().enumerate().find_map(|(i, c)| {
        let mut problems = c.problems.clone();
        // After a header no server can read, the rest of the request is "extra" only to us.
        if problems.is_empty() && !c.extra.is_empty() {
            problems.push(format!(
                "the client sent {} more after the payload its header declared",
                count(c.extra.len(), "byte")
            ));
        }
        let first = problems.first()?;
        let mut v = Verdict::fail(format!("{}: {first}", nth(i, total)))
            .finding(Code::Srpc(SrpcCode::ClientRequestMalformed));
        if problems.len() > 1 {
            v.hint = Some(format!("also: {}", problems[1..].join("; ")));
        }
        v.transcript = Some(c.transcript());
        Some(v)
    })
}

/// What a correct client prints for each connection: `repr` of the reply, or None.
fn expected_lines(conns: &[ConnLog]) -> Vec<String> {
    conns
        .iter()
        .map(|c| match &c.reply {
            Some(payload) => super::repr::of_json(payload).unwrap_or_else(|| "None".into()),
            None => "None".into(),
        })
        .collect()
}

/// Where the program prints `Ret:` lines (as the lab's test program does), the first that is
/// not the repr of the reply its connection carried.
fn output_problem(delivery: Delivery, log: &RunLog) -> Option<Verdict> {
    let printed: Vec<&str> = log
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("Ret:"))
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    if printed.is_empty() {
        return None;
    }
    let expected = expected_lines(&log.conns);
    let total = log.conns.len();
    if printed.len() > expected.len() {
        return Some(
            Verdict::fail(format!(
                "the client printed {} Ret: lines for {}",
                printed.len(),
                count(total, "connection")
            ))
            .finding(Code::Srpc(SrpcCode::ClientWrongOutput)),
        );
    }
    let (i, (got, want)) = printed
        .iter()
        .zip(&expected)
        .enumerate()
        .find(|(_, (got, want))| **got != want.as_str())?;
    let c = &log.conns[i];
    // Non-ASCII text printed as something else (escaped, replaced, dropped) is this case's own
    // bug; any other difference is the client's output whatever the text.
    let code = if delivery == Delivery::NonAscii && c.preloaded && got.is_ascii() {
        Code::Srpc(SrpcCode::ClientNonAscii)
    } else {
        Code::Srpc(SrpcCode::ClientWrongOutput)
    };
    let mut v = Verdict::fail(format!(
        "{}: the client printed Ret:{} but the reply it read was {}",
        nth(i, total),
        clip(got, 80),
        clip(want, 80)
    ))
    .finding(code)
    .expected(format!("Ret:{}", clip(want, SHOWN)))
    .actual(format!("Ret:{}", clip(got, SHOWN)));
    v.transcript = Some(c.transcript());
    Some(v)
}
