//! The server srpc-check plays for one run of the client: a correct srpc server with a real
//! store (the reference server's own `respond`), that delivers each reply the way the case
//! says and records what the client did with every connection.
//!
//! The pieces go out as [`crate::client::conn`] delivers them: each once the client has read
//! the ones before.

use std::time::{Duration, Instant};

use reference_server::command::{parse_request, Command};
use reference_server::Db;
use serde_json::Value;

use super::Delivery;
use crate::client::conn::Live;
pub use crate::client::conn::{ConnLog, End};
use crate::client::listen::{attend, Ended, Listeners, Program, Turn};
use crate::protocol::srpc::codec::{Header, HEADER_LEN};
use crate::server::supervisor::Supervised;

/// Largest request payload srpc-check reads; a header declaring more is malformed.
pub const MAX_REQUEST: usize = 1 << 20;
/// A large reply goes out in pieces of this size.
const LARGE_PIECE: usize = 64 * 1024;
/// How long the first reply of the slow case is held back: halfway between the socket timeouts
/// students use most (1 s and 2 s), so either side of it is judged the same every time.
pub const SLOW: Duration = Duration::from_millis(1500);

/// One run of the client against srpc-check.
pub struct RunLog {
    pub conns: Vec<ConnLog>,
    pub ended: Ended,
    /// Everything the program printed.
    pub output: String,
}

/// What the run needs.
pub struct Serve<'a> {
    pub listeners: &'a Listeners,
    pub delivery: Delivery,
    /// Limit for each wait on the client.
    pub timeout: Duration,
    /// How long the client may take to make its first connection.
    pub start_timeout: Duration,
    /// What a GET finds under a name nobody has PUT yet (the large and non-ASCII cases).
    pub preload: Option<&'a Value>,
}

/// Serves the program's connections until it exits or idles for too long.
pub fn serve(s: &Serve<'_>, process: &mut Supervised) -> RunLog {
    let db = Db::new();
    let mut conns: Vec<Live> = Vec::new();
    let (ended, output) = attend(
        s.listeners,
        process,
        (s.timeout, s.start_timeout),
        &mut |turn, program| match turn {
            Turn::Tick => {
                for c in conns.iter_mut() {
                    c.poll_end();
                }
            }
            Turn::Accepted(stream, peer) => {
                for c in conns.iter_mut() {
                    if c.log.end == End::Open && c.poll_end().is_none() {
                        c.log.left_open = true;
                    }
                }
                let mut live = Live::new(stream, peer, s.timeout);
                live.serve(s, &db, conns.len(), program);
                conns.push(live);
            }
        },
    );
    RunLog {
        conns: conns.into_iter().map(|c| c.log).collect(),
        ended,
        output,
    }
}

/// What arrived of a request.
enum Request {
    Whole(Vec<u8>),
    /// A header no server can read (big-endian, an absurd length).
    BadHeader,
    /// Less than the header declared, before the client closed, exited or went quiet.
    Incomplete,
}

/// srpc's side of a connection: reading its request, answering it.
impl Live {
    /// Reads the request, answers it as the case says, and notes what the client did.
    fn serve(&mut self, s: &Serve<'_>, db: &Db, index: usize, program: &mut Program<'_>) {
        let payload = match self.read_request(s.timeout, program) {
            Request::Whole(payload) => payload,
            // As a correct server would: ERROR for a header it cannot read.
            Request::BadHeader => b"{}".to_vec(),
            // The client stopped sending (or left): a server gives up on it and closes.
            Request::Incomplete => {
                self.close();
                return;
            }
        };
        if let (Some(value), Ok(Command::Get { obj, key })) = (s.preload, parse_request(&payload)) {
            if db.get(&key).is_none() {
                let obj = serde_json::from_slice::<Value>(&reference_server::json::dumps(&obj))
                    .unwrap_or(Value::Null);
                reference_server::respond(
                    db,
                    &crate::protocol::srpc::oracle::put_request(&obj, value),
                );
                self.log.preloaded = true;
            }
        }
        let reply = reference_server::respond(db, &payload);
        if s.delivery == Delivery::CloseWithoutReply {
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
            self.log.end = End::ClosedByUs;
            return;
        }
        if s.delivery == Delivery::Slow && index == 0 {
            let until = Instant::now() + SLOW;
            while Instant::now() < until && !program.gone() && self.poll_end().is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let frame = reference_server::frame::encode(&reply);
        self.log.frame_len = frame.len();
        self.log.reply = Some(reply);
        self.deliver(&frame, &split(s.delivery, &frame), s.timeout, program);
        if let (Delivery::Slow, 0, Some(first)) = (s.delivery, index, self.log.pieces.first_mut()) {
            first.pause_before = SLOW;
        }
    }

    /// The request, once a whole one has arrived (what went wrong is in the log).
    fn read_request(&mut self, timeout: Duration, program: &mut Program<'_>) -> Request {
        let deadline = Instant::now() + timeout;
        let Some(header) = self.read_exactly(HEADER_LEN, (deadline, timeout), program, "header")
        else {
            return Request::Incomplete;
        };
        let header: &[u8; HEADER_LEN] = header[..].try_into().expect("a whole header");
        let Header { version, length } = Header::parse(header);
        let Header {
            version: be_version,
            length: be_length,
        } = Header::parse_be(header);
        let sane = |n: i32| n >= 0 && n as usize <= MAX_REQUEST;
        if be_version == 1 && version != 1 {
            self.log.problems.push(format!(
                "the request header is big-endian: version 1 and length {be_length} packed with \"!ii\"; a server reads version {version} and length {length} (pack it with struct.pack(\"ii\", ...))"
            ));
            return Request::BadHeader;
        }
        if !sane(length) {
            self.log.problems.push(format!(
                "the request header declares a payload of {length} bytes"
            ));
            return Request::BadHeader;
        }
        if version != 1 {
            self.log
                .problems
                .push(format!("the request header's version is {version}, not 1"));
        }
        let Some(payload) =
            self.read_exactly(length as usize, (deadline, timeout), program, "payload")
        else {
            return Request::Incomplete;
        };
        match serde_json::from_slice::<Value>(&payload) {
            Err(e) => self.log.problems.push(format!(
                "the request's payload is not JSON ({e}){}",
                if std::str::from_utf8(&payload).is_err() {
                    ", nor UTF-8"
                } else {
                    ""
                }
            )),
            Ok(Value::Object(m)) => {
                if !m.get("func").is_some_and(Value::is_string) {
                    self.log
                        .problems
                        .push("the request has no \"func\" string".into());
                }
                if !m.get("params").is_some_and(Value::is_object) {
                    self.log
                        .problems
                        .push("the request has no \"params\" object".into());
                }
            }
            Ok(other) => self.log.problems.push(format!(
                "the request's payload is JSON but not an object: {}",
                crate::words::clip(&other.to_string(), 60)
            )),
        }
        Request::Whole(payload)
    }
}

/// Where the case cuts a reply frame.
pub fn split(delivery: Delivery, frame: &[u8]) -> Vec<std::ops::Range<usize>> {
    let n = frame.len();
    let cuts: Vec<usize> = match delivery {
        Delivery::HeaderSplit(k) => vec![k.min(n)],
        Delivery::HeaderThenPayload => vec![HEADER_LEN.min(n)],
        Delivery::PayloadSplit => {
            let p = n.saturating_sub(HEADER_LEN);
            vec![HEADER_LEN + p / 3, HEADER_LEN + 2 * p / 3]
        }
        Delivery::Dribble => (1..n).collect(),
        Delivery::Large => (1..n.div_ceil(LARGE_PIECE))
            .map(|i| i * LARGE_PIECE)
            .collect(),
        _ => Vec::new(),
    };
    let mut ranges = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([n]) {
        if cut > start {
            ranges.push(start..cut);
            start = cut;
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_cut_where_the_case_says() {
        let frame = vec![0u8; 20];
        assert_eq!(split(Delivery::OnePiece, &frame), vec![0..20]);
        assert_eq!(split(Delivery::HeaderSplit(3), &frame), [0..3, 3..20]);
        assert_eq!(split(Delivery::HeaderThenPayload, &frame), [0..8, 8..20]);
        assert_eq!(
            split(Delivery::PayloadSplit, &frame),
            [0..12, 12..16, 16..20]
        );
        assert_eq!(split(Delivery::Dribble, &frame).len(), 20);
        let large = vec![0u8; 2 * LARGE_PIECE + 5];
        assert_eq!(
            split(Delivery::Large, &large),
            [
                0..LARGE_PIECE,
                LARGE_PIECE..2 * LARGE_PIECE,
                2 * LARGE_PIECE..2 * LARGE_PIECE + 5
            ]
        );
    }
}
