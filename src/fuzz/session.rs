//! What the fuzzer sends: sessions of operations, and the proptest strategies that generate them.
//!
//! A session is a short sequence of steps over a pool of three keys. Each step is an operation
//! and a split plan, so every request can reach the server in pieces with pauses between them.
//! Malformed frames are drawn from raw bytes through `arbitrary`, which gives them structure
//! (a short header, a lying length, garbage JSON) while proptest still shrinks the raw bytes.

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::srpc::codec;

/// Keys per session.
pub const KEYS: u8 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub op: Op,
    /// Byte offsets at which the request is cut; offsets outside the request are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<u16>,
    /// Pause before each later piece, in milliseconds.
    #[serde(default)]
    pub pause_ms: u8,
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

fn step() -> impl Strategy<Value = Step> {
    let split = prop_oneof![
        3 => Just((Vec::new(), 0u8)),
        // Conn::send_pieces also waits for a local server to read each piece, so short pauses
        // are enough to make every split show.
        1 => (prop::collection::vec(1u16..160, 1..4), 2u8..=10),
    ];
    (op(), split).prop_map(|(op, (cuts, pause_ms))| Step { op, cuts, pause_ms })
}

/// Sessions of one to eight steps.
pub fn session() -> impl Strategy<Value = Session> {
    prop::collection::vec(step(), 1..=8).prop_map(|steps| Session { steps })
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
            let s = session().new_tree(&mut runner).unwrap().current();
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), s);
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
