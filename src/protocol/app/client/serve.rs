//! The server srpc-check plays for one run of a lab 4 client: it reads the request (each part
//! bounded), answers it as the lab's server does, and delivers the reply the way the case says,
//! each piece once the client has read the ones before ([`crate::client::conn`]).

use std::ops::Range;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Delivery;
use crate::client::conn::{ConnLog, Live};
use crate::client::listen::{attend, Ended, Program, Turn};
use crate::client::Stage;
use crate::protocol::app::{codec, oracle};
use crate::server::supervisor::Supervised;

/// Largest request content srpc-check reads; a header declaring more is malformed.
pub const MAX_REQUEST: usize = 1 << 20;
/// Bytes of content in the large case's reply.
pub const LARGE: usize = 256 * 1024;
/// A large reply goes out in pieces of this size.
const LARGE_PIECE: usize = 64 * 1024;
/// How long the slow case holds the reply back (between the socket timeouts students use most,
/// 1 s and 2 s).
pub const SLOW: Duration = Duration::from_millis(1500);
/// The non-ASCII case's answer to a search.
pub const NON_ASCII: &str = "Zoë in Kraków says こんにちは 🐰 (naïve café, “quoted”)";

/// The reply srpc-check sent on a connection.
#[derive(Debug, Clone)]
pub struct Sent {
    pub content_type: &'static str,
    pub content: Vec<u8>,
    /// The request was the assignment's double or negate of this value, and this is its
    /// result: the client prints `result: N`.
    pub result: Option<i32>,
}

/// One connection: what it carried, and what srpc-check answered.
pub struct AppConn {
    pub log: ConnLog,
    /// The request, read whole.
    pub request: Option<codec::Message>,
    pub sent: Option<Sent>,
}

/// One run of the client against srpc-check.
pub struct RunLog {
    pub conns: Vec<AppConn>,
    pub ended: Ended,
    /// Everything the program printed.
    pub output: String,
    /// The case could not do what it is for with this request (non-ASCII text for a binary
    /// request): why.
    pub not_applicable: Option<String>,
}

/// Serves the program's connections until it exits or idles for too long.
pub fn serve(stage: &Stage<'_>, delivery: Delivery, process: &mut Supervised) -> RunLog {
    let timeout = stage.settings.timeout;
    let mut conns: Vec<(Live, Option<codec::Message>, Option<Sent>)> = Vec::new();
    let mut not_applicable = None;
    let (ended, output) = attend(
        stage.listeners,
        process,
        (timeout, stage.settings.start_timeout),
        &mut |turn, program| match turn {
            Turn::Tick => {
                for (live, _, _) in conns.iter_mut() {
                    live.poll_end();
                }
            }
            Turn::Accepted(stream, peer) => {
                let mut live = Live::new(stream, peer, timeout);
                let request = read_request(&mut live, timeout, program);
                let sent = request.as_ref().map(|r| reply_to(r, delivery));
                if let (Some(r), Delivery::NonAscii) = (&request, delivery) {
                    if r.text("content-type") != Some("text/json") {
                        not_applicable = Some("a binary request's reply carries no text; run the client with search (for example search morpheus) to check non-ASCII text".into());
                    }
                }
                match &sent {
                    Some(sent) => answer(&mut live, sent, delivery, timeout, program),
                    None => live.close(),
                }
                conns.push((live, request, sent));
            }
        },
    );
    RunLog {
        conns: conns
            .into_iter()
            .map(|(live, request, sent)| AppConn {
                log: live.log,
                request,
                sent,
            })
            .collect(),
        ended,
        output,
        not_applicable,
    }
}

/// The request, once a whole one has arrived (what went wrong is in the log).
fn read_request(
    live: &mut Live,
    timeout: Duration,
    program: &mut Program<'_>,
) -> Option<codec::Message> {
    let deadline = Instant::now() + timeout;
    let length = live.read_exactly(2, (deadline, timeout), program, "2-byte length")?;
    let n = usize::from(u16::from_be_bytes([length[0], length[1]]));
    let header = live.read_exactly(n, (deadline, timeout), program, "JSON header")?;
    let declared = match serde_json::from_slice::<Value>(&header) {
        Ok(Value::Object(h)) => h.get("content-length").and_then(Value::as_u64),
        Ok(_) => {
            live.log
                .problems
                .push("the request's JSON header is not a JSON object".into());
            return None;
        }
        Err(e) => {
            live.log.problems.push(format!(
                "the request's JSON header is not JSON ({e}): {}",
                crate::words::clip(&String::from_utf8_lossy(&header), 120)
            ));
            return None;
        }
    };
    let Some(declared) = declared else {
        live.log.problems.push(format!(
            "the request's JSON header has no content-length: {}",
            String::from_utf8_lossy(&header)
        ));
        return None;
    };
    if declared > MAX_REQUEST as u64 {
        live.log.problems.push(format!(
            "the request's header declares {declared} bytes of content"
        ));
        return None;
    }
    live.read_exactly(declared as usize, (deadline, timeout), program, "content")?;
    codec::parse(&live.log.request, false)
}

/// What the lab's server answers `request`, as the case changes it.
fn reply_to(request: &codec::Message, delivery: Delivery) -> Sent {
    let content = &request.content;
    if request.text("content-type") == Some("text/json") {
        let parsed: Option<Value> = serde_json::from_slice(content).ok();
        let action = parsed
            .as_ref()
            .and_then(|v| v.get("action"))
            .and_then(Value::as_str);
        let value = parsed
            .as_ref()
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let answer = match (action, delivery) {
            (_, Delivery::Large) => large_text(),
            (Some("search"), Delivery::NonAscii) => NON_ASCII.to_owned(),
            (Some("search"), _) => oracle::search_answer(value),
            (Some(a), _) => format!("Error: invalid action \"{a}\"."),
            (None, _) => "Error: invalid action \"None\".".to_owned(),
        };
        return Sent {
            content_type: oracle::JSON_TYPE,
            content: oracle::result_json(&answer),
            result: None,
        };
    }
    let command = (content.len() == 10)
        .then(|| <[u8; 6]>::try_from(&content[..6]).ok())
        .flatten()
        .filter(|name| name == b"double" || name == b"negate");
    let result = command.and_then(|name| {
        let n = i32::from_be_bytes(content[6..10].try_into().expect("4 bytes"));
        oracle::compute(&name, n)
    });
    let content = match (delivery, result) {
        (Delivery::Large, _) => {
            let mut big = oracle::echo(content).content;
            big.extend((0..LARGE).map(|i| b'a' + (i % 26) as u8));
            big
        }
        (_, Some(value)) => oracle::result_content(value),
        _ => oracle::echo(content).content,
    };
    Sent {
        content_type: oracle::BINARY_TYPE,
        result: result.filter(|_| delivery != Delivery::Large),
        content,
    }
}

/// The large case's answer to a search: 256 KiB of text.
fn large_text() -> String {
    "The quick brown fox jumps over the lazy dog. "
        .repeat(LARGE / 45 + 1)
        .chars()
        .take(LARGE)
        .collect()
}

/// Sends `sent` as the case says, and notes what the client did with it.
fn answer(
    live: &mut Live,
    sent: &Sent,
    delivery: Delivery,
    timeout: Duration,
    program: &mut Program<'_>,
) {
    if delivery == Delivery::NoReply {
        live.close();
        return;
    }
    let encoding = if sent.content_type == oracle::JSON_TYPE {
        "utf-8"
    } else {
        "binary"
    };
    let frame = codec::request(sent.content_type, encoding, &sent.content);
    live.log.frame_len = frame.len();
    live.log.reply = Some(sent.content.clone());
    if delivery == Delivery::Slow {
        let until = Instant::now() + SLOW;
        while Instant::now() < until && !program.gone() && live.poll_end().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let pieces = split(delivery, &frame);
    live.deliver(&frame, &pieces, timeout, program);
    if let (Delivery::Slow, Some(first)) = (delivery, live.log.pieces.first_mut()) {
        first.pause_before = SLOW;
    }
    if delivery == Delivery::ClosesEarly {
        live.close();
    }
}

/// Where the case cuts a reply (for [`Delivery::ClosesEarly`], the part that is sent).
pub fn split(delivery: Delivery, frame: &[u8]) -> Vec<Range<usize>> {
    let n = frame.len();
    let (_, header_end, _) = codec::boundaries(frame).unwrap_or((2, n, n));
    let cut = |at: usize| {
        let at = at.clamp(1, n.saturating_sub(1).max(1));
        vec![0..at, at..n]
    };
    match delivery {
        Delivery::SplitLength => cut(1),
        Delivery::SplitHeader => cut(2 + (header_end - 2) / 2),
        Delivery::SplitContent => cut(header_end + (n - header_end) / 2),
        Delivery::ByteAtATime => (0..n).map(|i| i..i + 1).collect(),
        Delivery::Large => (0..n)
            .step_by(LARGE_PIECE)
            .map(|i| i..(i + LARGE_PIECE).min(n))
            .collect(),
        Delivery::ClosesEarly => std::iter::once(0..header_end).collect(),
        _ => std::iter::once(0..n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_cut_where_the_case_says() {
        let frame = codec::request("text/json", "utf-8", &oracle::result_json("ok"));
        let (_, header_end, end) = codec::boundaries(&frame).unwrap();
        assert_eq!(end, frame.len());
        assert_eq!(split(Delivery::SplitLength, &frame), vec![0..1, 1..end]);
        let header = split(Delivery::SplitHeader, &frame);
        assert!(header[0].end > 2 && header[0].end < header_end);
        let content = split(Delivery::SplitContent, &frame);
        assert!(content[0].end > header_end && content[0].end < end);
        assert_eq!(split(Delivery::ByteAtATime, &frame).len(), end);
        assert_eq!(split(Delivery::ClosesEarly, &frame), vec![0..header_end]);
        assert_eq!(split(Delivery::Whole, &frame), vec![0..end]);
    }

    #[test]
    fn the_assignment_commands_get_their_result_and_anything_else_the_echo() {
        let parse = |bytes: Vec<u8>| codec::parse(&bytes, false).unwrap();
        let double = reply_to(&parse(codec::command(b"double", 7654321)), Delivery::Whole);
        assert_eq!(double.result, Some(15308642));
        assert_eq!(double.content, b"result\x00\xe9\x97b");
        let plain = reply_to(&parse(codec::binary(b"hello world")), Delivery::Whole);
        assert_eq!(plain.result, None);
        assert_eq!(plain.content, b"First 10 bytes of request: hello worl");
        let search = reply_to(&parse(codec::search("ring")), Delivery::NonAscii);
        assert_eq!(search.content, oracle::result_json(NON_ASCII));
        let large = reply_to(&parse(codec::search("ring")), Delivery::Large);
        assert!(large.content.len() > LARGE);
    }
}
