//! The conformance cases: an immutable registry of data plus a function each.
//!
//! Cases are grouped by what they test, one file per group, and run in group order with the
//! destructive groups last. Every case uses its own fresh keys, so cases do not disturb each
//! other or a server that others are using. The shared verifiers on [`Ctx`] keep each case to a
//! few lines and give every failure its expected value, actual value and likely cause.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::codes::Code;
use crate::net::conn::{Conn, ConnectError, Transcript};
use crate::net::reply::NoReply;

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
    /// What the server prints, when srpc-check runs it (or runs the reference server): for the
    /// cases that check a line the lab asks it to print. None for a remote server.
    pub printed: Option<crate::server::output::Output>,
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
