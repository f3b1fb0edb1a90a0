//! `srpc-check fuzz`: random sessions against any server, checked against a model of the store,
//! and shrunk to a minimal failing session when something is wrong.
//!
//! Every execution of a session, first run or shrinking candidate, uses key names no earlier
//! execution used, so nothing an earlier attempt stored can leak into a later one. Generation is
//! deterministic in the seed, so `--seed N` finds and shrinks the same failure again.

pub mod session;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;
use serde_json::Value;

use crate::net::conn::{Conn, ConnectError, Transcript};
use crate::protocol::srpc::codec;
use crate::protocol::srpc::oracle::{self, Compare};
use crate::protocol::srpc::reply::{self, NoReply};
use crate::server::Control;
use session::{Op, Session};

/// Most shrinking steps tried after a failure.
const MAX_SHRINK_STEPS: usize = 2000;

#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub addr: SocketAddr,
    pub target: String,
    /// How to name the same target again on a command line (`--target X` or `--exec 'C'`).
    pub target_flag: String,
    pub seed: u64,
    /// Stop after this many sessions...
    pub cases: u64,
    /// ...or after this long, whichever comes first.
    pub duration: Option<Duration>,
    pub timeout: Duration,
    /// Sessions run side by side. More than one only where no session can take the server
    /// down for the others (the builtin server): a crash amid parallel sessions could not be
    /// pinned on the one that caused it.
    pub parallel: usize,
}

/// How a reply was classified, for coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyClass {
    Ok,
    Error,
    Malformed,
    Closed,
    Timeout,
}

/// What went wrong in one step of a session.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Index of the failing step.
    pub step: usize,
    pub message: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// The target stopped accepting connections.
    pub target_down: bool,
    /// With --exec: how the server exited or hung (then it was restarted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<crate::server::ServerEvent>,
}

/// The result of executing a session once.
pub struct Execution {
    pub failure: Option<Failure>,
    pub transcripts: Vec<Transcript>,
    pub classes: Vec<(&'static str, ReplyClass)>,
    pub states: Vec<&'static str>,
}

/// What runs one session against the target: its address, limits and the tag that makes key
/// names unique. Shared by the threads that run independent sessions side by side.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
    tag: String,
}

/// Executes sessions with fresh key names each time.
pub struct Executor<'c> {
    client: Client,
    executions: u64,
    /// The server's process, when srpc-check runs it: a crash is then restarted, so that
    /// shrinking can go on.
    control: Option<&'c mut dyn Control>,
}

impl<'c> Executor<'c> {
    pub fn new(
        addr: SocketAddr,
        timeout: Duration,
        seed: u64,
        control: Option<&'c mut dyn Control>,
    ) -> Executor<'c> {
        Executor {
            control,
            client: Client {
                addr,
                timeout,
                // Fixed width, like the run number: requests must have the same length in every
                // process for a seed to replay exactly (a cut offset past the end of one
                // request would fall inside a longer one).
                tag: format!("{:08x}{:08x}", seed & 0xffff_ffff, std::process::id()),
            },
            executions: 0,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.client.addr
    }

    /// Run numbers for `n` sessions run elsewhere (by [`Client::execute`]), never reused.
    pub fn reserve(&mut self, n: u64) -> u64 {
        let first = self.executions + 1;
        self.executions += n;
        first
    }

    /// A fresh, well-formed PUT answered OK: the target is still serving.
    pub fn alive(&mut self) -> bool {
        self.executions += 1;
        self.client.alive(self.executions)
    }

    /// Can a target that went down be started again?
    pub fn can_restart(&self) -> bool {
        self.control.is_some()
    }

    /// Runs `session` once and, if it failed, finds out whether the target survived it. With
    /// --exec, a server that exited or hung is recorded on the failure and started again.
    pub fn execute_checked(&mut self, session: &Session) -> Execution {
        let mut run = self.execute(session);
        if let Some(f) = &mut run.failure {
            if !f.target_down && !self.alive() {
                f.target_down = true;
            }
            if let (true, Some(c)) = (f.target_down, self.control.as_deref_mut()) {
                let mut event = c.exited_or_kill(crate::server::EXIT_WAIT);
                if let Ok(addr) = c.restart() {
                    self.client.addr = addr;
                    event.restarted = true;
                }
                f.server = Some(event);
            }
        }
        run
    }

    /// Runs `session` once against the target and checks every reply against the model.
    pub fn execute(&mut self, session: &Session) -> Execution {
        self.executions += 1;
        self.client.execute(session, self.executions)
    }
}

impl Client {
    fn exchange(
        &self,
        bytes: &[u8],
        cuts: &[u16],
        pause: Duration,
        half_close: bool,
    ) -> Result<(Result<reply::Reply, NoReply>, Transcript), ConnectError> {
        let mut conn = Conn::connect(self.addr, self.timeout)?;
        // A local server is seen reading each piece, so no time is spent sleeping.
        conn.skip_pause_when_read = true;
        let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c)).collect();
        let result = reply::exchange(&mut conn, bytes, &cuts, pause, half_close);
        Ok((result, conn.transcript))
    }

    /// A fresh, well-formed PUT answered OK (under run number `run`).
    fn alive(&self, run: u64) -> bool {
        let name = Value::String(format!("fz-{}-{run:010}-alive", self.tag));
        let check = codec::request(&oracle::put_request(&name, &Value::from(1)));
        matches!(self.exchange(&check, &[], Duration::ZERO, false), Ok((Ok(r), _)) if r.status().as_deref() == Some("OK"))
    }

    /// Runs `session` once against the target under run number `run` (which names its keys),
    /// and checks every reply against the model.
    pub fn execute(&self, session: &Session, run: u64) -> Execution {
        let name = |key: u8| Value::String(format!("fz-{}-{run:010}-k{key}", self.tag));
        let mut model: HashMap<u8, Value> = HashMap::new();
        let mut out = Execution {
            failure: None,
            transcripts: Vec::new(),
            classes: Vec::new(),
            states: Vec::new(),
        };
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
            let fail = |message: String| Failure {
                step: i,
                message,
                expected: None,
                actual: None,
                target_down: false,
                server: None,
            };
            let (result, transcript) = match self.exchange(&request, &step.cuts, pause, half_close)
            {
                Ok(pair) => pair,
                Err(e) => {
                    out.failure = Some(Failure {
                        target_down: e == ConnectError::Refused,
                        server: None,
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
                (Some(_), Err(e)) => Some(fail(e.describe(self.timeout))),
                (None, Ok(r)) if r.status().as_deref() == Some("OK") => Some(fail(format!(
                    "a malformed frame was answered OK: {}",
                    r.json
                ))),
                (None, Ok(_)) | (None, Err(NoReply::ClosedSilently | NoReply::Reset)) => None,
                (None, Err(e)) => Some(fail(format!(
                    "after a malformed frame and end of stream: {}",
                    e.describe(self.timeout)
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
                let live = Value::String(format!("fz-{}-{run:010}-live{i}", self.tag));
                let check = codec::request(&oracle::put_request(&live, &Value::from(1)));
                match self.exchange(&check, &[], Duration::ZERO, false) {
                    Err(e) => {
                        out.failure = Some(Failure {
                            target_down: e == ConnectError::Refused,
                        server: None,
                            ..fail(format!("after this malformed frame the server no longer accepts connections ({e})"))
                        });
                        return out;
                    }
                    Ok((Ok(r), _)) if r.status().as_deref() == Some("OK") => {}
                    Ok((other, t)) => {
                        out.transcripts.push(t);
                        let got = match other {
                            Ok(r) => r.json.to_string(),
                            Err(e) => e.describe(self.timeout),
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

/// A finding: the minimal failing session and how to replay it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The session number (from 1) that first failed.
    pub case: u64,
    pub failure: Failure,
    pub original_steps: usize,
    pub minimal: Session,
    /// False when the target went down and candidates could not be run.
    pub shrunk: bool,
    pub shrink_steps: usize,
    pub replay_command: String,
    pub reproducer: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FuzzReport {
    pub tool: &'static str,
    pub version: &'static str,
    pub target: String,
    pub seed: u64,
    pub cases: u64,
    pub duration_s: f64,
    pub cases_per_sec: f64,
    pub finding: Option<Finding>,
    /// Replies per operation kind and class.
    pub coverage: BTreeMap<&'static str, BTreeMap<ReplyClass, u64>>,
    /// How often each state of the store was exercised.
    pub states: BTreeMap<&'static str, u64>,
    /// States no session reached.
    pub unreached: Vec<&'static str>,
}

impl FuzzReport {
    fn new(opts: &FuzzOptions) -> FuzzReport {
        FuzzReport {
            tool: "srpc-check",
            version: env!("CARGO_PKG_VERSION"),
            target: opts.target.clone(),
            seed: opts.seed,
            ..FuzzReport::default()
        }
    }

    /// Records how many sessions ran in how long, and which states none of them reached.
    fn finish(&mut self, cases: u64, started: Instant) {
        self.cases = cases;
        self.duration_s = started.elapsed().as_secs_f64();
        self.cases_per_sec = cases as f64 / self.duration_s.max(1e-9);
        self.unreached = STATES
            .iter()
            .copied()
            .filter(|s| !self.states.contains_key(s))
            .collect();
    }
}

/// Every state a run should reach.
pub const STATES: &[&str] = &[
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

fn runner_for(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// Runs the fuzzer. `progress` is told (cases done, failures so far) after every case.
pub fn run(
    opts: &FuzzOptions,
    control: Option<&mut dyn Control>,
    progress: &mut dyn FnMut(u64, u64),
) -> FuzzReport {
    let started = Instant::now();
    let deadline = opts.duration.map(|d| started + d);
    let mut runner = runner_for(opts.seed);
    let strategy = session::session();
    let mut exec = Executor::new(opts.addr, opts.timeout, opts.seed, control);
    let mut report = FuzzReport::new(opts);
    let mut case = 0;
    // Sessions use keys of their own, so independent ones can run side by side. Not with
    // --exec: a crash there is restarted, which needs one session at a time.
    let workers = if exec.can_restart() {
        1
    } else {
        opts.parallel.max(1)
    };
    'batches: while case < opts.cases && deadline.is_none_or(|d| Instant::now() < d) {
        let n = (opts.cases - case).min(if workers > 1 { BATCH } else { 1 });
        let mut trees: Vec<_> = (0..n)
            .map(|_| {
                strategy
                    .new_tree(&mut runner)
                    .expect("the session strategy always generates")
            })
            .collect();
        let sessions: Vec<Session> = trees.iter().map(|t| t.current()).collect();
        let results = if workers > 1 {
            let first = exec.reserve(n);
            run_parallel(&exec.client, &sessions, first, workers)
        } else {
            vec![Some(exec.execute_checked(&sessions[0]))]
        };
        for (i, result) in results.into_iter().enumerate() {
            // Sessions after a failing one are not needed (and may not have run).
            let Some(mut result) = result else { break };
            case += 1;
            if result.failure.is_some() && workers > 1 {
                // Confirmed alone, so that the finding does not depend on what ran beside it.
                result = exec.execute_checked(&sessions[i]);
            }
            record(&mut report, &result);
            if let Some(failure) = result.failure {
                let tree = &mut trees[i];
                let original_steps = tree.current().steps.len();
                let (minimal, failure, transcripts, shrunk, steps) =
                    shrink(&mut exec, tree, failure, result.transcripts);
                report.finding = Some(Finding {
                    case,
                    failure,
                    original_steps,
                    replay_command: format!(
                        "srpc-check fuzz {} --seed {} --cases {case}",
                        opts.target_flag, opts.seed
                    ),
                    reproducer: crate::report::session_reproducer(&transcripts, exec.addr()),
                    minimal,
                    shrunk,
                    shrink_steps: steps,
                });
                progress(case, 1);
                break 'batches;
            }
            progress(case, 0);
        }
    }
    report.finish(case, started);
    report
}

/// Sessions run side by side against the builtin server.
pub const PARALLEL_SESSIONS: usize = 8;
/// Sessions generated (in seed order) and run as one batch.
const BATCH: u64 = 64;

/// Runs `sessions` on `workers` threads, run numbers from `first`. Sessions are handed out in
/// order; once one fails, later ones are not started (their result is None). Every session
/// before a failing one has run.
fn run_parallel(
    client: &Client,
    sessions: &[Session],
    first: u64,
    workers: usize,
) -> Vec<Option<Execution>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let failed_at = AtomicUsize::new(usize::MAX);
    let results: Vec<Mutex<Option<Execution>>> =
        sessions.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers.min(sessions.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= sessions.len() || i > failed_at.load(Ordering::SeqCst) {
                    break;
                }
                let run = client.execute(&sessions[i], first + i as u64);
                if run.failure.is_some() {
                    failed_at.fetch_min(i, Ordering::SeqCst);
                }
                *results[i].lock().expect("no panics while held") = Some(run);
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().expect("no panics while held"))
        .collect()
}

/// Runs one saved session once (fresh keys), as `--replay` does.
pub fn replay(
    opts: &FuzzOptions,
    control: Option<&mut dyn Control>,
    session: &Session,
) -> FuzzReport {
    let started = Instant::now();
    let mut exec = Executor::new(opts.addr, opts.timeout, opts.seed, control);
    let mut report = FuzzReport::new(opts);
    let run = exec.execute_checked(session);
    record(&mut report, &run);
    if let Some(failure) = run.failure {
        report.finding = Some(Finding {
            case: 1,
            failure,
            original_steps: session.steps.len(),
            minimal: session.clone(),
            shrunk: false,
            shrink_steps: 0,
            replay_command: String::new(),
            reproducer: crate::report::session_reproducer(&run.transcripts, opts.addr),
        });
    }
    report.finish(1, started);
    report
}

fn record(report: &mut FuzzReport, run: &Execution) {
    for (kind, class) in &run.classes {
        *report
            .coverage
            .entry(kind)
            .or_default()
            .entry(*class)
            .or_default() += 1;
    }
    for s in &run.states {
        *report.states.entry(s).or_default() += 1;
    }
}

/// Runs a shrinking candidate. A split request only shows a bug when the server reads between
/// its pieces, and a busy machine can deliver them together: a pass can be luck, a failure
/// cannot. So a passing candidate with splits is run twice more before its pass is believed.
fn execute_candidate(exec: &mut Executor, candidate: &Session) -> Execution {
    let has_splits = candidate.steps.iter().any(|s| !s.cuts.is_empty());
    let mut run = exec.execute_checked(candidate);
    for _ in 0..2 {
        if run.failure.is_some() || !has_splits {
            break;
        }
        run = exec.execute_checked(candidate);
    }
    run
}

type Shrunk = (Session, Failure, Vec<Transcript>, bool, usize);

/// Proptest's shrinking, driven by hand so that every candidate is a fresh execution.
///
/// A server that is down cannot run candidates, so a crash is reported as the steps up to the
/// one after which the server stopped answering. If a candidate crashes the server during
/// shrinking, that candidate is the trigger and shrinking stops there.
fn shrink(
    exec: &mut Executor,
    tree: &mut impl ValueTree<Value = Session>,
    failure: Failure,
    transcripts: Vec<Transcript>,
) -> Shrunk {
    let truncated = |mut s: Session, f: &Failure| {
        s.steps.truncate(f.step + 1);
        s
    };
    if failure.target_down && !exec.can_restart() {
        return (
            truncated(tree.current(), &failure),
            failure,
            transcripts,
            false,
            0,
        );
    }
    let mut best = (tree.current(), failure, transcripts);
    let mut steps = 0;
    let mut failing = true;
    while steps < MAX_SHRINK_STEPS {
        let moved = if failing {
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !moved {
            break;
        }
        steps += 1;
        let candidate = tree.current();
        let run = execute_candidate(exec, &candidate);
        match run.failure {
            Some(f) if f.target_down && !exec.can_restart() => {
                let trigger = truncated(candidate, &f);
                return (trigger, f, run.transcripts, true, steps);
            }
            Some(f) => {
                best = (candidate, f, run.transcripts);
                failing = true;
            }
            None => failing = false,
        }
    }
    (best.0, best.1, best.2, true, steps)
}
