//! The handshake protocol's cases (lab 3), one file per group, and what they share: play the
//! lab's client (connect, read the id, send the student info, read the ack), judge each
//! message with the finding its difference points to, and read what the server printed.

use std::time::{Duration, Instant};

use super::findings::HandshakeCode;
use super::pickle::{self, Py, Read, Value};
use crate::codes::Code;
use crate::net::conn::{Conn, ReadStatus};
use crate::net::reply::NoReply;
use crate::suite::{Case, Ctx, Verdict};

mod fragment;
mod grading;
mod protocol;
mod robust;

/// Every case, in run order (the destructive group last).
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(grading::cases());
    cases.extend(protocol::cases());
    cases.extend(fragment::cases());
    cases.extend(robust::cases());
    cases
}

pub(crate) fn code(c: HandshakeCode) -> Code {
    Code::Handshake(c)
}

/// The pickle protocol srpc-check writes until the peer has shown its own: Python's default on
/// 3.8 to 3.13, which every Python 3 reads.
pub const PICKLE_PROTOCOL: u8 = 4;

/// The protocol to answer `message` in: 5 when the peer wrote 5 (Python 3.14's default), so
/// that a server on 3.14 gets the bytes its own client would send; else [`PICKLE_PROTOCOL`].
pub fn answer_protocol(message: &[u8]) -> u8 {
    match message {
        [0x80, 5, ..] => 5,
        _ => PICKLE_PROTOCOL,
    }
}

/// A student info, as the lab's client builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub github: String,
    pub sid: i64,
}

impl Info {
    /// A fresh one: its username says which case and run sent it.
    pub fn fresh(ctx: &mut Ctx) -> Info {
        let github = match ctx.key() {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let sid = 100_000_000 + i64::from(ctx.rng.u32(..899_999_999));
        Info {
            name: "Ada Lovelace".into(),
            github,
            sid,
        }
    }

    pub fn value(&self) -> Py {
        Py::dict([
            ("student_name", Py::str(&self.name)),
            ("github_username", Py::str(&self.github)),
            ("sid", Py::Int(self.sid)),
        ])
    }

    pub fn pickle(&self) -> Vec<u8> {
        self.pickle_as(PICKLE_PROTOCOL)
    }

    /// `pickle.dumps(info, protocol)`.
    pub fn pickle_as(&self, protocol: u8) -> Vec<u8> {
        pickle::dumps(&self.value(), protocol)
    }

    /// The line the lab's server prints for it.
    pub fn connected_line(&self) -> String {
        format!(
            "Connected: Student: {}, Github Username: {}, sid: {}",
            self.name, self.github, self.sid
        )
    }
}

/// Why a message did not come.
#[derive(Debug, Clone)]
pub enum Missing {
    /// Nothing (or not a whole pickle) arrived.
    NoReply(NoReply),
    /// A pickle that names or calls a Python object: refused unread.
    Refused { opcode: &'static str },
}

impl Missing {
    pub fn describe(&self, timeout: Duration) -> String {
        match self {
            Missing::NoReply(e) => e.describe(timeout),
            Missing::Refused { opcode } => format!(
                "a pickle with the {opcode} opcode arrived: unpickling it would run code, so srpc-check refused it unread"
            ),
        }
    }

    /// As a failed verdict (a refused pickle names its finding).
    pub fn verdict(&self, what: &str, timeout: Duration) -> Verdict {
        let v = Verdict::fail(format!("{what}: {}", self.describe(timeout)));
        match self {
            Missing::Refused { .. } => v.because(
                code(HandshakeCode::UnsafePickleRefused),
                "the lab's messages are plain values: a dict of an int, and the int 1",
            ),
            Missing::NoReply(_) => v,
        }
    }
}

/// A connection on which srpc-check plays the lab's client, and the offset in what it
/// received where the next message starts.
pub struct Shake {
    pub conn: Conn,
    pub port: u16,
    /// The protocol srpc-check answers in: the one the server's id came in.
    pub protocol: u8,
    at: usize,
}

impl Shake {
    pub fn open(ctx: &mut Ctx) -> Result<Shake, Verdict> {
        let conn = ctx.connect()?;
        Ok(Shake::on(conn))
    }

    pub fn on(conn: Conn) -> Shake {
        let port = conn.local_port().unwrap_or(0);
        Shake {
            conn,
            port,
            protocol: PICKLE_PROTOCOL,
            at: 0,
        }
    }

    /// Reads the next message, until `deadline`.
    pub fn message(&mut self, deadline: Instant) -> Result<Value, Missing> {
        let start = self.at;
        let message = read_message(&mut self.conn, &mut self.at, deadline);
        if start == 0 && message.is_ok() {
            self.protocol = answer_protocol(&self.conn.transcript.received);
        }
        message
    }

    /// Bytes received after the messages read so far.
    pub fn unread(&self) -> &[u8] {
        self.conn
            .transcript
            .received
            .get(self.at..)
            .unwrap_or_default()
    }
}

/// Reads one message from `conn`, starting at `at` in what it received (moved past it).
pub fn read_message(conn: &mut Conn, at: &mut usize, deadline: Instant) -> Result<Value, Missing> {
    loop {
        let received = conn.transcript.received.get(*at..).unwrap_or_default();
        let ended = match pickle::read(received) {
            Read::Value(v, len) => {
                *at += len;
                return Ok(v);
            }
            Read::Refused { opcode, .. } => return Err(Missing::Refused { opcode }),
            Read::Malformed(why) => {
                return Err(Missing::NoReply(NoReply::Garbled {
                    reason: format!("{why}; it began {}", pickle::shown(received)),
                }))
            }
            Read::Incomplete => match conn.read_some(deadline) {
                ReadStatus::Data(_) => continue,
                status => status,
            },
        };
        let received = conn.transcript.received.get(*at..).unwrap_or_default();
        return Err(Missing::NoReply(match (ended, received.is_empty()) {
            (ReadStatus::Reset, true) => NoReply::Reset,
            (ReadStatus::Timeout, true) => NoReply::Silent(conn.stalled.clone()),
            (_, true) => NoReply::ClosedSilently,
            (ReadStatus::Timeout, false) => NoReply::Silent(Some(format!(
                "{} bytes arrived, not a whole pickle ({}), then nothing",
                received.len(),
                pickle::shown(received)
            ))),
            (_, false) => NoReply::Garbled {
                reason: format!(
                    "the connection ended inside a pickle: {}",
                    pickle::shown(received)
                ),
            },
        }));
    }
}

/// What is wrong with the id message, for a client on `port`; None when it is right.
pub fn id_problem(id: &Value, port: u16) -> Option<String> {
    let Some(inner) = pickle::get(id, "clientid") else {
        return Some(match id {
            Value::Dict(_) => format!("the dict {} has no 'clientid' key", pickle::repr(id)),
            Value::Tuple(_) => format!(
                "it is the tuple {}, not a dict: the whole address, where the lab sends {{'clientid': addr[1]}}",
                pickle::repr(id)
            ),
            _ => format!("it is {}, not a dict {{'clientid': PORT}}", pickle::repr(id)),
        });
    };
    let shown = pickle::repr(id);
    match inner {
        Value::Dict(_) => Some(format!(
            "{shown}: the id is wrapped twice; the value of 'clientid' is the port itself"
        )),
        Value::Tuple(_) | Value::List(_) => Some(format!(
            "{shown}: the value is the whole address; the lab sends addr[1], the port alone"
        )),
        Value::Bool(_) => Some(format!("{shown}: the value is a bool, not the port")),
        v => match pickle::int(v) {
            Some(n) if n == i128::from(port) => None,
            Some(n) => Some(format!(
                "{shown}: {n} is not the client's port ({port}): the lab sends addr[1], from the address accept() returned"
            )),
            None => Some(format!(
                "{shown}: the port is a {}, not an int",
                type_name(v)
            )),
        },
    }
}

/// What is wrong with the ack; None when it is the int 1.
pub fn ack_problem(ack: &Value) -> Option<String> {
    if matches!(ack, Value::Bool(_)) {
        return Some(format!("the ack is {}, a bool, not the int 1", pickle::repr(ack)));
    }
    match pickle::int(ack) {
        Some(1) => None,
        Some(n) => Some(format!("the ack is {n}, not 1")),
        None => Some(format!(
            "the ack is the {} {}, not the int 1",
            type_name(ack),
            pickle::repr(ack)
        )),
    }
}

/// Python's name of a value's type.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "bool",
        Value::I64(_) | Value::Int(_) => "int",
        Value::F64(_) => "float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "str",
        Value::List(_) => "list",
        Value::Tuple(_) => "tuple",
        Value::Set(_) => "set",
        Value::FrozenSet(_) => "frozenset",
        Value::Dict(_) => "dict",
    }
}

/// A failed id as a verdict.
pub fn id_wrong(id: &Value, problem: String, port: u16) -> Verdict {
    Verdict::fail(format!("the client id is wrong: {problem}"))
        .expected(format!("{{'clientid': {port}}}"))
        .actual(pickle::repr(id))
        .because(
            code(HandshakeCode::ClientidWrong),
            "send pickle.dumps({'clientid': addr[1]}) right after accept()",
        )
}

/// A failed ack as a verdict.
pub fn ack_wrong(ack: &Value, problem: String) -> Verdict {
    Verdict::fail(problem)
        .expected("1")
        .actual(pickle::repr(ack))
        .because(
            code(HandshakeCode::AckWrong),
            "answer the student info with pickle.dumps(1)",
        )
}

/// An ack that never came, as a verdict.
pub fn no_ack(missing: &Missing, timeout: Duration) -> Verdict {
    let v = missing
        .verdict("no ack after the student info", timeout)
        .expected("1");
    match missing {
        Missing::Refused { .. } => v,
        Missing::NoReply(NoReply::Garbled { .. }) => v.because(
            code(HandshakeCode::AckWrong),
            "the ack is one pickle, pickle.dumps(1), sent with one send()",
        ),
        Missing::NoReply(_) => v.because(
            code(HandshakeCode::AckWrong),
            "the server never acknowledged the student info: the lab's client waits for pickle.dumps(1) and hangs without it",
        ),
    }
}

/// The whole handshake: the id, the info (cut at `cuts`, `pause` between the pieces), the
/// ack. The connection stays open for the caller.
pub struct Done {
    pub shake: Shake,
    pub id: Value,
    pub ack: Value,
}

/// Plays the lab's client through the ack, judging the id and the ack on the way.
pub fn handshake(
    ctx: &mut Ctx,
    info: &Info,
    cuts: &[usize],
    pause: Duration,
) -> Result<Done, Verdict> {
    let mut shake = Shake::open(ctx)?;
    let timeout = ctx.settings.timeout;
    let result = (|| {
        let id = shake
            .message(Instant::now() + timeout)
            .map_err(|m| m.verdict("no client id after accept()", timeout))?;
        if let Some(problem) = id_problem(&id, shake.port) {
            return Err(id_wrong(&id, problem, shake.port));
        }
        let _ = shake
            .conn
            .send_pieces(&info.pickle_as(shake.protocol), cuts, pause);
        let ack = shake
            .message(Instant::now() + timeout)
            .map_err(|m| no_ack(&m, timeout))?;
        if let Some(problem) = ack_problem(&ack) {
            return Err(ack_wrong(&ack, problem));
        }
        Ok((id, ack))
    })();
    ctx.delayed = shake.conn.delayed_by();
    match result {
        Ok((id, ack)) => Ok(Done { shake, id, ack }),
        Err(v) => {
            ctx.keep(shake.conn);
            Err(v)
        }
    }
}

/// The whole handshake with a fresh student info, sent whole.
pub fn fresh_handshake(ctx: &mut Ctx) -> Result<Done, Verdict> {
    let info = Info::fresh(ctx);
    handshake(ctx, &info, &[], Duration::ZERO)
}

/// Waits up to `wait` for a line of what the server printed after `mark` that `matches`.
/// None when srpc-check cannot see what the server prints (a remote server).
pub fn printed_line(
    ctx: &Ctx,
    mark: u64,
    wait: Duration,
    matches: impl Fn(&str) -> bool,
) -> Option<Result<String, String>> {
    let printed = ctx.settings.printed.as_ref()?;
    let deadline = Instant::now() + wait;
    loop {
        let text = printed.since(mark);
        if let Some(line) = text.lines().find(|l| matches(l)) {
            return Some(Ok(line.to_owned()));
        }
        if Instant::now() >= deadline {
            return Some(Err(text));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Where what the server prints now starts.
pub fn mark(ctx: &Ctx) -> u64 {
    ctx.settings.printed.as_ref().map_or(0, |p| p.total())
}

/// A well-formed handshake after a bad client: it must still be served.
pub fn still_serving(ctx: &mut Ctx) -> Verdict {
    use crate::protocol::Fresh;
    let timeout = ctx.settings.timeout;
    match (ctx.protocol.fresh)(ctx) {
        Fresh::Answered { .. } => Verdict::pass(),
        Fresh::NoReply(e) => Verdict::fail(format!(
            "the next client after this case was not served: {}",
            e.describe(timeout)
        ))
        .hint("the server accepts connections but no longer shakes hands: it is stuck, perhaps still waiting on the connection this case opened"),
        Fresh::Connect(e) => Verdict::fail(format!("the server no longer accepts connections ({e})"))
            .hint("the server exited on what this case sent; the lab asks it to catch the exception, print it, and go on to the next client"),
    }
}

/// The handshake the engine plays to tell whether the server is serving.
pub fn fresh(ctx: &mut Ctx) -> crate::protocol::Fresh {
    use crate::protocol::Fresh;
    let timeout = ctx.settings.timeout;
    let conn = match Conn::connect(ctx.settings.addr, timeout) {
        Ok(c) => c.watched(&ctx.settings.watch),
        Err(e) => return Fresh::Connect(e),
    };
    let info = Info::fresh(ctx);
    let mut shake = Shake::on(conn);
    let mut id_seen = false;
    let result = shake.message(Instant::now() + timeout).and_then(|id| {
        id_seen = true;
        let _ = shake.conn.send(&info.pickle_as(shake.protocol));
        shake
            .message(Instant::now() + timeout)
            .map(|ack| (id, ack))
    });
    let port = shake.port;
    ctx.keep(shake.conn);
    match result {
        // Anything that reads as a pickle shows a server that serves; what it says is the
        // cases' business.
        Ok((id, ack)) => Fresh::Answered {
            right: id_problem(&id, port).is_none() && ack_problem(&ack).is_none(),
            shown: format!("{} then {}", pickle::repr(&id), pickle::repr(&ack)),
        },
        // The id came, but no ack: the server serves (it shakes hands), wrongly.
        Err(Missing::NoReply(e)) if id_seen => Fresh::Answered {
            right: false,
            shown: format!("the client id, then no ack: {}", e.describe(timeout)),
        },
        Err(Missing::NoReply(e)) => Fresh::NoReply(e),
        Err(Missing::Refused { opcode }) => Fresh::Answered {
            right: false,
            shown: format!("a pickle with {opcode}, refused unread"),
        },
    }
}

/// Does a pickle dict with 'clientid' arrive unasked?
pub fn sniff(addr: std::net::SocketAddr, timeout: Duration, watch: &crate::observe::Watch) -> bool {
    let Ok(conn) = Conn::connect(addr, timeout) else {
        return false;
    };
    let mut shake = Shake::on(conn.watched(watch));
    shake
        .message(Instant::now() + timeout)
        .is_ok_and(|v| pickle::get(&v, "clientid").is_some())
}

/// The first connection to a server srpc-check did not start: one whole handshake.
pub fn greet(conn: &mut Conn, seed: u64) {
    let deadline = Instant::now() + conn.timeout();
    let mut at = 0;
    if read_message(conn, &mut at, deadline).is_ok() {
        let info = Info {
            name: "srpc-check".into(),
            github: format!("srpc-check-{seed:x}"),
            sid: 1,
        };
        let protocol = answer_protocol(&conn.transcript.received);
        let _ = conn.send(&info.pickle_as(protocol));
        let _ = read_message(conn, &mut at, deadline);
    }
}

/// What the server printed, for a verdict: its last lines.
pub fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    if tail.is_empty() {
        "nothing".into()
    } else {
        crate::words::clip(&tail.join("\n"), 600)
    }
}
