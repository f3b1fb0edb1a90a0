//! `srpc-check client`: the student's client under test. srpc-check plays the server.
//!
//! Each case is one run of the client program (the lab's CLIENT mode makes six calls). Within
//! a run srpc-check is a correct srpc server with a real store, the reference server's own
//! `respond`; what changes from case to case is how the replies are delivered ([`Delivery`]):
//! in one piece, the header split at every offset, the payload in pieces, a byte at a time, a
//! large value, non-ASCII text, a slow reply, or no reply at all.
//!
//! - `serve`: the server srpc-check plays for one run, and what it saw on each connection.
//! - `judge`: the case's verdict from that: the requests, whether each reply was read whole,
//!   how the program ended, and whether it printed (`Ret:...`) exactly the replies it got.
//! - `repr`: Python's repr of a reply, for that comparison.
//!
//! The results are the same [`RunReport`] the server suite makes, in group `client`, so the
//! diagnosis, every report format and the grader take them as they are.

mod judge;
pub mod repr;
pub mod serve;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::runner::{Outcome, RunReport};
use crate::server::supervisor::{ExecSpec, Supervised};
use crate::suite::{CaseKey, Group, Status, Verdict};

pub use serve::Listeners;

/// How the replies of a run are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    OnePiece,
    /// The header in two pieces, cut after this many bytes (1 to 7).
    HeaderSplit(usize),
    HeaderThenPayload,
    /// The payload in three pieces (the first with the header).
    PayloadSplit,
    /// One byte at a time.
    Dribble,
    /// A GET of a name nobody has PUT finds a large value, sent in 64 KiB pieces.
    Large,
    /// A GET of a name nobody has PUT finds text that is not ASCII (escaped on the wire).
    NonAscii,
    /// The first reply comes after [`serve::SLOW`].
    Slow,
    /// Every connection is closed without a reply.
    CloseWithoutReply,
}

/// One client case.
pub struct ClientCase {
    /// Stable identifier, `client/name`.
    pub id: &'static str,
    pub description: &'static str,
    pub requirement: &'static str,
    pub delivery: Delivery,
}

const SPLIT_DESCRIPTIONS: [&str; 7] = [
    "each reply's 8-byte header arrives in two pieces, cut after byte 1",
    "each reply's 8-byte header arrives in two pieces, cut after byte 2",
    "each reply's 8-byte header arrives in two pieces, cut after byte 3",
    "each reply's 8-byte header arrives in two pieces, cut after byte 4",
    "each reply's 8-byte header arrives in two pieces, cut after byte 5",
    "each reply's 8-byte header arrives in two pieces, cut after byte 6",
    "each reply's 8-byte header arrives in two pieces, cut after byte 7",
];
const SPLIT_IDS: [&str; 7] = [
    "client/header-split-1",
    "client/header-split-2",
    "client/header-split-3",
    "client/header-split-4",
    "client/header-split-5",
    "client/header-split-6",
    "client/header-split-7",
];
const READ_WHOLE: &str = "the client reads each reply whole: the 8-byte header in a loop, then the payload in a loop until all `length` bytes have arrived";

/// Every client case, in run order.
pub fn cases() -> Vec<ClientCase> {
    let mut cases = vec![ClientCase {
        id: "client/one-piece",
        description: "each reply arrives in one piece",
        requirement: "the client sends well-formed requests (a little-endian header, exactly the declared length, JSON with func and params), reads each reply, closes the connection, and prints what it received",
        delivery: Delivery::OnePiece,
    }];
    for k in 1..=7 {
        cases.push(ClientCase {
            id: SPLIT_IDS[k - 1],
            description: SPLIT_DESCRIPTIONS[k - 1],
            requirement:
                "the client reads the reply header in a loop until all 8 bytes have arrived",
            delivery: Delivery::HeaderSplit(k),
        });
    }
    cases.extend([
        ClientCase {
            id: "client/header-then-payload",
            description: "each reply's header, then its payload, in two pieces",
            requirement: "the client reads the header and the payload as separate reads: one recv() does not return a whole message",
            delivery: Delivery::HeaderThenPayload,
        },
        ClientCase {
            id: "client/payload-split",
            description: "each reply's payload arrives in three pieces",
            requirement: READ_WHOLE,
            delivery: Delivery::PayloadSplit,
        },
        ClientCase {
            id: "client/dribble",
            description: "every reply arrives one byte at a time",
            requirement: READ_WHOLE,
            delivery: Delivery::Dribble,
        },
        ClientCase {
            id: "client/large-reply",
            description: "a GET of a name not yet PUT finds a 256 KiB value (as if another client had stored it), sent in 64 KiB pieces",
            requirement: "the client reads a reply of any size whole",
            delivery: Delivery::Large,
        },
        ClientCase {
            id: "client/non-ascii",
            description: "a GET of a name not yet PUT finds a value with non-ASCII text, escaped (\\u00eb) as json.dumps writes it",
            requirement: "the client handles any text in a reply: json.loads gives back the real characters",
            delivery: Delivery::NonAscii,
        },
        ClientCase {
            id: "client/slow-reply",
            description: "the first reply comes after 1.5 s",
            requirement: "the client waits for a reply that takes its time",
            delivery: Delivery::Slow,
        },
        ClientCase {
            id: "client/server-closes",
            description: "the server closes every connection without replying",
            requirement: "the client does not hang when the server closes early: recv() returning b\"\" ends its wait",
            delivery: Delivery::CloseWithoutReply,
        },
    ]);
    cases
}

/// The value the large case's store already holds under any name the client GETs first.
pub fn large_value() -> Value {
    let chunk: String = (0..64).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    json!({
        "note": "stored by another client",
        "data": chunk.repeat(4096),
    })
}

/// The value the non-ASCII case's store already holds under any name the client GETs first.
pub fn non_ascii_value() -> Value {
    json!({
        "name": "Zoë",
        "city": "Kraków",
        "greeting": "こんにちは",
        "smile": "🙂",
        "text": "naïve café, “quoted”",
    })
}

/// How a run of the client is set up.
#[derive(Debug, Clone)]
pub struct Settings {
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
    let started = Instant::now();
    let mut program = None;
    let large = large_value();
    let non_ascii = non_ascii_value();
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
                judge::Judged::not_run(format!("not run: {why} before this case"))
            }
            _ if never_connects.is_some() => {
                let shown = never_connects.expect("just matched");
                judge::Judged::same_as(
                    format!("not tried: the client never connects (shown in {shown})"),
                    shown,
                )
            }
            _ => {
                listeners.drain();
                let mut process = Supervised::run_program(settings.program.clone())
                    .map_err(|e| format!("cannot run the client: {e}"))?;
                let preload = match case.delivery {
                    Delivery::Large => Some(&large),
                    Delivery::NonAscii => Some(&non_ascii),
                    _ => None,
                };
                let log = serve::serve(
                    &serve::Serve {
                        listeners,
                        delivery: case.delivery,
                        timeout: settings.timeout,
                        start_timeout: settings.start_timeout,
                        preload,
                    },
                    &mut process,
                );
                if program.is_none() {
                    program = process.program().cloned();
                }
                drop(process);
                judge::judge(case, &log, settings)
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
        if v.finding == Some(crate::diagnose::Code::ClientNeverConnects) {
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
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4444))),
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
        protocol: &crate::protocol::SRPC,
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

/// The keys of every client case, for rubrics and `--only`/`--skip`.
pub fn keys() -> Vec<CaseKey> {
    cases().iter().map(ClientCase::key).collect()
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
