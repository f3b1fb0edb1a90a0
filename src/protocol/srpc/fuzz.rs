//! srpc's fuzz model: sessions of PUT, GET, unknown funcs and malformed frames over a pool of
//! three keys, checked against a model of the store.
//!
//! Malformed frames are drawn from raw bytes through `arbitrary`, which gives them structure
//! (a short header, a lying length, garbage JSON) while proptest still shrinks the raw bytes.

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec;
use super::oracle::{self, Compare};
use super::reply::{self, NoReply};
use crate::fuzz::{Client, Execution, Failure, Model, ReplyClass, Session};
use crate::net::conn::{Conn, ConnectError, Transcript};

/// Keys per session.
pub const KEYS: u8 = 3;

/// srpc's model.
pub struct Srpc;

/// Every state a run should reach.
const STATES: &[&str] = &[
    "put_new",
    "put_overwrite",
    "get_missing",
    "get_existing",
    "unknown_func",
    "short_header",
    "lying_length",
    "garbage",
    "not_an_object",
    "missing_field",
    "params_not_object",
    "unhashable_obj",
];

impl Model for Srpc {
    type Op = Op;
    const STATES: &'static [&'static str] = STATES;

    fn op() -> BoxedStrategy<Op> {
        op().boxed()
    }

    fn describe(op: &Op) -> String {
        let clip = |s: String| crate::words::clip(&s, 120);
        match op {
            Op::Put { key, val } => clip(format!("PUT k{key} = {val}")),
            Op::Get { key } => format!("GET k{key}"),
            Op::Unknown { func } => clip(format!("func {func:?} (unknown)")),
            Op::Malformed { frame } => clip(format!(
                "malformed frame {frame:?}, then end of stream and a liveness PUT"
            )),
        }
    }

    /// A fresh, well-formed PUT answered OK (under run number `run`).
    fn alive(client: &Client, run: u64) -> bool {
        let name = Value::String(format!("fz-{}-{run:010}-alive", client.tag));
        let check = codec::request(&oracle::put_request(&name, &Value::from(1)));
        matches!(exchange(client, &check, &[], Duration::ZERO, false), Ok((Ok(r), _)) if r.status().as_deref() == Some("OK"))
    }

    /// Runs `session` once against the target under run number `run` (which names its keys),
    /// and checks every reply against the model of the store.
    fn execute(client: &Client, session: &Session<Op>, run: u64) -> Execution {
        let name = |key: u8| Value::String(format!("fz-{}-{run:010}-k{key}", client.tag));
        let mut model: HashMap<u8, Value> = HashMap::new();
        let mut out = Execution::default();
        for (i, step) in session.steps.iter().enumerate() {
            let pause = Duration::from_millis(u64::from(step.pause_ms));
            let (request, expected, half_close) = match &step.op {
                Op::Put { key, val } => {
                    out.states.push(if model.contains_key(key) {
                        "put_overwrite"
                    } else {
                        "put_new"
                    });
                    (
                        codec::request(&oracle::put_request(&name(*key), val)),
                        Some(oracle::put_reply(&name(*key))),
                        false,
                    )
                }
                Op::Get { key } => {
                    let stored = model.get(key).cloned();
                    out.states.push(if stored.is_some() {
                        "get_existing"
                    } else {
                        "get_missing"
                    });
                    (
                        codec::request(&oracle::get_request(&name(*key))),
                        Some(oracle::get_reply(
                            &name(*key),
                            &stored.unwrap_or(Value::Null),
                        )),
                        false,
                    )
                }
                Op::Unknown { func } => {
                    out.states.push("unknown_func");
                    let func = Value::String(func.clone());
                    let payload = format!(r#"{{"func": {func}, "params": {{}}}}"#);
                    (
                        codec::request(payload.as_bytes()),
                        Some(oracle::unknown_func_reply(&func)),
                        false,
                    )
                }
                Op::Malformed { frame } => {
                    out.states.push(frame.kind());
                    (frame.bytes(), None, true)
                }
            };
            let fail = |message: String| Failure::at(i, message);
            let (result, transcript) =
                match exchange(client, &request, &step.cuts, pause, half_close) {
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
            let class = match &result {
                Ok(r) if !r.anomalies.is_empty() => ReplyClass::Malformed,
                Ok(r) if r.status().as_deref() == Some("OK") => ReplyClass::Ok,
                Ok(r) if r.status().as_deref() == Some("ERROR") => ReplyClass::Error,
                Ok(_) | Err(NoReply::Garbled { .. }) => ReplyClass::Malformed,
                Err(NoReply::ClosedSilently | NoReply::Reset) => ReplyClass::Closed,
                Err(NoReply::Silent(_)) => ReplyClass::Timeout,
            };
            out.classes.push((step.op.kind(), class));
            let failure = match (&expected, result) {
                (_, Ok(r)) if !r.anomalies.is_empty() => {
                    let (what, why) = r.anomalies[0].explain();
                    Some(fail(format!("{what}: {why}")))
                }
                (Some(exp), Ok(r)) => match oracle::compare(exp, &r.json) {
                    Compare::Different(why) => Some(Failure {
                        expected: Some(exp.to_string()),
                        actual: Some(r.json.to_string()),
                        ..fail(oracle::difference(exp, &r.json, why))
                    }),
                    Compare::Equal | Compare::TypeChanged(_) => None,
                },
                (Some(_), Err(e)) => Some(fail(e.describe(client.timeout))),
                (None, Ok(r)) if r.status().as_deref() == Some("OK") => Some(fail(format!(
                    "a malformed frame was answered OK: {}",
                    r.json
                ))),
                (None, Ok(_)) | (None, Err(NoReply::ClosedSilently | NoReply::Reset)) => None,
                (None, Err(e)) => Some(fail(format!(
                    "after a malformed frame and end of stream: {}",
                    e.describe(client.timeout)
                ))),
            };
            if let Some(f) = failure {
                out.failure = Some(f);
                return out;
            }
            if let Op::Put { key, val } = &step.op {
                model.insert(*key, val.clone());
            }
            if half_close {
                // The liveness check that follows every malformed frame.
                let live = Value::String(format!("fz-{}-{run:010}-live{i}", client.tag));
                let check = codec::request(&oracle::put_request(&live, &Value::from(1)));
                match exchange(client, &check, &[], Duration::ZERO, false) {
                    Err(e) => {
                        out.failure = Some(Failure {
                            target_down: e == ConnectError::Refused,
                            ..fail(format!("after this malformed frame the server no longer accepts connections ({e})"))
                        });
                        return out;
                    }
                    Ok((Ok(r), _)) if r.status().as_deref() == Some("OK") => {}
                    Ok((other, t)) => {
                        out.transcripts.push(t);
                        let got = match other {
                            Ok(r) => r.json.to_string(),
                            Err(e) => e.describe(client.timeout),
                        };
                        out.failure = Some(fail(format!("after this malformed frame a well-formed PUT was not answered OK: {got}")));
                        return out;
                    }
                }
            }
        }
        out
    }
}

fn exchange(
    client: &Client,
    bytes: &[u8],
    cuts: &[u16],
    pause: Duration,
    half_close: bool,
) -> Result<(Result<reply::Reply, NoReply>, Transcript), ConnectError> {
    let mut conn = Conn::connect(client.addr, client.timeout)?;
    // A local server is seen reading each piece, so no time is spent sleeping.
    conn.skip_pause_when_read = true;
    let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c)).collect();
    let result = reply::exchange(&mut conn, bytes, &cuts, pause, half_close);
    Ok((result, conn.transcript))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    Put { key: u8, val: Value },
    Get { key: u8 },
    Unknown { func: String },
    Malformed { frame: Malformed },
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Put { .. } => "put",
            Op::Get { .. } => "get",
            Op::Unknown { .. } => "unknown",
            Op::Malformed { .. } => "malformed",
        }
    }
}

/// A frame that breaks the protocol, each variant one way to break it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Malformed {
    /// The first few bytes of a header, then end of stream.
    ShortHeader { bytes: u8 },
    /// A header whose length does not match what follows.
    LyingLength { declared: i32, body: Vec<u8> },
    /// A correct header around bytes that are not a request.
    Garbage { payload: Vec<u8> },
    /// JSON that is not an object.
    NotAnObject { number: i64 },
    /// A request with func or params missing.
    MissingField { drop_func: bool },
    /// A GET whose params is a list.
    ParamsNotObject,
    /// A PUT whose obj is a list.
    UnhashableObj,
}

impl Malformed {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Malformed::ShortHeader { bytes } => {
                codec::frame(1, 20, b"")[..usize::from(*bytes % 8)].to_vec()
            }
            Malformed::LyingLength { declared, body } => {
                let declared = if usize::try_from(*declared).ok() == Some(body.len()) {
                    declared.wrapping_add(1)
                } else {
                    *declared
                };
                codec::frame(1, declared, body)
            }
            Malformed::Garbage { payload } => codec::request(payload),
            Malformed::NotAnObject { number } => codec::request(number.to_string().as_bytes()),
            Malformed::MissingField { drop_func: true } => {
                codec::request(br#"{"params": {"obj": "fz"}}"#)
            }
            Malformed::MissingField { drop_func: false } => codec::request(br#"{"func": "GET"}"#),
            Malformed::ParamsNotObject => codec::request(br#"{"func": "GET", "params": [1, 2]}"#),
            Malformed::UnhashableObj => {
                codec::request(br#"{"func": "PUT", "params": {"obj": [1], "val": 1}}"#)
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Malformed::ShortHeader { .. } => "short_header",
            Malformed::LyingLength { .. } => "lying_length",
            Malformed::Garbage { .. } => "garbage",
            Malformed::NotAnObject { .. } => "not_an_object",
            Malformed::MissingField { .. } => "missing_field",
            Malformed::ParamsNotObject => "params_not_object",
            Malformed::UnhashableObj => "unhashable_obj",
        }
    }
}

fn big_int() -> impl Strategy<Value = Value> {
    "-?[1-9][0-9]{19,40}".prop_map(|s| serde_json::from_str(&s).expect("digits are JSON"))
}

fn float() -> impl Strategy<Value = Value> {
    let edge = prop::sample::select(vec![
        1.0,
        0.1,
        -2.5,
        1e300,
        1e-5,
        1e16,
        1e15,
        5e-324,
        -0.0,
        1.7976931348623157e308,
    ]);
    prop_oneof![edge, any::<f64>().prop_filter("finite", |f| f.is_finite())]
        .prop_map(|f| Value::Number(serde_json::Number::from_f64(f).expect("finite")))
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,6}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
        Just("é😀\u{0}\"\\\n".to_string()),
    ]
}

/// Any JSON value, with the edge cases of numbers and text, a few levels deep.
pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        big_int(),
        float(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-d]{1,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn malformed() -> impl Strategy<Value = Malformed> {
    prop::collection::vec(any::<u8>(), 0..48).prop_map(|raw| {
        Malformed::arbitrary(&mut Unstructured::new(&raw))
            .unwrap_or(Malformed::ShortHeader { bytes: 0 })
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS, value()).prop_map(|(key, val)| Op::Put { key, val }),
        4 => (0..KEYS).prop_map(|key| Op::Get { key }),
        1 => text().prop_filter("not GET or PUT", |f| f != "GET" && f != "PUT").prop_map(|func| Op::Unknown { func }),
        1 => malformed().prop_map(|frame| Op::Malformed { frame }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn sessions_round_trip_through_json() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..50 {
            let s = crate::fuzz::session::session(Srpc::op())
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Session<Op>>(&text).unwrap(), s);
        }
    }

    #[test]
    fn malformed_frames_are_never_well_formed_requests() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..500 {
            let m = malformed().new_tree(&mut runner).unwrap().current();
            let bytes = m.bytes();
            if bytes.len() >= 8 {
                let declared = i32::from_le_bytes(bytes[4..8].try_into().unwrap());
                let body = &bytes[8..];
                let honest = usize::try_from(declared).ok() == Some(body.len());
                if honest {
                    let v: Result<Value, _> = serde_json::from_slice(body);
                    let has_func_and_params = v.as_ref().is_ok_and(|v| {
                        v.get("func").is_some()
                            && v["params"].is_object()
                            && v["params"].get("obj").is_some_and(|o| !o.is_array())
                    });
                    assert!(!has_func_and_params, "{m:?} is a valid request");
                }
            }
        }
    }
}
