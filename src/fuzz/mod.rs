//! `srpc-check fuzz`: random sessions against any server, checked against the protocol's model
//! (`crate::protocol::srpc::fuzz`, ...), and shrunk to a minimal failing session when something
//! is wrong.
//!
//! Every execution of a session, first run or shrinking candidate, uses key names no earlier
//! execution used, so nothing an earlier attempt stored can leak into a later one. Generation is
//! deterministic in the seed, so `--seed N` finds and shrinks the same failure again.

pub mod session;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::net::conn::Transcript;
use crate::server::Control;
pub use session::{Session, Step};

/// What a protocol brings to the fuzzer: its operations, how one session of them runs against
/// a target (checked against its model), and how it tells a target is still serving.
pub trait Model: 'static {
    /// One step's operation, as saved sessions spell it.
    type Op: Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync;
    /// Every state a run should reach.
    const STATES: &'static [&'static str];
    /// The operations, weighted.
    fn op() -> BoxedStrategy<Self::Op>;
    /// One line for a person.
    fn describe(op: &Self::Op) -> String;
    /// Runs `session` once against the target under run number `run` (which makes the names it
    /// uses its own), and checks every reply.
    fn execute(client: &Client, session: &Session<Self::Op>, run: u64) -> Execution;
    /// A fresh, well-formed request answered right (under run number `run`).
    fn alive(client: &Client, run: u64) -> bool;
}

/// Runs the fuzzer (see [`run`]).
pub type RunFn = fn(&FuzzOptions, Option<&mut dyn Control>, &mut dyn FnMut(u64, u64)) -> FuzzReport;
/// Runs a saved session (as JSON), or says why it is not one of this protocol's.
pub type ReplayFn =
    fn(&FuzzOptions, Option<&mut dyn Control>, &serde_json::Value) -> Result<FuzzReport, String>;

/// `srpc-check fuzz` for one protocol (see [`run`] and [`replay`]).
pub struct Fuzzer {
    pub run: RunFn,
    pub replay: ReplayFn,
}

impl Fuzzer {
    /// The fuzzer of `M`.
    pub const fn of<M: Model>() -> Fuzzer {
        Fuzzer {
            run: run::<M>,
            replay: replay_value::<M>,
        }
    }
}

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

impl Failure {
    /// Step `step` failed for `message` (nothing more known yet).
    pub fn at(step: usize, message: String) -> Failure {
        Failure {
            step,
            message,
            expected: None,
            actual: None,
            target_down: false,
            server: None,
        }
    }
}

/// The result of executing a session once.
#[derive(Default)]
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
    pub addr: SocketAddr,
    pub timeout: Duration,
    /// Makes this process's names its own (fixed width, like the run number).
    pub tag: String,
}

/// Executes sessions with fresh key names each time.
pub struct Executor<'c, M: Model> {
    model: std::marker::PhantomData<M>,
    client: Client,
    executions: u64,
    /// The server's process, when srpc-check runs it: a crash is then restarted, so that
    /// shrinking can go on.
    control: Option<&'c mut dyn Control>,
}

impl<'c, M: Model> Executor<'c, M> {
    pub fn new(
        addr: SocketAddr,
        timeout: Duration,
        seed: u64,
        control: Option<&'c mut dyn Control>,
    ) -> Executor<'c, M> {
        Executor {
            model: std::marker::PhantomData,
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
        M::alive(&self.client, self.executions)
    }

    /// Can a target that went down be started again?
    pub fn can_restart(&self) -> bool {
        self.control.is_some()
    }

    /// Runs `session` once and, if it failed, finds out whether the target survived it. With
    /// --exec, a server that exited or hung is recorded on the failure and started again.
    pub fn execute_checked(&mut self, session: &Session<M::Op>) -> Execution {
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
    pub fn execute(&mut self, session: &Session<M::Op>) -> Execution {
        self.executions += 1;
        M::execute(&self.client, session, self.executions)
    }
}

/// A finding: the minimal failing session and how to replay it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The session number (from 1) that first failed.
    pub case: u64,
    pub failure: Failure,
    pub original_steps: usize,
    /// The minimal session, as `--replay` reads it.
    pub minimal: serde_json::Value,
    /// Its steps, in words.
    #[serde(skip)]
    pub minimal_steps: Vec<String>,
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
    fn finish(&mut self, cases: u64, started: Instant, states: &[&'static str]) {
        self.cases = cases;
        self.duration_s = started.elapsed().as_secs_f64();
        self.cases_per_sec = cases as f64 / self.duration_s.max(1e-9);
        self.unreached = states
            .iter()
            .copied()
            .filter(|s| !self.states.contains_key(s))
            .collect();
    }
}

fn runner_for(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// Runs the fuzzer. `progress` is told (cases done, failures so far) after every case.
pub fn run<M: Model>(
    opts: &FuzzOptions,
    control: Option<&mut dyn Control>,
    progress: &mut dyn FnMut(u64, u64),
) -> FuzzReport {
    let started = Instant::now();
    let deadline = opts.duration.map(|d| started + d);
    let mut runner = runner_for(opts.seed);
    let strategy = session::session(M::op());
    let mut exec = Executor::<M>::new(opts.addr, opts.timeout, opts.seed, control);
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
        let sessions: Vec<Session<M::Op>> = trees.iter().map(|t| t.current()).collect();
        let results = if workers > 1 {
            let first = exec.reserve(n);
            run_parallel::<M>(&exec.client, &sessions, first, workers)
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
                    minimal_steps: describe::<M>(&minimal),
                    minimal: serde_json::to_value(&minimal).expect("sessions serialise"),
                    shrunk,
                    shrink_steps: steps,
                });
                progress(case, 1);
                break 'batches;
            }
            progress(case, 0);
        }
    }
    report.finish(case, started, M::STATES);
    report
}

/// A session's steps in words, with their splits.
fn describe<M: Model>(session: &Session<M::Op>) -> Vec<String> {
    session
        .steps
        .iter()
        .map(|step| {
            let mut line = M::describe(&step.op);
            if !step.cuts.is_empty() {
                line.push_str(&format!(
                    "   [sent in pieces cut at {:?}, {} ms apart]",
                    step.cuts, step.pause_ms
                ));
            }
            line
        })
        .collect()
}

/// Sessions run side by side against the builtin server.
pub const PARALLEL_SESSIONS: usize = 8;
/// Sessions generated (in seed order) and run as one batch.
const BATCH: u64 = 64;

/// Runs `sessions` on `workers` threads, run numbers from `first`. Sessions are handed out in
/// order; once one fails, later ones are not started (their result is None). Every session
/// before a failing one has run.
fn run_parallel<M: Model>(
    client: &Client,
    sessions: &[Session<M::Op>],
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
                let run = M::execute(client, &sessions[i], first + i as u64);
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

/// Runs a saved session (as JSON), or says why it is not one of `M`'s.
fn replay_value<M: Model>(
    opts: &FuzzOptions,
    control: Option<&mut dyn Control>,
    session: &serde_json::Value,
) -> Result<FuzzReport, String> {
    let session: Session<M::Op> =
        serde_json::from_value(session.clone()).map_err(|e| e.to_string())?;
    Ok(replay::<M>(opts, control, &session))
}

/// Runs one saved session once (fresh keys), as `--replay` does.
pub fn replay<M: Model>(
    opts: &FuzzOptions,
    control: Option<&mut dyn Control>,
    session: &Session<M::Op>,
) -> FuzzReport {
    let started = Instant::now();
    let mut exec = Executor::<M>::new(opts.addr, opts.timeout, opts.seed, control);
    let mut report = FuzzReport::new(opts);
    let run = exec.execute_checked(session);
    record(&mut report, &run);
    if let Some(failure) = run.failure {
        report.finding = Some(Finding {
            case: 1,
            failure,
            original_steps: session.steps.len(),
            minimal_steps: describe::<M>(session),
            minimal: serde_json::to_value(session).expect("sessions serialise"),
            shrunk: false,
            shrink_steps: 0,
            replay_command: String::new(),
            reproducer: crate::report::session_reproducer(&run.transcripts, opts.addr),
        });
    }
    report.finish(1, started, M::STATES);
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
fn execute_candidate<M: Model>(exec: &mut Executor<M>, candidate: &Session<M::Op>) -> Execution {
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

type Shrunk<Op> = (Session<Op>, Failure, Vec<Transcript>, bool, usize);

/// Proptest's shrinking, driven by hand so that every candidate is a fresh execution.
///
/// A server that is down cannot run candidates, so a crash is reported as the steps up to the
/// one after which the server stopped answering. If a candidate crashes the server during
/// shrinking, that candidate is the trigger and shrinking stops there.
fn shrink<M: Model>(
    exec: &mut Executor<M>,
    tree: &mut impl ValueTree<Value = Session<M::Op>>,
    failure: Failure,
    transcripts: Vec<Transcript>,
) -> Shrunk<M::Op> {
    let truncated = |mut s: Session<M::Op>, f: &Failure| {
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
