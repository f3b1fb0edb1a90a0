//! `srpc-check client`: the student's client under test. srpc-check plays the server.
//!
//! Each case is one run of the client program. What srpc-check plays, and how it judges the
//! run, is the protocol's (its `client` folder: `crate::protocol::srpc::client`, ...); here is
//! what every protocol shares: where srpc-check listens and the loop that attends a run
//! (`listen`), running each case once, and the report.
//!
//! The results are the same [`RunReport`] the server suite makes, in group `client`, so the
//! diagnosis, every report format and the grader take them as they are.

pub mod conn;
pub mod listen;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::protocol::Protocol;
use crate::runner::{Outcome, RunReport};
use crate::server::supervisor::{ExecSpec, Supervised};
use crate::server::ServerEvent;
use crate::suite::{CaseKey, Group, Status, Verdict};

pub use listen::Listeners;

/// One client case: one run of the client program, with srpc-check playing the server as
/// the case says.
pub struct ClientCase {
    /// Stable identifier, `client/name`.
    pub id: &'static str,
    pub description: &'static str,
    pub requirement: &'static str,
    /// Plays the server for one run of the program, and judges what it did.
    pub play: Play,
}

/// See [`ClientCase::play`]: the protocol's server for one run, and its judge.
pub type Play = Box<dyn Fn(&Stage<'_>, &mut Supervised) -> Judged + Send + Sync>;

/// What a case plays on.
pub struct Stage<'a> {
    pub listeners: &'a Listeners,
    pub settings: &'a Settings,
}

/// A verdict, and the program's ending when it matters (a crash or a hang).
pub struct Judged {
    pub verdict: Verdict,
    pub event: Option<ServerEvent>,
}

impl Judged {
    pub fn not_run(why: String) -> Judged {
        Judged {
            verdict: Verdict::new(Status::NotRun, why),
            event: None,
        }
    }

    /// A failure that follows from `case`'s, without running the client again.
    pub fn same_as(why: String, case: &'static str) -> Judged {
        Judged {
            verdict: Verdict::fail(why).same_as(case),
            event: None,
        }
    }
}

/// How a run of the client is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The protocol the client speaks.
    pub protocol: &'static Protocol,
    /// The client program (its command, folder, wrapper).
    pub program: ExecSpec,
    /// Limit for each wait on the client.
    pub timeout: Duration,
    /// How long the client may take to make its first connection.
    pub start_timeout: Duration,
    /// Where srpc-check listens, in words for the reports ("port 4444 on every address of a
    /// private network").
    pub listening: String,
}

/// Bytes of the client's output kept per run (the large case prints a 256 KiB value).
pub const OUTPUT_LIMIT: usize = 2 << 20;

/// The verdict on a client that never connected: srpc-check stopped it after
/// `settings.start_timeout` (`hung`), or it exited (with `status`, when one is worth saying).
/// `where_it_connects` tells the student where srpc-check listened and where the lab's client
/// connects; `{}` in it becomes the address srpc-check listened on.
pub fn never_connected(
    hung: bool,
    status: Option<&str>,
    settings: &Settings,
    where_it_connects: &str,
) -> Verdict {
    let what = if hung {
        format!(
            "the client did not connect within {}; srpc-check stopped it",
            humantime::format_duration(settings.start_timeout)
        )
    } else {
        match status {
            Some(status) => format!("the client exited ({status}) without connecting"),
            None => "the client exited without connecting".to_owned(),
        }
    };
    Verdict::fail(what).because(
        crate::codes::Code::ClientNeverConnects,
        where_it_connects.replace("{}", &settings.listening.to_string()),
    )
}

/// The program spec for a client command: its output kept whole, and printed as UTF-8
/// whatever the locale, so printing non-ASCII text is not what fails.
pub fn program(command: &str) -> ExecSpec {
    ExecSpec {
        command: command.to_owned(),
        env: vec![("PYTHONIOENCODING".into(), "utf-8".into())],
        output_limit: Some(OUTPUT_LIMIT),
        ..ExecSpec::default()
    }
}

/// The client's cases as run: their report, and the client's Python program as the kernel
/// showed it while it ran (for the source scan).
pub struct ClientRun {
    pub report: RunReport,
    pub program: Option<crate::server::supervisor::Program>,
}

/// Runs each case (one run of the program each) and reports them as the server suite does.
/// `deadline`: no case starts after it (the grader's wall-clock limit). Fails only when the
/// program cannot be run at all.
pub fn run(
    cases: &[&ClientCase],
    left_out: usize,
    settings: &Settings,
    listeners: &Listeners,
    target: &str,
    deadline: Option<(Instant, String)>,
    on_outcome: &mut dyn FnMut(&Outcome),
) -> Result<ClientRun, String> {
    let protocol = settings.protocol;
    let started = Instant::now();
    let mut program = None;
    let mut outcomes = Vec::new();
    let mut out_of_time_before = None;
    // Runs that ended because the client did nothing for the idle limit.
    let mut idle_limits = 0;
    // The case that showed the client never connects: the rest would only show it again.
    let mut never_connects: Option<&'static str> = None;
    for case in cases {
        let t0 = Instant::now();
        let judged = match &deadline {
            Some((when, why)) if t0 >= *when => {
                out_of_time_before.get_or_insert(case.id);
                Judged::not_run(format!("not run: {why} before this case"))
            }
            _ if never_connects.is_some() => {
                let shown = never_connects.expect("just matched");
                Judged::same_as(
                    format!("not tried: the client never connects (shown in {shown})"),
                    shown,
                )
            }
            _ => {
                listeners.drain();
                let mut process = Supervised::run_program(settings.program.clone())
                    .map_err(|e| format!("cannot run the client: {e}"))?;
                let stage = Stage {
                    listeners,
                    settings,
                };
                let judged = (case.play)(&stage, &mut process);
                if program.is_none() {
                    program = process.program().cloned();
                }
                drop(process);
                judged
            }
        };
        if judged
            .event
            .as_ref()
            .is_some_and(|e| e.event == crate::server::EventKind::Hung)
        {
            idle_limits += 1;
        }
        let v = judged.verdict;
        if v.finding == Some(crate::codes::Code::ClientNeverConnects) {
            never_connects.get_or_insert(case.id);
        }
        let outcome = Outcome::of(case.key(), v, t0.elapsed(), judged.event, None);
        on_outcome(&outcome);
        outcomes.push(outcome);
    }
    let report = RunReport {
        target: target.to_owned(),
        addr: listeners
            .addrs
            .first()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], protocol.default_port))),
        seed: 0,
        outcomes,
        down_after: None,
        answers_none_after: None,
        out_of_time_before,
        restarts: 0,
        probe: None,
        left_out,
        duration: started.elapsed(),
        start_failure: None,
        observed: true,
        timeouts_expired: idle_limits,
        client_port: listeners.addrs.first().map(|a| a.port()),
        speaks: None,
        written: Vec::new(),
        portable: crate::host::note(),
        protocol,
    };
    Ok(ClientRun { report, program })
}

impl ClientCase {
    pub fn key(&self) -> CaseKey {
        CaseKey {
            id: self.id,
            group: Group::Client,
            description: self.description,
            requirement: self.requirement,
        }
    }
}

/// The client cases of `protocol`, in run order (none when its clients cannot be checked).
pub fn cases(protocol: &Protocol) -> Vec<ClientCase> {
    protocol
        .client_cases
        .map(|cases| cases())
        .unwrap_or_default()
}

/// The keys of every client case, for rubrics and `--only`/`--skip`.
pub fn keys(protocol: &Protocol) -> Vec<CaseKey> {
    cases(protocol).iter().map(ClientCase::key).collect()
}

/// The command with `{host}` and `{port}` replaced by the address srpc-check listens on: how a
/// client that takes the server's address on its command line (lab 4's `app-client.py HOST PORT
/// ...`) learns it.
pub fn address_in(command: &str, listeners: &Listeners) -> String {
    let Some(addr) = listeners.addrs.first() else {
        return command.to_owned();
    };
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    command
        .replace("{host}", &host)
        .replace("{port}", &addr.port().to_string())
}

/// Whether the command names the address with `{host}` or `{port}`.
pub fn takes_address(command: &str) -> bool {
    command.contains("{host}") || command.contains("{port}")
}

/// Adds the client's cases, run after a server's, to the server's report. When they could not
/// run (srpc-check could not listen, or run the client), the server's results stand and each
/// client case says why.
pub fn append(report: &mut RunReport, cases: &[&ClientCase], client: Result<RunReport, String>) {
    match client {
        Ok(c) => {
            report.outcomes.extend(c.outcomes);
            report.left_out += c.left_out;
            report.duration += c.duration;
            report.timeouts_expired += c.timeouts_expired;
            report.client_port = c.client_port;
        }
        Err(why) => report.outcomes.extend(not_run(cases, &why)),
    }
}

/// The outcomes of cases that could not run, each saying why.
pub fn not_run(cases: &[&ClientCase], why: &str) -> Vec<Outcome> {
    cases
        .iter()
        .map(|case| {
            let v = Verdict::new(Status::NotRun, format!("not run: {why}"));
            Outcome::of(case.key(), v, Duration::ZERO, None, None)
        })
        .collect()
}
