//! lab 3's fuzz model: sessions of clients, one connection each. A well-formed client must get
//! its own port as its id and the ack 1; a bad one (a message that is not a pickle, an info
//! with a key missing or of another type, a client that leaves early) may get anything, but the
//! next well-formed client must be served.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::cases::{ack_problem, id_problem, read_message, Info, Missing, PICKLE_PROTOCOL};
use super::pickle::{self, Py};
use crate::fuzz::{Client, Execution, Failure, Model, ReplyClass, Session};
use crate::net::conn::{Conn, ConnectError, Transcript};

/// lab 3's model.
pub struct Handshake;

/// What a step's client does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    /// The lab's client: the info, a whole handshake.
    Info { name: String, github: String, sid: i64 },
    /// Reads the id, then sends these raw bytes (most are no pickle) and half-closes.
    Garbage { bytes: Vec<u8> },
    /// Reads the id, then sends a dict of these keys, each the str "x" (a key of the info may
    /// be missing, or spelled otherwise).
    Keys { keys: Vec<String> },
    /// Reads the id, then sends an info whose `field` (0 name, 1 username, 2 sid) is an int, a
    /// str or None where the lab has another type.
    WrongType { field: u8, value: u8 },
    /// Leaves: before the id (`after_id` false) or after it.
    Leave { after_id: bool },
}

const STATES: &[&str] = &["info", "garbage", "keys", "wrong_type", "leave", "leave_after_id"];

impl Op {
    fn state(&self) -> &'static str {
        match self {
            Op::Info { .. } => "info",
            Op::Garbage { .. } => "garbage",
            Op::Keys { .. } => "keys",
            Op::WrongType { .. } => "wrong_type",
            Op::Leave { after_id: false } => "leave",
            Op::Leave { after_id: true } => "leave_after_id",
        }
    }

    /// What the client sends after the id (None: nothing).
    fn bytes(&self) -> Option<Vec<u8>> {
        match self {
            Op::Info { name, github, sid } => Some(
                Info {
                    name: name.clone(),
                    github: github.clone(),
                    sid: *sid,
                }
                .pickle(),
            ),
            Op::Garbage { bytes } => Some(bytes.clone()),
            Op::Keys { keys } => Some(pickle::dumps(
                &Py::Dict(keys.iter().map(|k| (Py::str(k), Py::str("x"))).collect()),
                PICKLE_PROTOCOL,
            )),
            Op::WrongType { field, value } => {
                let wrong = match value % 3 {
                    0 => Py::Int(7),
                    1 => Py::str("7"),
                    _ => Py::None,
                };
                let mut items = vec![
                    ("student_name", Py::str("Ada")),
                    ("github_username", Py::str("ada")),
                    ("sid", Py::Int(7)),
                ];
                let i = usize::from(field % 3);
                // An int is the right type of the sid: make it a str there.
                items[i].1 = match (i, wrong) {
                    (2, Py::Int(_)) => Py::str("seven"),
                    (_, w) => w,
                };
                Some(pickle::dumps(&Py::dict_of(items), PICKLE_PROTOCOL))
            }
            Op::Leave { .. } => None,
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z ]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just("Zoë 😀 \"'\\\n".to_string()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let keys = prop::collection::vec(
        prop_oneof![
            Just("student_name".to_string()),
            Just("github_username".to_string()),
            Just("sid".to_string()),
            "[a-z_]{1,10}",
        ],
        0..4,
    )
    .prop_filter("not the whole info", |keys| {
        !["student_name", "github_username", "sid"]
            .iter()
            .all(|k| keys.iter().any(|x| x == k))
    });
    prop_oneof![
        6 => (text(), text(), any::<i64>()).prop_map(|(name, github, sid)| Op::Info { name, github, sid }),
        2 => prop::collection::vec(any::<u8>(), 0..48).prop_map(|bytes| Op::Garbage { bytes }),
        1 => keys.prop_map(|keys| Op::Keys { keys }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(field, value)| Op::WrongType { field, value }),
        1 => any::<bool>().prop_map(|after_id| Op::Leave { after_id }),
    ]
}

/// What one client saw: the id, and the ack when one was awaited.
struct Seen {
    port: u16,
    id: Result<pickle::Value, Missing>,
    ack: Option<Result<pickle::Value, Missing>>,
    transcript: Transcript,
}

fn client_run(
    client: &Client,
    op: &Op,
    cuts: &[u16],
    pause: Duration,
) -> Result<Seen, ConnectError> {
    let mut conn = Conn::connect(client.addr, client.timeout)?;
    conn.skip_pause_when_read = true;
    let port = conn.local_port().unwrap_or(0);
    let deadline = Instant::now() + client.timeout;
    let mut at = 0;
    if matches!(op, Op::Leave { after_id: false }) {
        return Ok(Seen {
            port,
            id: Err(Missing::NoReply(crate::net::reply::NoReply::ClosedSilently)),
            ack: None,
            transcript: conn.transcript,
        });
    }
    let id = read_message(&mut conn, &mut at, deadline);
    let mut ack = None;
    if let (Ok(_), Some(bytes)) = (&id, op.bytes()) {
        let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c)).collect();
        let _ = conn.send_pieces(&bytes, &cuts, pause);
        if matches!(op, Op::Info { .. }) {
            ack = Some(read_message(&mut conn, &mut at, Instant::now() + client.timeout));
        } else {
            conn.half_close();
            let _ = conn.wait_close(Instant::now() + client.timeout);
        }
    }
    Ok(Seen {
        port,
        id,
        ack,
        transcript: conn.transcript,
    })
}

/// A whole, right handshake as a well-formed client: None, or what went wrong.
fn served(client: &Client) -> Result<(), (String, Option<Transcript>, bool)> {
    let op = Op::Info {
        name: "Ada Lovelace".into(),
        github: "ada".into(),
        sid: 1,
    };
    match client_run(client, &op, &[], Duration::ZERO) {
        Err(e) => Err((
            format!("the server no longer accepts connections ({e})"),
            None,
            e == ConnectError::Refused,
        )),
        Ok(seen) => judge(&seen, client.timeout).map_err(|why| (why, Some(seen.transcript), false)),
    }
}

/// A well-formed client's id and ack, judged.
fn judge(seen: &Seen, timeout: Duration) -> Result<(), String> {
    let id = seen.id.as_ref().map_err(|m| format!("no client id: {}", m.describe(timeout)))?;
    if let Some(p) = id_problem(id, seen.port) {
        return Err(format!("the client id is wrong: {p}"));
    }
    match &seen.ack {
        Some(Ok(ack)) => ack_problem(ack).map_or(Ok(()), Err),
        Some(Err(m)) => Err(format!("no ack: {}", m.describe(timeout))),
        None => Ok(()),
    }
}

impl Model for Handshake {
    type Op = Op;
    const STATES: &'static [&'static str] = STATES;

    fn op() -> BoxedStrategy<Op> {
        op().boxed()
    }

    fn describe(op: &Op) -> String {
        let clip = |s: String| crate::words::clip(&s, 120);
        match op {
            Op::Info { name, github, sid } => {
                clip(format!("a client with student info {name:?} {github:?} {sid}"))
            }
            Op::Garbage { bytes } => clip(format!(
                "a client that sends {} and leaves",
                crate::pyrepr::bytes(bytes)
            )),
            Op::Keys { keys } => clip(format!("a client whose info has the keys {keys:?}")),
            Op::WrongType { field, value } => {
                format!("a client whose info has a value of another type (field {field}, {value})")
            }
            Op::Leave { after_id: false } => "a client that leaves before its id".into(),
            Op::Leave { after_id: true } => "a client that leaves after its id".into(),
        }
    }

    fn alive(client: &Client, _run: u64) -> bool {
        served(client).is_ok()
    }

    fn execute(client: &Client, session: &Session<Op>, _run: u64) -> Execution {
        let mut out = Execution::default();
        for (i, step) in session.steps.iter().enumerate() {
            let fail = |message: String| Failure::at(i, message);
            out.states.push(step.op.state());
            let pause = Duration::from_millis(u64::from(step.pause_ms));
            let seen = match client_run(client, &step.op, &step.cuts, pause) {
                Ok(seen) => seen,
                Err(e) => {
                    out.failure = Some(Failure {
                        target_down: e == ConnectError::Refused,
                        ..fail(format!("the server no longer accepts connections ({e})"))
                    });
                    return out;
                }
            };
            let class = match (&seen.id, &seen.ack) {
                (Err(_), _) => ReplyClass::Closed,
                (Ok(_), Some(Ok(_))) => ReplyClass::Ok,
                (Ok(_), Some(Err(_))) => ReplyClass::Error,
                (Ok(_), None) => ReplyClass::Closed,
            };
            out.classes.push((step.op.state(), class));
            let well_formed = matches!(step.op, Op::Info { .. });
            let judged = if well_formed {
                judge(&seen, client.timeout)
            } else {
                Ok(())
            };
            out.transcripts.push(seen.transcript);
            if let Err(why) = judged {
                out.failure = Some(fail(why));
                return out;
            }
            if !well_formed {
                if let Err((why, transcript, down)) = served(client) {
                    out.transcripts.extend(transcript);
                    out.failure = Some(Failure {
                        target_down: down,
                        ..fail(format!("after this client, a well-formed one was not served: {why}"))
                    });
                    return out;
                }
            }
        }
        out
    }
}
