//! Reading a reply the way a forgiving client would, and noting everything unforgiving about it.
//!
//! The protocol group checks a reply's form; every other group checks only its meaning. So the
//! reader here gets at the JSON even when the framing is wrong (a big-endian header, no header,
//! a length that is off) or the payload is wrapped wrongly (double-encoded), and records each
//! such problem as an [`Anomaly`]. A bug in the framing then fails its own protocol case and
//! leaves the state, fragment and robust groups free to test what they test.
//!
//! Nothing is allocated by a length the server declared: bytes are kept only as they arrive, up
//! to [`MAX_REPLY`](crate::protocol::srpc::codec::MAX_REPLY).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::net::conn::{Conn, ReadStatus};
pub use crate::net::reply::NoReply;
use crate::protocol::srpc::codec::{Header, HEADER_LEN, MAX_REPLY};
use std::collections::VecDeque;

/// Once a payload parses as complete JSON but the declared length says more is coming, how long
/// to wait for the rest before concluding the length was too long.
const GRACE: Duration = Duration::from_millis(300);

/// Something wrong with a reply's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// The header's fields are big-endian.
    BigEndianHeader,
    /// The reply starts with the JSON itself.
    NoHeader,
    /// The header's version is not 1.
    Version(i32),
    /// The declared length is larger than the payload the server sent.
    LengthTooLong { declared: usize, actual: usize },
    /// The declared length is smaller than the payload the server sent. `chars` is the
    /// payload's length in characters, which is what a server that counts characters declares.
    LengthTooShort {
        declared: usize,
        actual: usize,
        chars: usize,
    },
    /// The payload is a JSON string that itself holds the JSON reply.
    DoubleEncoded,
    /// The status is not written exactly "OK" / "ERROR" (e.g. "ok").
    StatusCase(String),
}

impl Anomaly {
    /// What is wrong, and what the usual cause is, in words for a student.
    pub fn explain(&self) -> (String, String) {
        match self {
            Anomaly::BigEndianHeader => (
                "the reply header is big-endian".into(),
                "your server packs the header with \">ii\" or \"!ii\" (network order); srpc uses struct.pack(\"ii\", ...), which is little-endian on every student machine".into(),
            ),
            Anomaly::NoHeader => (
                "the reply has no 8-byte header: it starts with the JSON".into(),
                "your server sends json.dumps(...).encode() without struct.pack(\"ii\", 1, len) in front of it".into(),
            ),
            Anomaly::Version(v) => (
                format!("the reply header's version is {v}, not 1"),
                "the first four header bytes must be the version, 1: struct.pack(\"ii\", 1, length)".into(),
            ),
            Anomaly::LengthTooLong { declared, actual } => (
                format!("the header declares {declared} payload bytes but the server sent {actual}"),
                if declared == &(actual + 1) {
                    "the length is off by one (counting a terminator or newline that is not sent?)".into()
                } else {
                    "the declared length must be exactly the number of payload bytes sent".into()
                },
            ),
            Anomaly::LengthTooShort { declared, actual, chars } => (
                format!("the header declares {declared} payload bytes but the server sent {actual}"),
                if declared == chars && chars != actual {
                    "the length counts characters, not bytes: your server uses len(text) of a string with non-ASCII characters (json.dumps(..., ensure_ascii=False)?); use len(text.encode())".into()
                } else if actual == &(declared + 1) {
                    "the length is off by one".into()
                } else {
                    "the declared length must be exactly the number of payload bytes sent".into()
                },
            ),
            Anomaly::DoubleEncoded => (
                "the reply payload is a JSON string that contains the JSON reply".into(),
                "your server applies json.dumps twice (for example json.dumps(json.dumps(reply)))".into(),
            ),
            Anomaly::StatusCase(s) => (
                format!("the status is {s:?}, which is not spelled exactly \"OK\" or \"ERROR\""),
                "status values are case-sensitive: \"OK\" and \"ERROR\"".into(),
            ),
        }
    }
}

/// A reply as understood.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The JSON the server meant, after undoing any framing or encoding anomaly.
    pub json: Value,
    pub anomalies: Vec<Anomaly>,
}

impl Reply {
    /// The status field, with its case normalised.
    pub fn status(&self) -> Option<String> {
        self.json
            .get("status")?
            .as_str()
            .map(str::to_ascii_uppercase)
    }
}

/// Where reply bytes come from: a live connection, or scripted bytes in memory.
pub trait Source {
    /// Reads whatever arrives next, appending it to [`Source::received`], waiting until
    /// `deadline` at most.
    fn read_some(&mut self, deadline: Instant) -> ReadStatus;
    /// Everything received so far.
    fn received(&self) -> &[u8];
    /// The limit for one reply.
    fn timeout(&self) -> Duration;
    /// Why the last wait ended early, when the server was seen to be unable to send.
    fn stalled(&self) -> Option<String> {
        None
    }
}

impl Source for Conn {
    fn read_some(&mut self, deadline: Instant) -> ReadStatus {
        Conn::read_some(self, deadline)
    }

    fn received(&self) -> &[u8] {
        &self.transcript.received
    }

    fn timeout(&self) -> Duration {
        Conn::timeout(self)
    }

    fn stalled(&self) -> Option<String> {
        self.stalled.clone()
    }
}

/// Bytes delivered in the given chunks, then `end` (end of stream, a reset or a silence).
/// Never waits: it stands in for a server in tests and fuzzing.
#[derive(Debug, Clone)]
pub struct Scripted {
    chunks: VecDeque<Vec<u8>>,
    received: Vec<u8>,
    end: ReadStatus,
}

impl Scripted {
    pub fn new(chunks: impl IntoIterator<Item = Vec<u8>>, end: ReadStatus) -> Scripted {
        Scripted {
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
            received: Vec::new(),
            end,
        }
    }
}

impl Source for Scripted {
    fn read_some(&mut self, _deadline: Instant) -> ReadStatus {
        match self.chunks.pop_front() {
            Some(chunk) => {
                let n = chunk.len();
                self.received.extend(chunk);
                ReadStatus::Data(n)
            }
            None => self.end,
        }
    }

    fn received(&self) -> &[u8] {
        &self.received
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
}

fn looks_like_json_start(b: u8) -> bool {
    matches!(b, b'{' | b'[' | b'"' | b' ' | b'\n' | b'\r' | b'\t')
}

/// Parses a complete JSON document, or None if it is incomplete or invalid.
fn parse_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// Sends one request on `conn` (cut at `cuts`, pausing `pause` between pieces, then
/// half-closing if asked) and reads the reply. A server that replied and closed after the first
/// pieces makes the later writes fail; its reply is still there to read, so it is read.
pub fn exchange(
    conn: &mut Conn,
    bytes: &[u8],
    cuts: &[usize],
    pause: Duration,
    half_close: bool,
) -> Result<Reply, NoReply> {
    let _ = conn.send_pieces(bytes, cuts, pause);
    if half_close {
        conn.half_close();
    }
    read(conn)
}

/// Reads one reply from `conn` within its timeout.
pub fn read(conn: &mut impl Source) -> Result<Reply, NoReply> {
    let deadline = Instant::now() + conn.timeout();
    let start = conn.received().len();
    let mut end = None;
    // Get at least the first byte.
    while conn.received().len() == start {
        match conn.read_some(deadline) {
            ReadStatus::Data(_) => {}
            ReadStatus::Eof => return Err(NoReply::ClosedSilently),
            ReadStatus::Reset => return Err(NoReply::Reset),
            ReadStatus::Timeout => return Err(NoReply::Silent(conn.stalled())),
        }
    }
    let mut anomalies = Vec::new();
    let first = conn.received()[start];
    if looks_like_json_start(first) {
        anomalies.push(Anomaly::NoHeader);
        let payload = read_until_json(conn, start, deadline, &mut end)?;
        return finish(payload, anomalies);
    }
    // A header: wait for all 8 bytes.
    while conn.received().len() - start < HEADER_LEN {
        match conn.read_some(deadline) {
            ReadStatus::Data(_) => {}
            _ => {
                return Err(NoReply::Garbled {
                    reason: format!(
                        "only {} arrived, fewer than a header",
                        crate::words::count(conn.received().len() - start, "byte")
                    ),
                })
            }
        }
    }
    let raw: [u8; HEADER_LEN] = conn.received()[start..start + HEADER_LEN]
        .try_into()
        .expect("8 bytes");
    let le = Header::parse(&raw);
    let be = Header::parse_be(&raw);
    let sane = |h: &Header| h.length >= 0 && (h.length as usize) <= MAX_REPLY;
    let header = if le.version == 1 && sane(&le) {
        le
    } else if be.version == 1 && sane(&be) {
        anomalies.push(Anomaly::BigEndianHeader);
        be
    } else if sane(&le) {
        anomalies.push(Anomaly::Version(le.version));
        le
    } else {
        return Err(NoReply::Garbled {
            reason: format!(
                "the header declares an impossible length ({} as little-endian, {} as big-endian)",
                le.length, be.length
            ),
        });
    };
    let declared = header.length as usize;
    let body = start + HEADER_LEN;
    // Read up to the declared length. If the payload is already complete JSON, give the rest a
    // short grace instead of the whole timeout (the length may simply be too long).
    let mut grace_deadline = deadline;
    while conn.received().len() - body < declared {
        if grace_deadline == deadline && parse_json(&conn.received()[body..]).is_some() {
            grace_deadline = deadline.min(Instant::now() + GRACE);
        }
        match conn.read_some(grace_deadline) {
            ReadStatus::Data(_) => {}
            status => {
                end = Some(status);
                break;
            }
        }
    }
    let got = conn.received().len() - body;
    if got < declared {
        let payload = conn.received()[body..].to_vec();
        if parse_json(&payload).is_none() {
            return Err(match end {
                Some(ReadStatus::Timeout) => NoReply::Garbled {
                    reason: format!("the header declares {declared} bytes but only {got} arrived"),
                },
                _ => NoReply::Garbled {
                    reason: format!(
                        "the server closed after {got} of {declared} declared payload bytes"
                    ),
                },
            });
        }
        anomalies.push(Anomaly::LengthTooLong {
            declared,
            actual: got,
        });
        return finish(payload, anomalies);
    }
    let mut payload = conn.received()[body..body + declared].to_vec();
    if parse_json(&payload).is_none() {
        // Perhaps the declared length is too short: the rest may follow.
        let grace = deadline.min(Instant::now() + GRACE);
        loop {
            let all = &conn.received()[body..];
            if all.len() > declared && parse_json(all).is_some() {
                payload = all.to_vec();
                let chars = String::from_utf8_lossy(&payload).chars().count();
                anomalies.push(Anomaly::LengthTooShort {
                    declared,
                    actual: payload.len(),
                    chars,
                });
                break;
            }
            match conn.read_some(grace) {
                ReadStatus::Data(_) => {}
                _ => break,
            }
        }
    }
    finish(payload, anomalies)
}

/// For a reply without a header: read until the bytes form complete JSON.
fn read_until_json(
    conn: &mut impl Source,
    start: usize,
    deadline: Instant,
    end: &mut Option<ReadStatus>,
) -> Result<Vec<u8>, NoReply> {
    loop {
        let bytes = &conn.received()[start..];
        if parse_json(bytes).is_some() {
            return Ok(bytes.to_vec());
        }
        if bytes.len() > MAX_REPLY {
            return Err(NoReply::Garbled {
                reason: "more than the reply size limit arrived without forming JSON".into(),
            });
        }
        match conn.read_some(deadline) {
            ReadStatus::Data(_) => {}
            status => {
                *end = Some(status);
                return Err(NoReply::Garbled {
                    reason: "the reply has no header and its bytes are not complete JSON".into(),
                });
            }
        }
    }
}

/// From payload bytes to JSON, undoing double encoding and noting status case.
fn finish(payload: Vec<u8>, mut anomalies: Vec<Anomaly>) -> Result<Reply, NoReply> {
    let mut json: Value = serde_json::from_slice(&payload).map_err(|e| NoReply::Garbled {
        reason: format!("the payload is not JSON ({e})"),
    })?;
    if let Value::String(inner) = &json {
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(inner) {
            anomalies.push(Anomaly::DoubleEncoded);
            json = v;
        }
    }
    if let Some(Value::String(s)) = json.get_mut("status") {
        if s != "OK"
            && s != "ERROR"
            && (s.eq_ignore_ascii_case("ok") || s.eq_ignore_ascii_case("error"))
        {
            anomalies.push(Anomaly::StatusCase(s.clone()));
            // Recorded for the protocol group; normalised so other groups judge the meaning.
            *s = s.to_ascii_uppercase();
        }
    }
    Ok(Reply { json, anomalies })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srpc::codec::frame;

    fn read_chunks(chunks: Vec<Vec<u8>>, end: ReadStatus) -> Result<Reply, NoReply> {
        read(&mut Scripted::new(chunks, end))
    }

    fn le(payload: &str) -> Vec<u8> {
        frame(1, payload.len() as i32, payload.as_bytes())
    }

    #[test]
    fn a_correct_reply_has_no_anomaly_however_it_is_split() {
        let bytes = le(r#"{"status": "OK"}"#);
        for cut in 1..bytes.len() {
            let r = read_chunks(
                vec![bytes[..cut].to_vec(), bytes[cut..].to_vec()],
                ReadStatus::Eof,
            )
            .unwrap();
            assert!(r.anomalies.is_empty(), "cut {cut}: {:?}", r.anomalies);
            assert_eq!(r.status().as_deref(), Some("OK"));
        }
    }

    #[test]
    fn framing_mistakes_are_read_past_and_named() {
        let payload = r#"{"status": "OK"}"#;
        let be = [1i32.to_be_bytes(), (payload.len() as i32).to_be_bytes()].concat();
        let r = read_chunks(vec![be, payload.into()], ReadStatus::Eof).unwrap();
        assert_eq!(r.anomalies, vec![Anomaly::BigEndianHeader]);
        let r = read_chunks(vec![payload.into()], ReadStatus::Eof).unwrap();
        assert_eq!(r.anomalies, vec![Anomaly::NoHeader]);
        let r = read_chunks(
            vec![frame(1, payload.len() as i32 + 1, payload.as_bytes())],
            ReadStatus::Eof,
        )
        .unwrap();
        assert_eq!(
            r.anomalies,
            vec![Anomaly::LengthTooLong {
                declared: 17,
                actual: 16
            }]
        );
    }

    #[test]
    fn a_length_that_counts_characters_is_recognised() {
        let payload = r#"{"status": "OK", "v": "é😀"}"#;
        let chars = payload.chars().count();
        let r = read_chunks(
            vec![frame(1, chars as i32, payload.as_bytes())],
            ReadStatus::Eof,
        )
        .unwrap();
        assert_eq!(
            r.anomalies,
            vec![Anomaly::LengthTooShort {
                declared: chars,
                actual: payload.len(),
                chars
            }]
        );
        assert!(r.anomalies[0].explain().1.contains("counts characters"));
    }

    #[test]
    fn payload_mistakes_are_undone_and_named() {
        let r = read_chunks(vec![le(r#""{\"status\": \"OK\"}""#)], ReadStatus::Eof).unwrap();
        assert_eq!(r.anomalies, vec![Anomaly::DoubleEncoded]);
        assert_eq!(r.status().as_deref(), Some("OK"));
        let r = read_chunks(vec![le(r#"{"status": "ok"}"#)], ReadStatus::Eof).unwrap();
        assert_eq!(r.anomalies, vec![Anomaly::StatusCase("ok".into())]);
        assert_eq!(r.json["status"], "OK", "normalised for the other groups");
    }

    #[test]
    fn missing_and_broken_replies_say_how() {
        assert_eq!(
            read_chunks(vec![], ReadStatus::Eof).unwrap_err(),
            NoReply::ClosedSilently
        );
        assert_eq!(
            read_chunks(vec![], ReadStatus::Timeout).unwrap_err(),
            NoReply::Silent(None)
        );
        assert_eq!(
            read_chunks(vec![], ReadStatus::Reset).unwrap_err(),
            NoReply::Reset
        );
        assert!(matches!(
            read_chunks(vec![vec![1, 0]], ReadStatus::Eof),
            Err(NoReply::Garbled { .. })
        ));
        let huge = frame(i32::MAX, i32::MAX, b"{}");
        assert!(matches!(
            read_chunks(vec![huge], ReadStatus::Eof),
            Err(NoReply::Garbled { .. })
        ));
        assert!(matches!(
            read_chunks(vec![le("not json")], ReadStatus::Eof),
            Err(NoReply::Garbled { .. })
        ));
    }
}
