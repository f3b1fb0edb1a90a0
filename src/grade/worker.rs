//! One submission, graded inside its box: `srpc-check __grade-worker SPEC` (hidden). The
//! orchestrator starts it already inside fresh namespaces; it becomes PID 1 there, lays out
//! the box, runs the server through the jail, runs the suite against it, then (with
//! `--client-exec`) runs the client cases with srpc-check as the server on the box's port 4444,
//! and prints one [`WorkerResult`] as JSON on stdout.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::diagnose::{self, source, Source};
use crate::outcome::doc::Doc;
use crate::runner::{self, Plan};
use crate::sandbox::cgroup::CgroupSpec;
use crate::sandbox::{self, JailSpec, Limits};
use crate::server::supervisor::{ExecSpec, StartError, Supervised};
use crate::server::{Control, EventKind, ServerEvent};
use crate::suite::Settings;

/// Most bytes of a submission copied into its box.
const COPY_LIMIT: u64 = 256 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub name: String,
    /// The submission's folder.
    pub submission: PathBuf,
    pub command: String,
    /// The protocol the server is checked in.
    #[serde(default = "crate::protocol::default_name")]
    pub protocol: String,
    /// The client command (`grade --client-exec`), run once per client case.
    #[serde(default)]
    pub client_command: Option<String>,
    /// Started inside fresh namespaces (see `sandbox::namespaces`).
    pub boxed: bool,
    /// Folders the server must not read: the class folder and the output folder.
    pub hide: Vec<PathBuf>,
    /// Where the scratch copy goes (inside the box's /tmp when boxed).
    pub scratch: PathBuf,
    pub uid: Option<u32>,
    pub limits: Limits,
    /// The submission's cgroup (None: the jail's rlimits are the fallback).
    #[serde(default)]
    pub cgroup: Option<CgroupSpec>,
    pub start_timeout: Duration,
    pub timeout: Duration,
    pub split_pause: Duration,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerResult {
    pub doc: Doc,
    /// The server's own output (the most recent 64 KiB).
    pub server_log: String,
    /// A limit that stopped the server, in a student's words.
    pub limit: Option<String>,
    /// Why the server never started, when it did not.
    pub start_error: Option<String>,
}

/// Runs the worker; what goes wrong before a report exists is returned as the error.
pub fn main(spec: &WorkerSpec) -> Result<WorkerResult, String> {
    #[cfg(target_os = "linux")]
    if spec.boxed {
        use crate::sandbox::namespaces;
        namespaces::become_init()?;
        // Not readable through /proc (environ, memory) by a server running as the same user.
        nix::sys::prctl::set_dumpable(false).map_err(|e| format!("prctl: {e}"))?;
        namespaces::set_up(&namespaces::Layout {
            submission: &spec.submission,
            scratch: &spec.scratch,
            hide: &spec.hide,
            owner: spec.uid,
            copy_limit: COPY_LIMIT,
        })?;
    }
    if !spec.boxed {
        let mut budget = COPY_LIMIT;
        crate::sandbox::namespaces::copy_tree(&spec.submission, &spec.scratch, None, &mut budget)
            .map_err(|e| format!("copying {}: {e}", spec.submission.display()))?;
    }
    let started = Instant::now();
    let jail = JailSpec {
        limits: spec.limits.clone(),
        scratch: spec.scratch.clone(),
        writable: if spec.boxed {
            vec![PathBuf::from("/tmp")]
        } else {
            Vec::new()
        },
        hidden: spec.hide.clone(),
        uid: spec.uid,
        cgroup: spec.cgroup.clone(),
    };
    let wrapper: Vec<OsString> = vec![
        "/proc/self/exe".into(),
        "__jail".into(),
        serde_json::to_string(&jail)
            .expect("spec serialises")
            .into(),
        "--".into(),
    ];
    let protocol = crate::protocol::by_name(&spec.protocol)
        .ok_or_else(|| format!("unknown protocol '{}'", spec.protocol))?;
    let cases = (protocol.cases)();
    let plan = Plan {
        protocol,
        cases: cases.iter().collect(),
        left_out: 0,
        deadline: Some((
            started + spec.limits.wall,
            format!(
                "the grader's wall-clock limit of {} for the whole submission was reached",
                humantime::format_duration(spec.limits.wall)
            ),
        )),
    };
    let target = format!("exec '{}'", spec.command);
    let deadline = plan.deadline.clone().expect("a grade has a deadline");
    // The client's cases after the server's, when it is tested; the client's own files, where
    // it runs others than the server, from the program its Python process ran.
    let client_cases = |report: &mut runner::RunReport| -> Option<Source> {
        let client = spec.client_command.as_ref()?;
        let program = add_client_cases(report, spec, client, &wrapper, deadline.clone());
        (*client != spec.command).then(|| Source::for_run(program.as_ref(), client, &spec.scratch))
    };
    // The server's source, read while the cases ran, with the client's.
    let source = |pending: source::Pending, client: Option<Source>| {
        let mut s = pending.wait();
        s.client = client.map(Box::new);
        s
    };
    // The submission's folder before its server starts: what it writes there is a finding.
    let folder = crate::server::folder::snapshot(&spec.scratch);
    let server = Supervised::start(ExecSpec {
        command: spec.command.clone(),
        dir: Some(spec.scratch.clone()),
        start_timeout: spec.start_timeout,
        expect: Vec::new(),
        wrapper: wrapper.clone(),
        ..ExecSpec::default()
    });
    let mut server = match server {
        Ok(s) => s,
        Err(e) => {
            let mut result = never_started(spec, &plan, &target, &e, started);
            let client = client_cases(&mut result.0);
            let (report, server_log, limit, start_error) = result;
            // A server that never started: the files the command names.
            let source = source(
                Source::read_in_background(&spec.command, &spec.scratch),
                client,
            );
            return Ok(WorkerResult {
                doc: Doc::from_run(&report, &diagnose::diagnose(&report, Some(&source))),
                server_log,
                limit,
                start_error,
            });
        }
    };
    // The program the server's Python process runs, read while the cases run.
    let pending = server.read_source(&spec.command, &spec.scratch);
    let settings = Settings {
        addr: server.addr().expect("a started server has an address"),
        timeout: spec.timeout,
        split_pause: spec.split_pause,
        allow_missing_error: false,
        seed: spec.seed,
        watch: Default::default(),
        printed: Some(server.output_handle()),
    };
    let mut watched = Watched {
        server: &mut server,
        cgroup: spec.cgroup.as_ref(),
        seen: 0,
    };
    let mut report = runner::run(
        &plan,
        settings,
        &target,
        Some(&mut watched),
        &mut |_, _| {},
        &mut |_| {},
    );
    let mut limit = None;
    for o in &mut report.outcomes {
        if let Some(e) = &o.server {
            let status = e.status.as_deref().unwrap_or("");
            let when = format!("during {}", o.id);
            if let Some(words) =
                sandbox::limit_hit(&spec.limits, status, &e.stderr_tail, e.oom_killed, &when)
            {
                o.hint = Some(words.clone());
                limit.get_or_insert(words);
            }
        }
    }
    if let Some(before) = report.out_of_time_before {
        limit.get_or_insert(format!(
            "your server was stopped at the grader's wall-clock limit of {} for the whole submission, before {before} ran",
            humantime::format_duration(spec.limits.wall)
        ));
    }
    let server_log = server.output();
    drop(server);
    report.written = folder.written(&crate::server::folder::snapshot(&spec.scratch));
    let client = client_cases(&mut report);
    let source = source(pending, client);
    Ok(WorkerResult {
        doc: Doc::from_run(&report, &diagnose::diagnose(&report, Some(&source))),
        server_log,
        limit,
        start_error: None,
    })
}

/// The server as the runner sees it, with the submission's cgroup watched: when the kernel's
/// OOM killer has stopped any process of the submission since the last look, the whole
/// submission is stopped and its event says so, on the case during which it happened.
struct Watched<'a> {
    server: &'a mut Supervised,
    cgroup: Option<&'a CgroupSpec>,
    /// OOM kills already reported.
    seen: u64,
}

impl Watched<'_> {
    /// Whether there were OOM kills since the last look.
    fn new_oom_kills(&mut self) -> bool {
        let now = self.cgroup.map_or(0, CgroupSpec::oom_kills);
        let new = now > self.seen;
        self.seen = now;
        new
    }

    fn mark(&mut self, event: ServerEvent) -> ServerEvent {
        if self.new_oom_kills() {
            return out_of_memory(event);
        }
        event
    }
}

/// The event of a submission the memory limit stopped.
fn out_of_memory(mut event: ServerEvent) -> ServerEvent {
    event.oom_killed = true;
    event.event = EventKind::Exited;
    event.status = Some("stopped: out of memory".into());
    event
}

impl Control for Watched<'_> {
    fn exited(&mut self, wait: Duration) -> Option<ServerEvent> {
        match self.server.exited(wait) {
            Some(event) => Some(self.mark(event)),
            // A child was killed while the server itself runs on: the submission is stopped.
            None if self.new_oom_kills() => Some(out_of_memory(self.server.kill_hung())),
            None => None,
        }
    }

    fn kill_hung(&mut self) -> ServerEvent {
        let event = self.server.kill_hung();
        self.mark(event)
    }

    fn restart(&mut self) -> Result<std::net::SocketAddr, String> {
        Control::restart(self.server)
    }

    fn restarts(&self) -> u32 {
        self.server.restarts()
    }

    fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    fn printed(&self) -> u64 {
        Control::printed(self.server)
    }

    fn printed_since(&self, mark: u64) -> String {
        Control::printed_since(self.server, mark)
    }
}

/// A server that never listened: every case fails with the reason, and the limit that
/// stopped it is named when one did.
/// The client cases (`grade --client-exec`), added to the server's report: the client runs
/// through the same jail, once per case, with srpc-check as the server on port 4444 of the
/// box's own network. Returns the client's Python program, as the kernel showed it while it
/// ran.
fn add_client_cases(
    report: &mut runner::RunReport,
    spec: &WorkerSpec,
    command: &str,
    wrapper: &[OsString],
    deadline: (Instant, String),
) -> Option<crate::server::supervisor::Program> {
    use crate::client::{self, ClientCase, Listeners};
    let protocol = crate::protocol::by_name(&spec.protocol).unwrap_or(&crate::protocol::srpc::SRPC);
    let all = client::cases(protocol);
    let cases: Vec<&ClientCase> = all.iter().collect();
    let settings = client::Settings {
        protocol,
        program: ExecSpec {
            dir: Some(spec.scratch.clone()),
            wrapper: wrapper.to_vec(),
            ..client::program(command)
        },
        timeout: spec.timeout,
        start_timeout: spec.start_timeout,
        listening: format!(
            "port {} on every address of the submission's own network",
            protocol.default_port
        ),
    };
    let target = format!("client '{command}'");
    let run = Listeners::bind(&Listeners::every_address(protocol.default_port))
        .map_err(|e| format!("srpc-check could not listen for the client: {e}"))
        .and_then(|listeners| {
            let settings = client::Settings {
                program: ExecSpec {
                    command: client::address_in(command, &listeners),
                    ..settings.program.clone()
                },
                ..settings.clone()
            };
            client::run(
                &cases,
                0,
                &settings,
                &listeners,
                &target,
                Some(deadline),
                &mut |_| {},
            )
        });
    let program = run.as_ref().ok().and_then(|r| r.program.clone());
    client::append(report, &cases, run.map(|r| r.report));
    program
}

/// The report of a server that never started, what it printed, the limit it hit and why.
fn never_started(
    spec: &WorkerSpec,
    plan: &Plan<'_>,
    target: &str,
    err: &StartError,
    started: Instant,
) -> (runner::RunReport, String, Option<String>, Option<String>) {
    let (status, output) = match err {
        StartError::Exited { status, output } => (status.as_str(), output.as_str()),
        StartError::NotListening { output, .. } => ("", output.as_str()),
        StartError::Spawn(_) => ("", ""),
    };
    let oom = spec.cgroup.as_ref().is_some_and(|c| c.oom_kills() > 0);
    let limit = sandbox::limit_hit(&spec.limits, status, output, oom, "at start-up");
    let why = err.to_string();
    let hint = limit.clone().or_else(|| {
        Some(crate::server::traceback::explain_exit(output, status)).filter(|_| !status.is_empty())
    });
    let report = runner::not_started(
        plan,
        target,
        spec.seed,
        &why,
        hint,
        err.failure(),
        started.elapsed(),
    );
    (report, output.to_owned(), limit, Some(why))
}
