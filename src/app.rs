//! Runs a parsed command line: validates it, does the work, and picks the exit code.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::bench::{self, BenchOptions};
use crate::cli::{BenchArgs, CheckArgs, Cli, Command, Format, FuzzArgs};
use crate::conn::Conn;
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::fuzz::{self, session::Session, FuzzOptions};
use crate::report::{fuzz_text, human, json, junit};
use crate::runner::{self, Plan};
use crate::suite::{self, Case, Settings};
use crate::target::builtin::BuiltinServer;
use crate::target::{self, Target};
use crate::{listeners, model, reply, wire};

/// Runs the command and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        None => check_command(cli.check),
        Some(Command::List) => list_command(),
        Some(Command::Bench(args)) => bench_command(args),
        Some(Command::Fuzz(args)) => fuzz_command(args),
    }
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

/// Which cases run, and why the others do not.
fn plan<'a>(cases: &'a [Case], args: &CheckArgs) -> Result<Plan<'a>> {
    let only = globs("--only", &args.only, cases)?;
    let skip = globs("--skip", &args.skip, cases)?;
    Ok(Plan {
        cases: cases
            .iter()
            .map(|c| {
                let reason = if only.as_ref().is_some_and(|g| !g.is_match(c.id)) {
                    Some("not selected by --only".to_owned())
                } else if skip.as_ref().is_some_and(|g| g.is_match(c.id)) {
                    Some("skipped by --skip".to_owned())
                } else {
                    None
                };
                (c, reason)
            })
            .collect(),
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
            reason.push_str("\nis the server running? Start it, or pass --target HOST:PORT (or --target builtin to try the reference server)");
        }
    }
    Err(Error::Unreachable { target, reason })
}

/// The address to test: the embedded reference server's (returned too, so the caller keeps it
/// running), or what `remote` finds for HOST:PORT.
fn locate(
    target: &Target,
    remote: impl FnOnce(&str, u16) -> Result<SocketAddr>,
) -> Result<(SocketAddr, Option<BuiltinServer>)> {
    match target {
        Target::Builtin => {
            let server = BuiltinServer::start(2)
                .map_err(|e| Error::io("cannot start the builtin server", e))?;
            Ok((server.addr(), Some(server)))
        }
        Target::Remote { host, port } => Ok((remote(host, *port)?, None)),
    }
}

fn check_command(args: CheckArgs) -> Result<u8> {
    let cases = suite::all();
    let plan = plan(&cases, &args)?;
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let (addr, _builtin) = locate(&args.target, |host, port| {
        reach(host, port, args.timeout, seed)
    })?;
    let settings = Settings {
        addr,
        timeout: args.timeout,
        split_pause: args.split_pause,
        allow_missing_error: args.allow_missing_error,
        seed,
    };
    let target = args.target.to_string();
    let human = args.format == Format::Human;
    let style = human::Style::detect(std::io::stdout().is_terminal());
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
    if human {
        write_stdout(&human::header(&target, addr, seed))?;
    }
    let mut print_err = None;
    let report = runner::run(
        &plan,
        settings,
        &target,
        &mut |case, n| {
            progress.set_position(n as u64);
            progress.set_message(case.id);
        },
        &mut |outcome| {
            if human && print_err.is_none() {
                let line = human::case_line(outcome, style);
                progress.suspend(|| {
                    if let Err(e) = write_stdout(&format!("{line}\n")) {
                        print_err = Some(e);
                    }
                });
            }
        },
    );
    progress.finish_and_clear();
    if let Some(e) = print_err {
        return Err(e);
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::render(&report))
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    match args.format {
        Format::Human => write_stdout(&human::footer(&report, style))?,
        Format::Json => write_stdout(&json::render(&report))?,
    }
    Ok(if report.summary().failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

fn bench_command(args: BenchArgs) -> Result<u8> {
    let opts = BenchOptions {
        connections: args.connections as usize,
        duration: args.duration,
        value_bytes: args.value_bytes as usize,
        timeout: args.timeout,
        threads: args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |t| t as usize,
        ),
    };
    let (addr, _builtin) = locate(&args.target, |host, port| {
        Ok(runtime()?.block_on(target::resolve(host, port))?[0])
    })?;
    let report = bench::run(&args.target.to_string(), addr, &opts)?;
    let text = match args.format {
        Format::Human => report.to_text(),
        Format::Json => serde_json::to_string_pretty(&report).expect("report serialises") + "\n",
    };
    if let Some(path) = &args.output {
        std::fs::write(path, &text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
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
    let (addr, _builtin) = locate(&args.target, |host, port| {
        reach(host, port, args.timeout, seed)
    })?;
    let opts = FuzzOptions {
        addr,
        target: args.target.to_string(),
        seed,
        cases: args.cases.unwrap_or(if args.duration.is_some() {
            u64::MAX
        } else {
            500
        }),
        duration: args.duration,
        timeout: args.timeout,
    };
    let human = args.format == Format::Human;
    if human {
        write_stdout(&fuzz_text::header(&opts))?;
    }
    let report = match &replayed {
        Some(session) => fuzz::replay(&opts, session),
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
            let report = fuzz::run(&opts, &mut |done, failures| {
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
