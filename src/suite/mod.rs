//! The conformance cases: an immutable registry of data plus a function each.
//!
//! Cases are grouped by what they test, one file per group, and run in group order with the
//! destructive groups last. Every case uses its own fresh keys, so cases do not disturb each
//! other or a server that others are using. The shared verifiers on [`Ctx`] keep each case to a
//! few lines and give every failure its expected value, actual value and likely cause.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::diagnose::Code;
use crate::model::{self, Compare};
use crate::net::conn::{Conn, ConnectError, Transcript};
use crate::net::reply::{self, Anomaly, NoReply, Reply};

mod concurrency;
mod fragment;
mod grading;
mod protocol;
mod robust;
mod state;

/// The groups, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Grading,
    Protocol,
    State,
    Fragment,
    Concurrency,
    Robust,
    /// An assignment's additions to a lab's protocol (lab 4's double and negate), apart so
    /// that a course that teaches the plain protocol can skip them.
    Assignment,
    /// The student's client, with srpc-check as the server (`srpc-check client`).
    Client,
}

impl Group {
    /// Every group, in run order.
    pub const ALL: [Group; 8] = [
        Group::Grading,
        Group::Protocol,
        Group::State,
        Group::Fragment,
        Group::Concurrency,
        Group::Robust,
        Group::Assignment,
        Group::Client,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Grading => "grading",
            Group::Protocol => "protocol",
            Group::State => "state",
            Group::Fragment => "fragment",
            Group::Concurrency => "concurrency",
            Group::Robust => "robust",
            Group::Assignment => "assignment",
            Group::Client => "client",
        }
    }
}

/// One conformance case.
pub struct Case {
    /// Stable identifier, `group/name`.
    pub id: &'static str,
    pub group: Group,
    /// One line: what the case does.
    pub description: &'static str,
    /// The requirement it checks, in the protocol's words.
    pub requirement: &'static str,
    pub run: fn(&mut Ctx) -> Verdict,
}

/// What is known of a case without running it, a server case or a client one: what rubrics,
/// `--only`/`--skip`, `list` and its outcome use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseKey {
    pub id: &'static str,
    pub group: Group,
    pub description: &'static str,
    pub requirement: &'static str,
}

impl Case {
    pub fn key(&self) -> CaseKey {
        CaseKey {
            id: self.id,
            group: self.group,
            description: self.description,
            requirement: self.requirement,
        }
    }
}

/// The keys of `cases`.
pub fn keys(cases: &[Case]) -> Vec<CaseKey> {
    cases.iter().map(Case::key).collect()
}

/// Every case, in run order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(grading::cases());
    cases.extend(protocol::cases());
    cases.extend(state::cases());
    cases.extend(fragment::cases());
    cases.extend(concurrency::cases());
    cases.extend(robust::cases());
    cases
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    NotRun,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::NotRun => "not_run",
        }
    }
}

/// What a case concluded.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: Status,
    pub message: String,
    /// The likely cause, in words a student understands.
    pub hint: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// The exchange that shows the problem (default: the case's last one). Boxed to keep
    /// `Result<_, Verdict>` small on the happy path.
    pub transcript: Option<Box<Transcript>>,
    /// The bug the case recognised, when it recognised one (the diagnosis may refine it).
    pub finding: Option<Code>,
    /// How this failure relates to others and to connections besides its transcript (rarely
    /// set; boxed like the transcript).
    pub related: Option<Box<Related>>,
}

/// What a verdict may say beyond its own exchange.
#[derive(Debug, Clone, Default)]
pub struct Related {
    /// This failure follows from the failure of that earlier case (the same bug).
    pub same_as: Option<&'static str>,
    /// A connection opened before the transcript's and held open through it (an idle or
    /// half-sent client): its bytes, so a reproducer opens it first.
    pub held: Option<Transcript>,
}

impl Verdict {
    pub fn pass() -> Verdict {
        Verdict::new(Status::Pass, String::new())
    }

    pub fn new(status: Status, message: impl Into<String>) -> Verdict {
        Verdict {
            status,
            message: message.into(),
            hint: None,
            expected: None,
            actual: None,
            transcript: None,
            finding: None,
            related: None,
        }
    }

    pub fn fail(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::Fail, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Verdict {
        self.hint = Some(hint.into());
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Verdict {
        self.expected = Some(expected.into());
        self
    }

    pub fn actual(mut self, actual: impl Into<String>) -> Verdict {
        self.actual = Some(actual.into());
        self
    }

    /// Names the bug this verdict shows.
    pub fn finding(mut self, code: Code) -> Verdict {
        self.finding = Some(code);
        self
    }

    /// This failure follows from `case`'s failure.
    pub fn same_as(mut self, case: &'static str) -> Verdict {
        self.related.get_or_insert_default().same_as = Some(case);
        self
    }

    /// A connection held open (with these bytes sent) through the transcript's exchange.
    pub fn held(mut self, held: Transcript) -> Verdict {
        self.related.get_or_insert_default().held = Some(held);
        self
    }

    /// A hint and the bug it names, together.
    pub fn because(self, code: Code, hint: impl Into<String>) -> Verdict {
        self.hint(hint).finding(code)
    }
}

/// Settings a run's cases share.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    /// Limit for each network operation.
    pub timeout: Duration,
    /// Pause between the pieces of a split request.
    pub split_pause: Duration,
    /// Accept ERROR as the reply to a GET of a missing key.
    pub allow_missing_error: bool,
    /// Seeds the random splits; printed so a run can be repeated.
    pub seed: u64,
    /// The server's processes, when srpc-check runs it: waits are judged by watching them.
    pub watch: crate::observe::Watch,
}

/// What a case runs with: the settings, fresh keys, and the exchanges it made.
pub struct Ctx {
    pub settings: Settings,
    /// The protocol the cases speak: its fresh request tells whether the server serves.
    pub protocol: &'static crate::protocol::Protocol,
    pub rng: fastrand::Rng,
    tag: String,
    case: &'static str,
    case_deadline: Instant,
    counter: u32,
    pub exchanges: Vec<Transcript>,
    /// A key written before the robust group (name, value, readable right after writing),
    /// checked at the group's end.
    pub sentinel: Option<(Value, Value, bool)>,
    /// The payload of the first well-formed request in this case that got no reply at all.
    pub silent: Option<Vec<u8>>,
    /// The payload of the first well-formed request in this case, sent whole, answered
    /// `{"status": "ERROR"}`.
    pub errored: Option<Vec<u8>>,
    /// The server's own timeout that the last exchange's reply waited for (see
    /// [`Conn::delayed_by`]).
    pub delayed: Option<Duration>,
    /// The cases after which srpc-check restarted the server (with `--exec`).
    pub restarts: Vec<&'static str>,
    /// `restarts.len()` when the sentinel was written.
    pub restarts_at_sentinel: usize,
}

/// What a fresh, well-formed request says about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// It answered, whatever it answered (even garbage, ERROR or a wrong header), or it
    /// accepted and closed the connection.
    Up,
    /// Refused or reset: nothing serves the address any more.
    Down(String),
    /// Accepted, but nothing came back within the timeout.
    Hung(String),
}

impl Ctx {
    pub fn new(settings: Settings, protocol: &'static crate::protocol::Protocol) -> Ctx {
        let tag = format!("{:x}", settings.seed & 0xffff_ffff);
        Ctx {
            protocol,
            rng: fastrand::Rng::with_seed(settings.seed),
            settings,
            tag,
            case: "",
            case_deadline: Instant::now(),
            counter: 0,
            exchanges: Vec::new(),
            sentinel: None,
            silent: None,
            errored: None,
            delayed: None,
            restarts: Vec::new(),
            restarts_at_sentinel: 0,
        }
    }

    /// Starts a case: fresh transcript, key names that say which case wrote them.
    pub fn begin(&mut self, case: &'static str) {
        self.case = case;
        self.case_deadline = Instant::now() + case_budget(self.settings.timeout);
        self.counter = 0;
        self.exchanges.clear();
        self.silent = None;
        self.errored = None;
        self.delayed = None;
    }

    /// A key no other case or run uses.
    pub fn key(&mut self) -> Value {
        self.counter += 1;
        let case = self.case.replace('/', "-");
        Value::String(format!("srpc-check-{}-{case}-{}", self.tag, self.counter))
    }

    /// When the current case must stop opening connections.
    pub fn case_deadline(&self) -> Instant {
        self.case_deadline
    }

    /// Opens a connection for the current case, unless the case has used up its time budget.
    pub fn connect(&mut self) -> Result<Conn, Verdict> {
        if Instant::now() > self.case_deadline {
            return Err(over_budget(self.settings.timeout));
        }
        Conn::connect(self.settings.addr, self.settings.timeout)
            .map(|c| c.watched(&self.settings.watch))
            .map_err(|e| {
                let v = Verdict::fail(format!("could not connect: {e}"));
                match e {
                    ConnectError::Refused => {
                        v.hint("nothing is listening any more: the server exited or crashed")
                    }
                    _ => v,
                }
            })
    }

    /// Keeps a finished connection's transcript for the report.
    pub fn keep(&mut self, conn: Conn) -> Transcript {
        self.exchanges.push(conn.transcript.clone());
        conn.transcript
    }

    /// Sends `payload` as one well-formed frame, in pieces cut at `cuts`, and reads the reply.
    /// The outer error is a failed connect; the inner one says how the reply failed.
    pub fn exchange(
        &mut self,
        payload: &[u8],
        cuts: &[usize],
        pause: Duration,
    ) -> Result<Result<Reply, NoReply>, Verdict> {
        let mut conn = self.connect()?;
        let result = reply::exchange(
            &mut conn,
            &crate::net::wire::request(payload),
            cuts,
            pause,
            false,
        );
        self.delayed = conn.delayed_by();
        self.keep(conn);
        Ok(result)
    }

    /// Like [`Ctx::exchange`], with a missing reply turned into a failure.
    pub fn call_split(
        &mut self,
        payload: &[u8],
        cuts: &[usize],
        pause: Duration,
    ) -> Result<Reply, Verdict> {
        let timeout = self.settings.timeout;
        let result = self.exchange(payload, cuts, pause)?;
        if let Ok(reply) = &result {
            // Sent whole: an ERROR to a split request says nothing about the byte order.
            if self.errored.is_none()
                && cuts.is_empty()
                && reply.status().as_deref() == Some("ERROR")
            {
                self.errored = Some(payload.to_vec());
            }
        }
        result.map_err(|e| {
            let v = no_reply_verdict(&e, timeout);
            if !matches!(e, NoReply::Silent(_)) {
                return v;
            }
            if self.silent.is_none() {
                self.silent = Some(payload.to_vec());
            }
            v.hint(big_endian_reading(payload))
        })
    }

    /// Sends `payload` as one well-formed frame in a single write, and reads the reply.
    pub fn call(&mut self, payload: &[u8]) -> Result<Reply, Verdict> {
        self.call_split(payload, &[], Duration::ZERO)
    }

    /// Calls and compares the reply's meaning with `expected`.
    pub fn expect(&mut self, payload: &[u8], expected: &Value) -> Verdict {
        match self.call(payload) {
            Ok(reply) => judge(expected, &reply.json),
            Err(v) => v,
        }
    }

    /// PUTs `val` under `name` and checks the reply, as setup for a later step.
    pub fn put(&mut self, name: &Value, val: &Value) -> Result<(), Verdict> {
        let v = self.expect(&model::put_request(name, val), &model::put_reply(name));
        match v.status {
            Status::Pass | Status::Warn => Ok(()),
            _ => Err(Verdict {
                message: format!("the PUT before the check failed: {}", v.message),
                ..v
            }),
        }
    }

    /// GETs `name` and checks that the reply carries `val`, explaining the usual state bugs.
    pub fn expect_stored(&mut self, name: &Value, val: &Value) -> Verdict {
        let expected = model::get_reply(name, val);
        let reply = match self.call(&model::get_request(name)) {
            Ok(r) => r,
            Err(v) => return v,
        };
        let verdict = judge(&expected, &reply.json);
        match stored_hint(val, &reply.json) {
            Some((code, h)) if verdict.status == Status::Fail => verdict.because(code, h),
            _ => verdict,
        }
    }

    /// Sends a fresh, well-formed PUT and tells from what comes back whether the server is up,
    /// down or hung.
    pub fn liveness(&mut self) -> Liveness {
        use crate::protocol::Fresh;
        match (self.protocol.fresh)(self) {
            Fresh::Connect(ConnectError::Timeout) => {
                Liveness::Hung("a new connection was not accepted in time".into())
            }
            Fresh::Connect(e) => {
                Liveness::Down(format!("the server no longer accepts connections ({e})"))
            }
            Fresh::Answered { .. }
            | Fresh::NoReply(NoReply::Garbled { .. } | NoReply::ClosedSilently) => Liveness::Up,
            Fresh::NoReply(NoReply::Reset) => {
                Liveness::Down("a well-formed request was reset".into())
            }
            Fresh::NoReply(NoReply::Silent(seen)) => Liveness::Hung(match seen {
                Some(why) => format!("a well-formed request got no reply: {why}"),
                None => format!(
                    "a well-formed request got no reply within {}",
                    humantime::format_duration(self.settings.timeout)
                ),
            }),
        }
    }

    /// A fresh, well-formed request answered right: the target is alive and serving.
    pub fn alive(&mut self) -> Result<(), Verdict> {
        use crate::protocol::Fresh;
        let timeout = self.settings.timeout;
        match (self.protocol.fresh)(self) {
            Fresh::Connect(e) => Err(Verdict::fail(format!("the server no longer accepts connections ({e})"))
                .hint("the server exited or crashed on the input this case sent; catch exceptions per connection (try/except around the handling of one client) so one bad client cannot stop the server")),
            Fresh::Answered { right: true, .. } => Ok(()),
            Fresh::Answered { shown, .. } => Err(Verdict::fail(format!("a well-formed request after this case was not answered right: {shown}"))),
            Fresh::NoReply(e) => Err(Verdict::fail(format!(
                "a well-formed request after this case got no reply: {}",
                e.describe(timeout)
            ))
            .hint("the server accepts connections but no longer answers: it is stuck, perhaps still waiting on the connection this case opened")),
        }
    }

    /// PUTs 1 under a fresh name on a new connection, keeping its transcript: what
    /// [`Ctx::liveness`] and [`Ctx::alive`] judge.
    pub(crate) fn fresh_put(&mut self) -> Result<Result<Reply, NoReply>, ConnectError> {
        let name = self.key();
        let mut conn =
            Conn::connect(self.settings.addr, self.settings.timeout)?.watched(&self.settings.watch);
        let request = crate::net::wire::request(&model::put_request(&name, &Value::from(1)));
        let result = reply::exchange(&mut conn, &request, &[], Duration::ZERO, false);
        self.keep(conn);
        Ok(result)
    }
}

/// A GET of a name no one stores: is the reply an srpc frame with a status?
pub fn sniff(addr: SocketAddr, timeout: Duration, watch: &crate::observe::Watch) -> bool {
    let Ok(conn) = Conn::connect(addr, timeout) else {
        return false;
    };
    let mut conn = conn.watched(watch);
    let name = Value::from(format!("srpc-check-sniff-{:x}", fastrand::u32(..)));
    let request = crate::net::wire::request(&model::get_request(&name));
    matches!(
        reply::exchange(&mut conn, &request, &[], Duration::ZERO, false),
        Ok(r) if r.status().is_some() && r.anomalies.is_empty()
    )
}

/// srpc's fresh request: a PUT of a fresh name, answered OK.
pub fn fresh_put(ctx: &mut Ctx) -> crate::protocol::Fresh {
    use crate::protocol::Fresh;
    match ctx.fresh_put() {
        Err(e) => Fresh::Connect(e),
        Ok(Err(e)) => Fresh::NoReply(e),
        Ok(Ok(r)) => Fresh::Answered {
            right: r.status().as_deref() == Some("OK"),
            shown: format!("not answered OK: {}", r.json),
        },
    }
}

/// Why a GET of a stored name came back with `got` instead of `val`, for the usual state bugs.
pub fn stored_hint(val: &Value, got: &Value) -> Option<(Code, &'static str)> {
    let numbers = |a: &Value, b: &Value| {
        a.is_number() && b.is_number()
            || a.as_array().zip(b.as_array()).is_some_and(|(a, b)| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_number() && y.is_number())
            })
    };
    match got.pointer("/response/response/val") {
        Some(g) if numbers(val, g) => Some((
            Code::NumbersChanged,
            "a number came back as a different number: is it converted (int(), float(), round()) on the way in or out?",
        )),
        Some(Value::Null) => Some((
            Code::StoreNotKept,
            "the value is gone: a GET on a new connection does not see the PUT. Is the dictionary created inside the code that handles one connection, instead of once for the whole server?",
        )),
        Some(Value::String(s)) if !val.is_string() && !s.is_empty() => Some((
            Code::ValueStringified,
            "the value came back as a string: does your server store str(val) or json.dumps(val) instead of the value itself?",
        )),
        Some(Value::Object(got)) if val.is_object() && got.len() > val.as_object().map_or(0, |o| o.len()) => Some((
            Code::PutMerges,
            "the GET returned more keys than the last PUT stored: PUT seems to merge into the old value (dict.update?) instead of replacing it",
        )),
        Some(_) => Some((Code::ValueChanged, "the value came back changed")),
        None => None,
    }
}

/// How long one case may run: four operation timeouts, and never less than two seconds (the
/// fragment cases pause on purpose). Together with the per-operation timeout this bounds a run.
pub fn case_budget(timeout: Duration) -> Duration {
    (timeout * 4).max(Duration::from_secs(2))
}

pub fn over_budget(timeout: Duration) -> Verdict {
    Verdict::fail(format!(
        "the case ran out of its time budget ({})",
        humantime::format_duration(case_budget(timeout))
    ))
    .because(Code::TooSlow, "the server answers, but so slowly that the case could not finish: each request took a large part of --timeout")
}

/// Compares a reply's meaning with what was expected.
pub fn judge(expected: &Value, actual: &Value) -> Verdict {
    let v = match model::compare(expected, actual) {
        Compare::Equal => return Verdict::pass(),
        Compare::TypeChanged(why) => Verdict::new(Status::Warn, format!("equal under Python's ==, but a type changed: {why}"))
            .because(Code::NumberTypeChanged, "the value is stored or re-encoded with a different type (for example an integer turned into a float); the lab's grader compares with == and accepts it"),
        Compare::Different(why) => Verdict::fail(model::difference(expected, actual, why)),
    };
    v.expected(expected.to_string()).actual(actual.to_string())
}

/// Turns a missing reply into a failure with the usual causes.
pub fn no_reply_verdict(e: &NoReply, timeout: Duration) -> Verdict {
    let v = Verdict::fail(e.describe(timeout));
    match e {
        NoReply::ClosedSilently | NoReply::Reset => {
            v.hint("the server closed the connection without answering: it probably raised an exception while handling this request")
        }
        NoReply::Silent(_) => v.hint("the server is still waiting for something: it may be reading more bytes than the request has, or serving another connection"),
        NoReply::Garbled { .. } => v,
    }
}

/// What a server that reads the request header as big-endian makes of the one just sent.
pub fn big_endian_reading(payload: &[u8]) -> String {
    let frame = crate::net::wire::request(payload);
    let header = crate::net::wire::Header::parse_be(frame[..8].try_into().expect("8 bytes"));
    let be = header.length;
    format!(
        "read as big-endian ('>ii' or '!II'), our header declares {be} bytes, and a server that reads it that way waits for them; the header is struct.pack(\"ii\", ...): little-endian"
    )
}

/// Fails when the reply shows one of `kinds` of anomaly (checked by the protocol group only).
pub fn no_anomaly(reply: &Reply, kinds: fn(&Anomaly) -> bool) -> Verdict {
    match reply.anomalies.iter().find(|a| kinds(a)) {
        None => Verdict::pass(),
        Some(a) => {
            let (what, why) = a.explain();
            Verdict::fail(what).because(anomaly_code(a), why)
        }
    }
}

/// The bug behind an anomaly in a reply's form.
pub fn anomaly_code(a: &Anomaly) -> Code {
    match a {
        Anomaly::BigEndianHeader => Code::ReplyBigEndian,
        Anomaly::NoHeader => Code::ReplyNoHeader,
        Anomaly::Version(_) => Code::ReplyVersion,
        Anomaly::LengthTooShort {
            declared,
            chars,
            actual,
        } if declared == chars && chars != actual => Code::ReplyLengthCountsChars,
        Anomaly::LengthTooLong { .. } | Anomaly::LengthTooShort { .. } => Code::ReplyLengthWrong,
        Anomaly::DoubleEncoded => Code::ReplyDoubleEncoded,
        Anomaly::StatusCase(_) => Code::StatusSpelling,
    }
}
