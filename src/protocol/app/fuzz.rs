//! lab 4's fuzz model: sessions of searches, the assignment's double and negate, plain binary
//! requests, unknown actions and lying frames, one connection each, every reply checked against
//! the oracle byte for byte; after a lying frame, a fresh search must still be answered.
//!
//! Lying frames are drawn from raw bytes through `arbitrary`, which gives them structure (a
//! short length, a header that is not JSON, a missing key, a content-length that lies) while
//! proptest still shrinks the raw bytes.

use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::{self, Message};
use super::oracle::{self, Expected};
use crate::fuzz::{Client, Execution, Failure, Model, ReplyClass, Session};
use crate::net::conn::{Conn, ConnectError, Transcript};
use crate::net::reply::NoReply;

/// lab 4's model.
pub struct App;

/// What a step sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    Search {
        query: String,
    },
    /// The assignment's `struct.pack(">6si", name, n)`, with a result that fits 32 bits.
    Command {
        negate: bool,
        n: i32,
    },
    /// A plain binary request: the echo.
    Binary {
        content: Vec<u8>,
    },
    /// A JSON action other than search.
    Action {
        action: String,
        value: String,
    },
    Lying {
        frame: Lying,
    },
}

/// A message that breaks the protocol, each variant one way to break it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Lying {
    /// The first byte of the 2-byte length, then end of stream.
    ShortLength,
    /// A 2-byte length longer than the header that follows.
    LongLength { missing: u8 },
    /// A header that is not JSON.
    HeaderNotJson { garbage: Vec<u8> },
    /// A header without one of the four keys.
    MissingKey { which: u8 },
    /// content-length larger than the content sent.
    ShortContent { missing: u8 },
    /// text/json content that is not JSON.
    ContentNotJson { content: Vec<u8> },
    /// content-length that is negative.
    NegativeLength,
}

impl Lying {
    pub fn bytes(&self) -> Vec<u8> {
        let search = br#"{"action": "search", "value": "ring"}"#;
        match self {
            Lying::ShortLength => vec![0],
            Lying::LongLength { missing } => {
                let header = codec::header("text/json", "utf-8", search.len());
                let len = header.len() + usize::from(*missing) + 1;
                codec::framed_with_length(len.min(u16::MAX.into()) as u16, &header, b"")
            }
            Lying::HeaderNotJson { garbage } => {
                let mut header = b"{not json ".to_vec();
                header.extend(garbage.iter().take(16));
                codec::framed(&header, b"")
            }
            Lying::MissingKey { which } => {
                let mut h = serde_json::Map::new();
                for (i, k) in codec::KEYS.iter().enumerate() {
                    if i != usize::from(*which % 4) {
                        let v: Value = match *k {
                            "byteorder" => "little".into(),
                            "content-type" => "text/json".into(),
                            "content-encoding" => "utf-8".into(),
                            _ => search.len().into(),
                        };
                        h.insert((*k).to_owned(), v);
                    }
                }
                codec::framed(Value::Object(h).to_string().as_bytes(), search)
            }
            Lying::ShortContent { missing } => codec::framed(
                &codec::header("text/json", "utf-8", search.len() + usize::from(*missing) + 1),
                search,
            ),
            Lying::ContentNotJson { content } => {
                let mut c = b"{not json ".to_vec();
                c.extend(content.iter().take(16));
                codec::request("text/json", "utf-8", &c)
            }
            Lying::NegativeLength => codec::framed(
                br#"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": -1}"#,
                search,
            ),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Lying::ShortLength => "short_length",
            Lying::LongLength { .. } => "long_length",
            Lying::HeaderNotJson { .. } => "header_not_json",
            Lying::MissingKey { .. } => "missing_key",
            Lying::ShortContent { .. } => "short_content",
            Lying::ContentNotJson { .. } => "content_not_json",
            Lying::NegativeLength => "negative_length",
        }
    }
}

const STATES: &[&str] = &[
    "search_found",
    "search_missing",
    "double",
    "negate",
    "binary",
    "action",
    "short_length",
    "long_length",
    "header_not_json",
    "missing_key",
    "short_content",
    "content_not_json",
    "negative_length",
];

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Search { .. } => "search",
            Op::Command { .. } => "command",
            Op::Binary { .. } => "binary",
            Op::Action { .. } => "action",
            Op::Lying { .. } => "lying",
        }
    }

    /// The bytes, and what the lab's server answers (`None`: a lying frame, closed unanswered).
    fn request(&self) -> (Vec<u8>, Option<Expected>, &'static str) {
        match self {
            Op::Search { query } => {
                let state = if oracle::TABLE.iter().any(|(k, _)| k == query) {
                    "search_found"
                } else {
                    "search_missing"
                };
                (codec::search(query), Some(oracle::search(query)), state)
            }
            Op::Command { negate, n } => {
                let name = if *negate { b"negate" } else { b"double" };
                let value = oracle::compute(name, *n).expect("the strategy keeps it in range");
                let state = if *negate { "negate" } else { "double" };
                (
                    codec::command(name, *n),
                    Some(oracle::command(value)),
                    state,
                )
            }
            Op::Binary { content } => (
                codec::binary(content),
                oracle::answer(codec::CLIENT_BINARY, content),
                "binary",
            ),
            Op::Action { action, value } => {
                let content = format!(
                    r#"{{"action": {}, "value": {}}}"#,
                    Value::from(action.as_str()),
                    Value::from(value.as_str())
                );
                let expected = oracle::answer(oracle::JSON_TYPE, content.as_bytes());
                (
                    codec::request("text/json", "utf-8", content.as_bytes()),
                    expected,
                    "action",
                )
            }
            Op::Lying { frame } => (frame.bytes(), None, frame.kind()),
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,8}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
        Just("é😀\u{0}\"\\\n".to_string()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let query = prop_oneof![
        2 => prop::sample::select(oracle::TABLE.iter().map(|(k, _)| (*k).to_owned()).collect::<Vec<_>>()),
        1 => text(),
    ];
    let command = (any::<bool>(), any::<i32>())
        .prop_filter("a result that fits 32 bits", |(negate, n)| {
            oracle::compute(if *negate { b"negate" } else { b"double" }, *n).is_some()
        })
        .prop_map(|(negate, n)| Op::Command { negate, n });
    let lying = prop::collection::vec(any::<u8>(), 0..32).prop_map(|raw| Op::Lying {
        frame: Lying::arbitrary(&mut Unstructured::new(&raw)).unwrap_or(Lying::ShortLength),
    });
    prop_oneof![
        4 => query.prop_map(|query| Op::Search { query }),
        4 => command,
        // Not empty: the tutorial's server never answers a request with no content (`if self.request:`
        // is false for b""), and that is the tutorial's, not a student's, doing.
        2 => prop::collection::vec(any::<u8>(), 1..24).prop_map(|content| Op::Binary { content }),
        1 => (text().prop_filter("not search", |a| a != "search"), text())
            .prop_map(|(action, value)| Op::Action { action, value }),
        1 => lying,
    ]
}

/// Sends `bytes` on a new connection (cut at `cuts`), half-closes if asked, and reads a reply.
fn exchange(
    client: &Client,
    bytes: &[u8],
    cuts: &[u16],
    pause: Duration,
    half_close: bool,
) -> Result<(Result<Message, NoReply>, Transcript), ConnectError> {
    let mut conn = Conn::connect(client.addr, client.timeout)?;
    conn.skip_pause_when_read = true;
    let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c)).collect();
    let _ = conn.send_pieces(bytes, &cuts, pause);
    if half_close {
        conn.half_close();
    }
    let result = codec::read_reply(&mut conn, Instant::now() + client.timeout, false);
    Ok((result, conn.transcript))
}

/// What is wrong with `got` as the reply `want`.
fn wrong(got: &Message, want: &Expected) -> Option<String> {
    if let Some(problem) = got.header_problem() {
        return Some(problem);
    }
    if got.text("content-type") != Some(want.content_type) {
        return Some(format!(
            "content-type {:?}, where the lab's server sends {:?}",
            got.text("content-type").unwrap_or_default(),
            want.content_type
        ));
    }
    (got.content != want.content).then(|| {
        format!(
            "the content is {}, where the lab's server sends {}",
            crate::words::clip(&codec::py_bytes(&got.content), 200),
            crate::words::clip(&codec::py_bytes(&want.content), 200)
        )
    })
}

impl Model for App {
    type Op = Op;
    const STATES: &'static [&'static str] = STATES;

    fn op() -> BoxedStrategy<Op> {
        op().boxed()
    }

    fn describe(op: &Op) -> String {
        let clip = |s: String| crate::words::clip(&s, 120);
        match op {
            Op::Search { query } => clip(format!("search {query:?}")),
            Op::Command { negate: true, n } => format!("negate {n}"),
            Op::Command { negate: false, n } => format!("double {n}"),
            Op::Binary { content } => clip(format!("binary {}", codec::py_bytes(content))),
            Op::Action { action, value } => clip(format!("action {action:?} value {value:?}")),
            Op::Lying { frame } => clip(format!(
                "lying message {frame:?}, then end of stream and a fresh search"
            )),
        }
    }

    fn alive(client: &Client, _run: u64) -> bool {
        let search = codec::search("morpheus");
        matches!(
            exchange(client, &search, &[], Duration::ZERO, false),
            Ok((Ok(m), _)) if wrong(&m, &oracle::search("morpheus")).is_none()
        )
    }

    fn execute(client: &Client, session: &Session<Op>, _run: u64) -> Execution {
        let mut out = Execution::default();
        for (i, step) in session.steps.iter().enumerate() {
            let fail = |message: String| Failure::at(i, message);
            let (bytes, expected, state) = step.op.request();
            out.states.push(state);
            let lying = expected.is_none();
            let pause = Duration::from_millis(u64::from(step.pause_ms));
            let (result, transcript) = match exchange(client, &bytes, &step.cuts, pause, lying) {
                Ok(pair) => pair,
                Err(e) => {
                    out.failure = Some(Failure {
                        target_down: e == ConnectError::Refused,
                        ..fail(format!("could not connect: {e}"))
                    });
                    return out;
                }
            };
            out.transcripts.push(transcript);
            let class = match (&result, &expected) {
                (Ok(m), Some(want)) if wrong(m, want).is_none() => ReplyClass::Ok,
                (Ok(_), _) | (Err(NoReply::Garbled { .. }), _) => ReplyClass::Malformed,
                (Err(NoReply::ClosedSilently | NoReply::Reset), _) => ReplyClass::Closed,
                (Err(NoReply::Silent(_)), _) => ReplyClass::Timeout,
            };
            out.classes.push((step.op.kind(), class));
            let failure = match (&expected, result) {
                (Some(want), Ok(got)) => wrong(&got, want).map(|why| Failure {
                    expected: Some(codec::py_bytes(&want.content)),
                    actual: Some(codec::py_bytes(&got.content)),
                    ..fail(why)
                }),
                (Some(_), Err(e)) => Some(fail(e.describe(client.timeout))),
                (None, Ok(got)) => Some(fail(format!(
                    "a lying message was answered as if it were a request: {}",
                    crate::words::clip(&codec::py_bytes(&got.raw), 200)
                ))),
                (None, Err(NoReply::ClosedSilently | NoReply::Reset)) => None,
                (None, Err(e)) => Some(fail(format!(
                    "after a lying message and end of stream: {}",
                    e.describe(client.timeout)
                ))),
            };
            if let Some(f) = failure {
                out.failure = Some(f);
                return out;
            }
            if lying {
                let search = codec::search("ring");
                match exchange(client, &search, &[], Duration::ZERO, false) {
                    Err(e) => {
                        out.failure = Some(Failure {
                            target_down: e == ConnectError::Refused,
                            ..fail(format!("after this lying message the server no longer accepts connections ({e})"))
                        });
                        return out;
                    }
                    Ok((Ok(m), _)) if wrong(&m, &oracle::search("ring")).is_none() => {}
                    Ok((other, t)) => {
                        out.transcripts.push(t);
                        let got = match other {
                            Ok(m) => codec::py_bytes(&m.raw),
                            Err(e) => e.describe(client.timeout),
                        };
                        out.failure = Some(fail(format!(
                            "after this lying message a fresh search was not answered right: {}",
                            crate::words::clip(&got, 200)
                        )));
                        return out;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn lying_messages_are_never_answerable_requests() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..300 {
            let Op::Lying { frame } = (prop::collection::vec(any::<u8>(), 0..32))
                .prop_map(|raw| Op::Lying {
                    frame: Lying::arbitrary(&mut Unstructured::new(&raw))
                        .unwrap_or(Lying::ShortLength),
                })
                .new_tree(&mut runner)
                .unwrap()
                .current()
            else {
                unreachable!()
            };
            let bytes = frame.bytes();
            let whole = codec::parse(&bytes, true);
            let answerable = whole.as_ref().is_some_and(|m| {
                m.header_problem().is_none()
                    && m.text("content-type") == Some("text/json")
                    && serde_json::from_slice::<Value>(&m.content).is_ok()
                    && m.content.len() == m.header["content-length"].as_u64().unwrap_or(0) as usize
            });
            assert!(!answerable, "{frame:?} is a request");
        }
    }

    #[test]
    fn sessions_round_trip_through_json() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..50 {
            let s = crate::fuzz::session::session(App::op())
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Session<Op>>(&text).unwrap(), s);
        }
    }
}
