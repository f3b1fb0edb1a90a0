//! Runs a parsed command line: validates it, does the work, and picks the exit code.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::bench::{self, BenchOptions};
use crate::cli::{BenchArgs, CheckArgs, Cli, Command, ExecArgs, Format, FuzzArgs, GradeArgs};
use crate::conn::Conn;
use crate::diagnose::{self, Code, Source};
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::fuzz::{self, session::Session, FuzzOptions};
use crate::grade::rubric::{self, Rubric};
use crate::report::{fuzz_text, human, json, junit};
use crate::runner::{self, Plan};
use crate::suite::{self, Case, Settings};
use crate::target::builtin::BuiltinServer;
use crate::target::{self, Control, Target};
use crate::{listeners, model, reply, wire};

/// Runs the command and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        None => check_command(cli.check),
        Some(Command::List { findings: false }) => list_command(),
        Some(Command::List { findings: true }) => list_findings_command(),
        Some(Command::Explain { code }) => explain_command(&code),
        Some(Command::Bench(args)) => bench_command(args),
        Some(Command::Fuzz(args)) => fuzz_command(args),
        Some(Command::Grade(args)) => grade_command(args),
        Some(Command::GradeWorker { spec }) => grade_worker_command(&spec),
        Some(Command::Jail { spec, command }) => jail_command(&spec, &command),
        Some(Command::NetBox { command }) => net_box_command(&command),
    }
}

/// The rubric from --rubric, or the default one.
fn load_rubric(path: Option<&std::path::Path>, cases: &[Case]) -> Result<Rubric> {
    match path {
        None => Ok(Rubric::default_for(cases)),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::Usage(format!("cannot read the rubric {}: {e}", p.display()))
            })?;
            Rubric::parse(&text, &p.display().to_string(), cases).map_err(Error::Usage)
        }
    }
}

#[cfg(target_os = "linux")]
fn grade_command(args: GradeArgs) -> Result<u8> {
    if args.print_rubric {
        write_stdout(rubric::DEFAULT)?;
        return Ok(EXIT_OK);
    }
    if !args.merge.is_empty() {
        let out = args
            .out
            .ok_or_else(|| Error::Usage("grade --merge needs --out".into()))?;
        return crate::grade::shard::merge(&args.merge, &out);
    }
    let cases = suite::all();
    let rubric = load_rubric(args.rubric.as_deref(), &cases)?;
    let rubric_text = match &args.rubric {
        // Read again only to record it; load_rubric has already read and checked it.
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => rubric::DEFAULT.to_owned(),
    };
    let (Some(dir), Some(command), Some(out)) = (args.dir, args.exec, args.out) else {
        return Err(Error::Usage("grade needs DIR, --exec and --out".into()));
    };
    let shard = match &args.partition {
        Some(p) => Some((p.shard(&|name| std::env::var(name).ok())?, p.count)),
        None => None,
    };
    supervisor_panic_hook();
    crate::grade::run(crate::grade::GradeOptions {
        dir,
        command,
        out,
        jobs: args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |j| j as usize,
        ),
        rubric,
        force: args.force,
        limits: crate::sandbox::Limits {
            memory: args.memory,
            pids: args.pids,
            cpu: args.cpu_time,
            wall: args.wall_time,
        },
        start_timeout: args.start_timeout,
        timeout: args.timeout,
        split_pause: Duration::from_millis(40),
        seed: args.seed.unwrap_or_else(|| fastrand::u64(..)),
        rubric_text,
        shard,
    })
}

#[cfg(not(target_os = "linux"))]
fn grade_command(args: GradeArgs) -> Result<u8> {
    if args.print_rubric {
        write_stdout(rubric::DEFAULT)?;
        return Ok(EXIT_OK);
    }
    Err(Error::Usage("grade needs Linux (namespaces, /proc)".into()))
}

#[cfg(target_os = "linux")]
fn supervisor_panic_hook() {
    target::supervisor::stop_servers_on_panic();
}

/// Inside a submission's box: grade it and print the result as JSON.
#[cfg(target_os = "linux")]
fn grade_worker_command(spec: &str) -> Result<u8> {
    let spec: crate::grade::worker::WorkerSpec =
        serde_json::from_str(spec).map_err(|e| Error::Usage(format!("bad worker spec: {e}")))?;
    let result = crate::grade::worker::main(&spec).map_err(Error::Server)?;
    write_stdout(&serde_json::to_string(&result).expect("result serialises"))?;
    Ok(EXIT_OK)
}

#[cfg(not(target_os = "linux"))]
fn grade_worker_command(_: &str) -> Result<u8> {
    Err(Error::Usage("grade needs Linux".into()))
}

/// Applies the sandbox's limits and becomes the server's command.
#[cfg(target_os = "linux")]
fn jail_command(spec: &str, command: &[std::ffi::OsString]) -> Result<u8> {
    let spec: crate::sandbox::JailSpec =
        serde_json::from_str(spec).map_err(|e| Error::Usage(format!("bad jail spec: {e}")))?;
    let why = crate::sandbox::jail::exec(&spec, command);
    Err(Error::Server(format!("jail: {why}")))
}

#[cfg(target_os = "linux")]
fn net_box_command(command: &[std::ffi::OsString]) -> Result<u8> {
    let why = crate::sandbox::namespaces::exec_in_net_box(command);
    Err(Error::Server(format!("box: {why}")))
}

#[cfg(not(target_os = "linux"))]
fn net_box_command(_: &[std::ffi::OsString]) -> Result<u8> {
    Err(Error::Usage("the sandbox needs Linux".into()))
}

#[cfg(not(target_os = "linux"))]
fn jail_command(_: &str, _: &[std::ffi::OsString]) -> Result<u8> {
    Err(Error::Usage("the sandbox needs Linux".into()))
}

fn list_command() -> Result<u8> {
    let mut out = String::new();
    for case in suite::all() {
        out.push_str(&format!(
            "{:<36} {:<12} {}\n{:<49} requires: {}\n",
            case.id,
            case.group.name(),
            case.description,
            "",
            case.requirement
        ));
    }
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

fn list_findings_command() -> Result<u8> {
    let mut out = String::new();
    let mut area = "";
    for &code in Code::ALL {
        let info = code.info();
        if info.area != area {
            area = info.area;
            out.push_str(&format!(
                "{}{area}\n",
                if out.is_empty() { "" } else { "\n" }
            ));
        }
        out.push_str(&format!(
            "  {:<27} {:<8} {}\n",
            info.code,
            info.severity.name(),
            info.title
        ));
    }
    out.push_str("\n`srpc-check explain CODE` explains one, with a wrong and a right example.\n");
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

fn explain_command(code: &str) -> Result<u8> {
    let Some(code) = Code::parse(code) else {
        return Err(Error::Usage(format!(
            "'{code}' is not a finding code; `srpc-check list --findings` lists them"
        )));
    };
    write_stdout(&human::explain(code))?;
    Ok(EXIT_OK)
}

fn globs(flag: &str, patterns: &[String], cases: &[Case]) -> Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p)
            .map_err(|e| Error::Usage(format!("{flag} '{p}' is not a valid pattern: {e}")))?;
        let one = glob.compile_matcher();
        if !cases.iter().any(|c| one.is_match(c.id)) {
            return Err(Error::Usage(format!(
                "{flag} '{p}' matches no case; `srpc-check list` shows every id"
            )));
        }
        set.add(glob);
    }
    set.build()
        .map(Some)
        .map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

/// Which cases run; the others are only counted.
fn plan<'a>(cases: &'a [Case], args: &CheckArgs) -> Result<Plan<'a>> {
    let only = globs("--only", &args.only, cases)?;
    let skip = globs("--skip", &args.skip, cases)?;
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|c| only.as_ref().is_none_or(|g| g.is_match(c.id)))
        .filter(|c| skip.as_ref().is_none_or(|g| !g.is_match(c.id)))
        .collect();
    Ok(Plan {
        left_out: cases.len() - selected.len(),
        cases: selected,
        deadline: None,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start a runtime", e))
}

/// Finds the address of a remote target that accepts connections. The first connection to it
/// is a real, harmless request (a GET of a fresh name), never a bare connect-and-close, which
/// would itself be the "empty connection" test case.
fn reach(host: &str, port: u16, timeout: Duration, seed: u64) -> Result<SocketAddr> {
    let addrs = runtime()?.block_on(target::resolve(host, port))?;
    let mut reasons = Vec::new();
    for addr in &addrs {
        match Conn::connect(*addr, timeout) {
            Ok(mut conn) => {
                let name = serde_json::Value::String(format!("srpc-check-{seed:x}-preflight"));
                let _ = conn.send(&wire::request(&model::get_request(&name)));
                let _ = reply::read(&mut conn);
                return Ok(*addr);
            }
            // The address is said once: by the error line, or here when there are several.
            Err(e) if addrs.len() == 1 => reasons.push(e.to_string()),
            Err(e) => reasons.push(format!("{addr}: {e}")),
        }
    }
    let target = format!("{host}:{port}");
    let mut reason = reasons.join("; ");
    let refused = reasons.iter().all(|r| r.contains("refused"));
    if refused {
        let others = listeners::suggestions(port, &addrs);
        if let Some(best) = others.first() {
            reason.push_str(&format!(
                "\nbut something is listening on port {port} at another local address; try:\n  srpc-check --target {best}"
            ));
            for other in &others[1..] {
                reason.push_str(&format!("\n  srpc-check --target {other}"));
            }
            reason.push_str("\n(a server that binds socket.gethostname() listens on this host's own address, often 127.0.1.1, not on localhost)");
        } else {
            reason.push_str("\nis the server running? To let srpc-check start it, use --exec 'python3 your_server.py' (run from your server's folder); or pass --target HOST:PORT, or --target builtin to try the reference server");
        }
    }
    Err(Error::Unreachable { target, reason })
}

/// What keeps the server under test running for as long as it is held.
pub enum Server {
    /// The embedded reference server.
    Builtin(BuiltinServer),
    /// A process srpc-check started with --exec.
    #[cfg(target_os = "linux")]
    Exec(target::supervisor::Supervised),
    /// A server someone else runs.
    Remote,
}

impl Server {
    /// The process to restart, when srpc-check runs it.
    pub fn control(&mut self) -> Option<&mut dyn Control> {
        match self {
            #[cfg(target_os = "linux")]
            Server::Exec(s) => Some(s),
            _ => None,
        }
    }
}

/// The address to test, and what keeps that server running: the embedded reference server,
/// the process --exec starts, or what `remote` finds for HOST:PORT.
fn locate(
    target: Option<&Target>,
    exec: &ExecArgs,
    remote: impl FnOnce(&str, u16) -> Result<SocketAddr>,
) -> Result<(SocketAddr, Server)> {
    if let Some(command) = &exec.exec {
        return start_exec(command, target, exec.start_timeout);
    }
    let default = Target::Remote {
        host: "localhost".into(),
        port: 4444,
    };
    match target.unwrap_or(&default) {
        Target::Builtin => {
            let server = BuiltinServer::start(2)
                .map_err(|e| Error::io("cannot start the builtin server", e))?;
            Ok((server.addr(), Server::Builtin(server)))
        }
        Target::Remote { host, port } => Ok((remote(host, *port)?, Server::Remote)),
    }
}

#[cfg(target_os = "linux")]
fn start_exec(
    command: &str,
    target: Option<&Target>,
    start_timeout: Duration,
) -> Result<(SocketAddr, Server)> {
    use target::supervisor::{self, ExecSpec, Supervised};
    let expect = match target {
        None => Vec::new(),
        Some(Target::Builtin) => {
            return Err(Error::Usage(
                "--exec runs your server; --target builtin would test the reference server instead. Leave out --target, or give the HOST:PORT your server listens on".into(),
            ))
        }
        Some(Target::Remote { host, port }) => runtime()?.block_on(target::resolve(host, *port))?,
    };
    supervisor::stop_servers_on_panic();
    let server = Supervised::start(ExecSpec {
        command: command.to_owned(),
        dir: None,
        start_timeout,
        expect,
        wrapper: Vec::new(),
    })
    .map_err(|e| match e.failure() {
        Some(failure) => Error::NotStarted {
            why: e.to_string(),
            failure,
        },
        None => Error::Server(e.to_string()),
    })?;
    let addr = server.addr().expect("a started server has an address");
    Ok((addr, Server::Exec(server)))
}

#[cfg(not(target_os = "linux"))]
fn start_exec(_: &str, _: Option<&Target>, _: Duration) -> Result<(SocketAddr, Server)> {
    Err(Error::Usage(
        "--exec needs Linux (it reads the server's sockets from /proc)".into(),
    ))
}

/// How a target is named in reports: the command for --exec.
fn target_name(target: Option<&Target>, exec: &ExecArgs) -> String {
    match (&exec.exec, target) {
        (Some(command), _) => format!("exec '{command}'"),
        (None, Some(t)) => t.to_string(),
        (None, None) => "localhost:4444".into(),
    }
}

fn check_command(args: CheckArgs) -> Result<u8> {
    let cases = suite::all();
    let plan = plan(&cases, &args)?;
    let rubric = load_rubric(args.rubric.as_deref(), &cases)?;
    let github_output = std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty());
    // --classroom without $GITHUB_OUTPUT owns stdout; the report goes to stderr.
    let report_to_stderr = args.classroom && github_output.is_none();
    let emit = |text: &str| -> Result<()> {
        if report_to_stderr {
            eprint!("{text}");
            Ok(())
        } else {
            write_stdout(text)
        }
    };
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let target = target_name(args.target.as_ref(), &args.exec);
    let human = args.format == Format::Human;
    let style = human::Style::detect(std::io::stdout().is_terminal());
    // With --exec, the student's code is at hand: findings point at its lines. It is read
    // while the cases run.
    let source = match (&args.exec.exec, std::env::current_dir()) {
        (Some(command), Ok(dir)) => Some(Source::read_in_background(command, &dir)),
        _ => None,
    };
    let located = locate(args.target.as_ref(), &args.exec, |host, port| {
        reach(host, port, args.timeout, seed)
    });
    let (report, start_error) = match located {
        Ok((addr, mut server)) => {
            let settings = Settings {
                addr,
                timeout: args.timeout,
                split_pause: args.split_pause,
                allow_missing_error: args.allow_missing_error,
                seed,
                watch: Default::default(),
            };
            if human {
                emit(&human::header(&target, addr, seed))?;
            }
            let stream = human && args.verbose;
            let report =
                run_with_progress(&plan, settings, &target, &mut server, human, &mut |o| {
                    // --verbose: each case's line as it finishes, with the bug it recognised.
                    if stream {
                        let line = human::case_line(o, o.finding.map(Code::as_str), style);
                        emit(&format!("{line}\n"))
                    } else {
                        Ok(())
                    }
                })?;
            drop(server);
            (report, None)
        }
        // The server exited or never listened: one finding, with its output.
        Err(Error::NotStarted { why, failure }) => {
            let report = runner::not_started(
                &plan,
                &target,
                seed,
                &why,
                None,
                Some(failure),
                Duration::ZERO,
            );
            (report, Some(why))
        }
        // A grading platform still gets its results: zero, and why.
        Err(Error::Server(why)) if args.gradescope.is_some() || args.classroom => {
            eprintln!("srpc-check: {why}");
            let report =
                runner::not_started(&plan, &target, seed, &why, None, None, Duration::ZERO);
            let doc = json::Doc::from_run(&report, &diagnose::diagnose(&report, None));
            platform_results(&args, &doc, &rubric, github_output.as_deref(), Some(why))?;
            return Ok(EXIT_FAILED);
        }
        Err(e) => return Err(e),
    };
    let source = source.map(|s| s.wait());
    let diagnosis = diagnose::diagnose(&report, source.as_ref());
    let doc = json::Doc::from_run(&report, &diagnosis);
    if let Some(path) = &args.junit {
        write_file(path, &junit::render(&doc))?;
    }
    match args.format {
        Format::Human => emit(&human::render(
            &report,
            &doc,
            start_error.as_deref(),
            style,
            args.verbose,
        ))?,
        Format::Json => emit(&doc.to_pretty())?,
    }
    platform_results(&args, &doc, &rubric, github_output.as_deref(), start_error)?;
    Ok(if report.summary().failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Runs the plan against a located server, with a progress bar on a terminal.
fn run_with_progress(
    plan: &Plan<'_>,
    settings: Settings,
    target: &str,
    server: &mut Server,
    human: bool,
    on_outcome: &mut dyn FnMut(&runner::Outcome) -> Result<()>,
) -> Result<runner::RunReport> {
    let progress = if human && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(plan.cases.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .expect("valid progress template"),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut print_err = None;
    let report = runner::run(
        plan,
        settings,
        target,
        server.control(),
        &mut |case, n| {
            progress.set_position(n as u64);
            progress.set_message(case.id);
        },
        &mut |outcome| {
            if print_err.is_none() {
                progress.suspend(|| {
                    if let Err(e) = on_outcome(outcome) {
                        print_err = Some(e);
                    }
                });
            }
        },
    );
    progress.finish_and_clear();
    match print_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// --gradescope and --classroom: the run scored with the rubric, in each platform's format.
fn platform_results(
    args: &CheckArgs,
    doc: &json::Doc,
    rubric: &Rubric,
    github_output: Option<&std::ffi::OsStr>,
    start_error: Option<String>,
) -> Result<()> {
    if args.gradescope.is_none() && !args.classroom {
        return Ok(());
    }
    let score = crate::grade::score::score(doc, rubric);
    if let Some(path) = &args.gradescope {
        let graded = crate::grade::results::Graded::new(
            &doc.target,
            doc,
            &score,
            doc.duration_ms as u64,
            crate::grade::results::Notes {
                start_error,
                ..Default::default()
            },
        );
        let overview = crate::grade::results::overview(&graded, doc);
        write_file(
            path,
            &crate::report::gradescope::render(doc, &score, &overview),
        )?;
    }
    if args.classroom {
        let line = format!(
            "result={}\n",
            crate::report::classroom::encoded(&score, doc)
        );
        match github_output {
            Some(path) => {
                use std::io::Write as _;
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(line.as_bytes()))
                    .map_err(|e| Error::io("cannot append to $GITHUB_OUTPUT", e))?;
            }
            None => write_stdout(&line)?,
        }
    }
    Ok(())
}

fn bench_command(args: BenchArgs) -> Result<u8> {
    let opts = BenchOptions {
        connections: args.connections[0] as usize,
        duration: args.duration,
        value_bytes: args.value_bytes as usize,
        timeout: args.timeout,
        rate: args.rate,
        hold: args.hold as usize,
    };
    let resolve_first =
        |host: &str, port: u16| Ok(runtime()?.block_on(target::resolve(host, port))?[0]);
    let (addr, _server) = locate(args.target.as_ref(), &args.exec, resolve_first)?;
    let name = target_name(args.target.as_ref(), &args.exec);
    let no_exec = ExecArgs {
        exec: None,
        start_timeout: args.exec.start_timeout,
    };
    let compared = match &args.compare {
        Some(t) => Some((t.to_string(), locate(Some(t), &no_exec, resolve_first)?)),
        None => None,
    };
    let text = if args.connections.len() == 1 && compared.is_none() {
        let report = bench::run(&name, addr, &opts)?;
        match args.format {
            Format::Human => report.to_text(),
            Format::Json => {
                serde_json::to_string_pretty(&report).expect("report serialises") + "\n"
            }
        }
    } else {
        let levels: Vec<usize> = args.connections.iter().map(|&c| c as usize).collect();
        let b = compared.as_ref().map(|(n, (a, _))| (n.as_str(), *a));
        let sweep = bench::sweep((&name, addr), b, &levels, &opts, 3)?;
        match args.format {
            Format::Human => sweep.to_text(),
            Format::Json => serde_json::to_string_pretty(&sweep).expect("report serialises") + "\n",
        }
    };
    if let Some(path) = &args.output {
        write_file(path, &text)?;
    }
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

/// A saved fuzz finding: enough to replay it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    target: String,
    seed: u64,
    session: Session,
}

fn fuzz_command(args: FuzzArgs) -> Result<u8> {
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let replayed = match &args.replay {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            let saved: Saved = serde_json::from_str(&text).map_err(|e| {
                Error::Usage(format!(
                    "{} is not a saved fuzz session: {e}",
                    path.display()
                ))
            })?;
            Some(saved.session)
        }
        None => None,
    };
    let (addr, mut server) = locate(args.target.as_ref(), &args.exec, |host, port| {
        reach(host, port, args.timeout, seed)
    })?;
    let opts = FuzzOptions {
        addr,
        target: target_name(args.target.as_ref(), &args.exec),
        target_flag: match (&args.exec.exec, &args.target) {
            (Some(command), _) => format!("--exec {}", shell_quote(command)),
            (None, Some(t)) => format!("--target {t}"),
            (None, None) => String::new(),
        },
        seed,
        cases: args.cases.unwrap_or(if args.duration.is_some() {
            u64::MAX
        } else {
            500
        }),
        duration: args.duration,
        timeout: args.timeout,
        parallel: if matches!(args.target, Some(Target::Builtin)) && args.exec.exec.is_none() {
            fuzz::PARALLEL_SESSIONS
        } else {
            1
        },
    };
    let human = args.format == Format::Human;
    if human {
        write_stdout(&fuzz_text::header(&opts))?;
    }
    let report = match &replayed {
        Some(session) => fuzz::replay(&opts, server.control(), session),
        None => {
            let bar = if human && std::io::stderr().is_terminal() {
                let len = if opts.cases == u64::MAX {
                    0
                } else {
                    opts.cases
                };
                let pb = indicatif::ProgressBar::new(len);
                pb.set_style(
                    indicatif::ProgressStyle::with_template("{pos} cases  {per_sec}  {msg}")
                        .expect("valid progress template"),
                );
                pb
            } else {
                indicatif::ProgressBar::hidden()
            };
            let report = fuzz::run(&opts, server.control(), &mut |done, failures| {
                bar.set_position(done);
                bar.set_message(format!("failures: {failures}"));
            });
            bar.finish_and_clear();
            report
        }
    };
    if let (Some(path), Some(finding)) = (&args.save, &report.finding) {
        let saved = Saved {
            target: opts.target.clone(),
            seed,
            session: finding.minimal.clone(),
        };
        let text = serde_json::to_string_pretty(&saved).expect("session serialises");
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    match args.format {
        Format::Human => write_stdout(&fuzz_text::render(&report, args.save.as_deref()))?,
        Format::Json => write_stdout(
            &(serde_json::to_string_pretty(&report).expect("report serialises") + "\n"),
        )?,
    }
    Ok(if report.finding.is_some() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// `text` as one word for `sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Writes a whole file, naming it in the error.
pub fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}
