//! Runs the selected cases in order and collects their outcomes for the reporters.
//!
//! After a case, a fresh well-formed request tells whether the server is up (it answered
//! anything at all), down (refused or reset) or hung (no answer). Without `--exec` this check
//! follows every case that did not pass; once the server is down or hung, the remaining cases
//! are `not_run`, naming the case after which it went. A server that is up but answers wrongly
//! keeps being tested, and each case fails on its own terms.
//!
//! With `--exec` the check follows every case, together with the process's own state. A server
//! that exited or hung is recorded on that case (exit status, its output, the likely cause from
//! its traceback), stopped and started again, so no case goes untested because of an earlier
//! one. A server that answers no well-formed request even right after a restart cannot be
//! tested further: the remaining cases fail at once, naming the case that showed it. That
//! bounds a run against a server that hangs on every request.

use std::time::{Duration, Instant};

use crate::codes::Code;
use crate::net::conn::Transcript;
pub use crate::server::StartFailure;
use crate::server::{Control, EventKind, ServerEvent, EXIT_WAIT};
use crate::suite::{Case, CaseKey, Ctx, Group, Liveness, Settings, Status, Verdict};

/// A case's result, as reporters see it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: &'static str,
    pub group: Group,
    pub description: &'static str,
    pub requirement: &'static str,
    pub status: Status,
    pub duration: Duration,
    pub message: String,
    pub hint: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub transcript: Option<Transcript>,
    /// What happened to the server during or right after this case (with `--exec`).
    pub server: Option<ServerEvent>,
    /// The bug the case itself recognised (the diagnosis may refine it).
    pub finding: Option<Code>,
    /// This failure follows from that earlier case's failure.
    pub same_as: Option<&'static str>,
    /// A connection held open through `transcript` (idle or half-sent client).
    pub held: Option<Transcript>,
    /// Without `--exec`: the target went down (`Exited`: refused or reset) or hung after
    /// this case.
    pub went_down: Option<EventKind>,
}

impl Outcome {
    /// A case's outcome from its verdict, with what happened to the program under test.
    pub fn of(
        case: CaseKey,
        v: Verdict,
        duration: Duration,
        server: Option<ServerEvent>,
        went_down: Option<EventKind>,
    ) -> Outcome {
        let (same_as, held) = match v.related {
            Some(r) => (r.same_as, r.held),
            None => (None, None),
        };
        Outcome {
            id: case.id,
            group: case.group,
            description: case.description,
            requirement: case.requirement,
            status: v.status,
            duration,
            message: v.message,
            hint: v.hint,
            expected: v.expected,
            actual: v.actual,
            transcript: v.transcript.map(|t| *t),
            server,
            finding: v.finding,
            same_as,
            held,
            went_down,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub not_run: usize,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub target: String,
    pub addr: std::net::SocketAddr,
    pub seed: u64,
    pub outcomes: Vec<Outcome>,
    /// The case after which the target stopped answering (without `--exec`).
    pub down_after: Option<&'static str>,
    /// The case that showed the server answers no well-formed request, even fresh.
    pub answers_none_after: Option<&'static str>,
    /// The first case the plan's deadline kept from running.
    pub out_of_time_before: Option<&'static str>,
    /// How often the server was restarted (with `--exec`).
    pub restarts: u32,
    /// What a request with a big-endian header showed, when a well-formed one got no reply
    /// or was answered ERROR.
    pub probe: Option<Probe>,
    /// Cases left out by --only/--skip.
    pub left_out: usize,
    pub duration: Duration,
    /// Why the server never started, when it did not (then no case ran).
    pub start_failure: Option<StartFailure>,
    /// Waits were judged by watching the server's processes (see [`crate::observe`]); false
    /// for a remote target, or where `/proc` could not be read, when timeouts decided.
    pub observed: bool,
    /// Waits that ended because a timeout expired.
    pub timeouts_expired: u32,
    /// Where srpc-check listened for the client cases, when they ran: their reproducers
    /// serve on that port.
    pub client_port: Option<u16>,
    /// The other protocol the server was heard to speak, when it answered no well-formed
    /// request of the one it was checked in.
    /// The files the server wrote into its own folder during the run (with `--exec`).
    pub written: Vec<String>,
    /// On a portable machine ([`crate::host`]), for a program srpc-check ran: what that costs
    /// the verdicts, in words.
    pub portable: Option<String>,
    pub speaks: Option<&'static crate::protocol::Protocol>,
    /// The protocol the server was checked in.
    pub protocol: &'static crate::protocol::Protocol,
}

impl RunReport {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for o in &self.outcomes {
            match o.status {
                Status::Pass => s.passed += 1,
                Status::Fail => s.failed += 1,
                Status::Warn => s.warned += 1,
                Status::Skip => s.skipped += 1,
                Status::NotRun => s.not_run += 1,
            }
        }
        s
    }
}

/// Which cases run, and how many --only/--skip left out.
pub struct Plan<'a> {
    /// The protocol the cases speak (they are some of its cases).
    pub protocol: &'static crate::protocol::Protocol,
    pub cases: Vec<&'a Case>,
    pub left_out: usize,
    /// No case starts after this; the later ones are `not_run` with the reason given.
    pub deadline: Option<(Instant, String)>,
}

/// Why the remaining cases cannot be run as usual.
enum Stop {
    /// Without --exec: the server is down or hung after this case.
    Down(&'static str),
    /// With --exec: it could not be started again after this case.
    NoRestart(&'static str, String),
    /// It answers no well-formed request, even right after a restart.
    AnswersNone(&'static str),
    /// The plan's deadline passed before this case.
    OutOfTime(&'static str, String),
    /// It exits cleanly after every connection it serves: shown by this case and the one
    /// before it. Every further case would only show it again, one restart each.
    ExitsAfterEach(&'static str, &'static str),
}

/// The server ended on its own, cleanly, without a traceback: what a server that serves one
/// connection and returns does.
fn clean_exit(event: &ServerEvent) -> bool {
    event.event == EventKind::Exited
        && event.status.as_deref() == Some("exit status 0")
        && crate::server::traceback::Traceback::parse(&event.stderr_tail).is_none()
}

/// Runs the plan. `control` is the server's process when srpc-check runs it (`--exec`).
/// `on_start` and `on_outcome` let a reporter show progress as it happens.
pub fn run(
    plan: &Plan<'_>,
    settings: Settings,
    target: &str,
    mut control: Option<&mut dyn Control>,
    on_start: &mut dyn FnMut(&Case, usize),
    on_outcome: &mut dyn FnMut(&Outcome),
) -> RunReport {
    let started = Instant::now();
    let addr = settings.addr;
    let seed = settings.seed;
    let watch = settings.watch.clone();
    let protocol = plan.protocol;
    watch.set_root(control.as_deref().and_then(|c| c.pid()));
    let mut ctx = Ctx::new(settings, protocol);
    let mut outcomes = Vec::new();
    let mut stop: Option<Stop> = None;
    let mut probe: Option<Probe> = None;
    let mut error_probed = false;
    // The case before this one ended with the server's clean exit.
    let mut exited_clean: Option<&'static str> = None;
    for (n, case) in plan.cases.iter().enumerate() {
        let t0 = Instant::now();
        let mut server = None;
        let mut went = None;
        if let (None, Some((deadline, why))) = (&stop, &plan.deadline) {
            if t0 >= *deadline {
                stop = Some(Stop::OutOfTime(
                    case.id,
                    format!("not run: {why} before this case"),
                ));
            }
        }
        let verdict = match &stop {
            Some(Stop::OutOfTime(_, why)) => Verdict::new(Status::NotRun, why.clone()),
            Some(Stop::Down(after)) => Verdict::new(
                Status::NotRun,
                format!("not run: the target stopped answering after {after}"),
            ),
            Some(Stop::NoRestart(after, why)) => Verdict::new(
                Status::NotRun,
                format!("not run: the server could not be started again after {after}: {why}"),
            ),
            Some(Stop::AnswersNone(shown)) => Verdict::fail(format!(
                "not tried: the server answers no well-formed request (shown in {shown})"
            ))
            .hint(format!(
                "even right after a restart, a well-formed request got no reply; see {shown} for what was sent and why"
            ))
            .same_as(shown),
            Some(Stop::ExitsAfterEach(first, shown)) => Verdict::fail(format!(
                "not tried: the server exits after every connection it serves (shown in {first} and {shown})"
            ))
            .because(Code::ExitsAfterOne, "the server ended cleanly after serving a connection, twice in a row, each time right after a restart; it must keep accepting connections in a loop until it is stopped")
            .same_as(shown),
            None => {
                on_start(case, n);
                ctx.begin(case.id);
                let printed_mark = control.as_deref().map(|c| c.printed());
                let mut v = (case.run)(&mut ctx);
                if v.transcript.is_none() && v.status != Status::Pass {
                    v.transcript = ctx.exchanges.last().cloned().map(Box::new);
                }
                let silent = ctx.silent.take();
                let mut hung = false;
                match control.as_deref_mut() {
                    None if v.status == Status::Fail => match ctx.liveness() {
                        Liveness::Up => {}
                        state => {
                            hung = matches!(state, Liveness::Hung(_));
                            went = Some(if hung {
                                EventKind::Hung
                            } else {
                                EventKind::Exited
                            });
                            stop = Some(Stop::Down(case.id));
                            v = went_down(v, &state);
                        }
                    },
                    None => {}
                    Some(c) => {
                        let clean_before = exited_clean.take();
                        let event = match ctx.liveness() {
                            Liveness::Up => c.exited(Duration::ZERO),
                            Liveness::Down(_) => Some(c.exited_or_kill(EXIT_WAIT)),
                            Liveness::Hung(_) => Some(c.exited_or_kill(Duration::ZERO)),
                        };
                        if let Some(mut event) = event {
                            hung = event.event == EventKind::Hung;
                            let clean = clean_exit(&event);
                            v = blame(v, &event);
                            match restart(c, &mut ctx, case.id) {
                                Ok(()) => {
                                    event.restarted = true;
                                    if hung && ctx.liveness() != Liveness::Up {
                                        stop = Some(Stop::AnswersNone(case.id));
                                        // A fresh server for the probe below.
                                        c.kill_hung();
                                        if let Err(why) = restart(c, &mut ctx, case.id) {
                                            stop = Some(Stop::NoRestart(case.id, why));
                                        }
                                    }
                                }
                                Err(why) => stop = Some(Stop::NoRestart(case.id, why)),
                            }
                            if let (true, Some(first), None) = (clean, clean_before, &stop) {
                                stop = Some(Stop::ExitsAfterEach(first, case.id));
                            }
                            exited_clean = clean.then_some(case.id);
                            server = Some(event);
                        }
                    }
                }
                // A server that prints a traceback per failed connection and goes on: what it
                // printed is this failure's evidence (unless it is a client's departure, which
                // such a server prints for srpc-check's own connections too).
                if let (true, Status::Fail, None, Some(c), Some(mark)) = (
                    protocol.prints_tracebacks,
                    v.status,
                    &server,
                    control.as_deref_mut(),
                    printed_mark,
                ) {
                    let printed = printed_traceback(c, &ctx.settings.watch, mark).filter(|out| {
                        crate::server::traceback::Traceback::parse(out)
                            .is_some_and(|tb| !tb.is_departure())
                    });
                    if let Some(output) = printed {
                        server = Some(ServerEvent {
                            event: EventKind::Raised,
                            status: None,
                            stderr_tail: output,
                            restarted: false,
                            oom_killed: false,
                            cause: None,
                        });
                    }
                }
                // A request that hung, or was answered ERROR, sent again with a big-endian
                // header: does the server read headers that way?
                let silent = silent.filter(|_| protocol.probe.is_some());
                let trigger = match (silent, hung) {
                    (Some(payload), true) => Some((payload, Trigger::Silent)),
                    // ERROR where the case knows no cause of its own, once a run.
                    _ if stop.is_none()
                        && !error_probed
                        && v.status == Status::Fail
                        && v.finding.is_none()
                        && protocol
                            .probe
                            .is_some_and(|p| v.actual.as_deref() == Some(p.refused)) =>
                    {
                        error_probed = true;
                        ctx.errored.take().map(|p| (p, Trigger::Error))
                    }
                    _ => None,
                };
                if let (Some((payload, trigger)), None, Some(prober)) =
                    (trigger, &probe, protocol.probe)
                {
                    if !matches!(stop, Some(Stop::NoRestart(..))) {
                        let mark = control.as_deref().map(|c| c.printed());
                        let mut found =
                            (prober.send)(&mut ctx, &payload, trigger, control.is_some());
                        found.case = case.id;
                        // Did handling it make the server raise, or exit?
                        let mut exit = None;
                        if let (Some(c), Some(mark), true) =
                            (control.as_deref_mut(), mark, found.answered)
                        {
                            found.crashed(printed_traceback(c, &ctx.settings.watch, mark));
                            exit = c.exited(Duration::ZERO);
                            found.event = match (&exit, &found.crash) {
                                (Some(e), _) => Some(e.clone()),
                                (None, Some(output)) => Some(ServerEvent {
                                    event: EventKind::Raised,
                                    status: None,
                                    stderr_tail: output.clone(),
                                    restarted: false,
                                    oom_killed: false,
                                    cause: None,
                                }),
                                (None, None) => None,
                            };
                        }
                        let answered = found.answered;
                        // An ERROR probe that was answered ERROR too showed nothing.
                        if found.trigger == Trigger::Silent || found.confirmed {
                            v.hint = Some(match v.hint.take() {
                                Some(h) => format!("{h}. Probe: {}", found.text),
                                None => format!("probe: {}", found.text),
                            });
                            probe = Some(found);
                        }
                        if let Some(c) = control.as_deref_mut() {
                            // Leave a server in a known state for the next case.
                            if stop.is_none() && (!answered || exit.is_some()) {
                                if !answered {
                                    c.kill_hung();
                                }
                                if let Err(why) = restart(c, &mut ctx, case.id) {
                                    stop = Some(Stop::NoRestart(case.id, why));
                                }
                            }
                        }
                    }
                }
                v
            }
        };
        let outcome = Outcome::of(case.key(), verdict, t0.elapsed(), server, went);
        on_outcome(&outcome);
        outcomes.push(outcome);
    }
    let ran_it = control.is_some();
    let mut report = RunReport {
        target: target.to_owned(),
        addr,
        seed,
        outcomes,
        down_after: match stop {
            Some(Stop::Down(after)) => Some(after),
            _ => None,
        },
        answers_none_after: match stop {
            Some(Stop::AnswersNone(after)) => Some(after),
            _ => None,
        },
        out_of_time_before: match stop {
            Some(Stop::OutOfTime(before, _)) => Some(before),
            _ => None,
        },
        restarts: control.as_ref().map_or(0, |c| c.restarts()),
        probe,
        left_out: plan.left_out,
        duration: started.elapsed(),
        start_failure: None,
        observed: watch.observed(),
        timeouts_expired: watch.timeouts_expired(),
        client_port: None,
        speaks: None,
        written: Vec::new(),
        portable: ran_it.then(crate::host::note).flatten(),
        protocol,
    };
    // A server checked in the wrong protocol: which one it speaks (where it listens now).
    if let Some(other) =
        crate::protocol::speaks_instead(&report, ctx.settings.addr, ctx.settings.timeout, &watch)
    {
        crate::protocol::name_in(&mut report, other);
    }
    report
}

/// The report of a server that never started: every case fails, saying why (`why`'s first
/// line; the whole of it belongs in the run's overview).
pub fn not_started(
    plan: &Plan<'_>,
    target: &str,
    seed: u64,
    why: &str,
    hint: Option<String>,
    start_failure: Option<StartFailure>,
    duration: Duration,
) -> RunReport {
    let headline = why.lines().next().unwrap_or_default();
    // The first case carries what the server printed, as a server event, for every report.
    let event = start_failure.as_ref().map(|f| ServerEvent {
        event: if f.exited {
            EventKind::Exited
        } else {
            EventKind::Hung
        },
        status: f.status.clone(),
        stderr_tail: f.output.clone(),
        restarted: false,
        oom_killed: false,
        cause: None,
    });
    let outcomes = plan
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = Verdict {
                hint: hint.clone(),
                ..Verdict::fail(format!("not tried: {headline}"))
            };
            let server = if i == 0 { event.clone() } else { None };
            Outcome::of(c.key(), v, Duration::ZERO, server, None)
        })
        .collect();
    RunReport {
        target: target.to_owned(),
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        seed,
        outcomes,
        down_after: None,
        answers_none_after: None,
        out_of_time_before: None,
        restarts: 0,
        probe: None,
        left_out: plan.left_out,
        duration,
        start_failure,
        observed: false,
        timeouts_expired: 0,
        client_port: None,
        speaks: None,
        written: Vec::new(),
        portable: None,
        protocol: plan.protocol,
    }
}

/// Starts the server again and points the cases at its (perhaps new) address.
fn restart(c: &mut dyn Control, ctx: &mut Ctx, after: &'static str) -> Result<(), String> {
    let addr = c.restart()?;
    ctx.settings.watch.set_root(c.pid());
    ctx.settings.addr = addr;
    ctx.restarts.push(after);
    Ok(())
}

/// Without --exec: the case's verdict once the server is down or hung after it.
fn went_down(v: Verdict, state: &Liveness) -> Verdict {
    let (what, hint) = match state {
        Liveness::Hung(why) => (
            format!("the server stopped answering after this case ({why})"),
            "the server accepts connections but no longer answers: it is stuck, perhaps still waiting on a connection this case opened",
        ),
        Liveness::Down(why) => (
            format!("the server stopped answering after this case ({why})"),
            "the server exited or crashed: run it under srpc-check (--exec 'python3 your_server.py') to see its traceback and have it restarted",
        ),
        Liveness::Up => return v,
    };
    let mut v = Verdict {
        message: format!("{}; {what}", v.message),
        ..v
    };
    if v.hint.is_none() {
        v.hint = Some(hint.into());
    }
    v
}

/// With --exec: the case caused the server to exit or hang, whatever its own verdict.
fn blame(v: Verdict, event: &ServerEvent) -> Verdict {
    let what = match (event.event, &event.status) {
        (EventKind::Exited, Some(status)) => {
            format!("the server exited ({status}) during or right after this case")
        }
        (EventKind::Exited, None) => "the server exited during or right after this case".into(),
        (EventKind::Hung, _) => {
            "the server stopped answering during or right after this case, so srpc-check stopped it"
                .into()
        }
        (EventKind::Raised, _) => {
            "the server raised an exception during or right after this case".into()
        }
    };
    let message = if v.status == Status::Fail {
        format!("{}; {what}", v.message)
    } else {
        what
    };
    Verdict {
        status: Status::Fail,
        message,
        hint: event.cause.clone().or(v.hint),
        ..v
    }
}

/// What made srpc-check send a request again with a big-endian header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A well-formed request got no reply at all.
    Silent,
    /// A well-formed request was answered `{"status": "ERROR"}`.
    Error,
}

/// What the big-endian probe found.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The case after which it ran (whose request it sent again).
    pub case: &'static str,
    pub trigger: Trigger,
    /// What it shows about how the server reads headers, in words.
    pub text: String,
    /// Anything came back (a reply, a close or a reset).
    pub answered: bool,
    /// The server reads the request header as big-endian: after a request that hung, the
    /// big-endian one was answered, closed or reset (the server read all of it and acted);
    /// after one answered ERROR, the big-endian one was answered, and not with ERROR.
    pub confirmed: bool,
    /// The probe's reply came with a big-endian header too.
    pub reply_big_endian: bool,
    /// The traceback the server printed while it handled the probe, when it printed one.
    pub crash: Option<String>,
    /// The probe's bytes both ways.
    pub transcript: Transcript,
    /// What the server did while it handled the probe, when it raised or exited: the evidence
    /// of a bug found behind the byte order.
    pub event: Option<ServerEvent>,
}

impl Probe {
    /// Records the traceback the server printed while handling the probe.
    fn crashed(&mut self, traceback: Option<String>) {
        let Some(output) = traceback else {
            return;
        };
        if let Some(tb) = crate::server::traceback::Traceback::parse(&output) {
            let raised = format!("{}: {}", tb.exception, tb.message);
            self.text.push_str(&format!(
                "; handling it, the server raised {} at {}",
                crate::words::clip(raised.trim_end_matches([' ', ':']), 160),
                tb.location()
            ));
        }
        self.crash = Some(
            crate::server::supervisor::tail(&output, crate::server::supervisor::TAIL_LIMIT)
                .to_owned(),
        );
    }
}

/// A traceback the server printed after `mark`, once it is at rest and has finished writing it.
fn printed_traceback(
    c: &mut dyn Control,
    watch: &crate::observe::Watch,
    mark: u64,
) -> Option<String> {
    use crate::server::traceback::Traceback;
    watch.settle(Duration::from_secs(1));
    let started = Instant::now();
    let mut last = None;
    loop {
        let text = c.printed_since(mark);
        let parsed = Traceback::parse(&text).is_some();
        let still = last.as_ref() == Some(&text);
        // Whole once it stops growing; none if nothing like one came meanwhile.
        if still && parsed && text.ends_with('\n') {
            return Some(text);
        }
        if (still && !parsed && started.elapsed() >= Duration::from_millis(100))
            || started.elapsed() >= Duration::from_millis(500)
        {
            return parsed.then_some(text);
        }
        last = Some(text);
        std::thread::sleep(Duration::from_millis(20));
    }
}
