//! `srpc-check grade`: a class at a time (see `crate::grade`), or shards merged.

use crate::cli::GradeArgs;
use crate::error::{Error, Result, EXIT_OK};
use crate::outcome::rubric;
use crate::report::write_stdout;

pub(crate) fn grade_command(args: GradeArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    crate::protocol::client_exec_allowed(protocol, args.client_exec.is_some())
        .map_err(Error::Usage)?;
    if args.print_rubric {
        let cases = crate::grade::case_keys(protocol, args.client_exec.is_some());
        write_stdout(rubric::default_text(protocol, &cases))?;
        return Ok(EXIT_OK);
    }
    if !args.merge.is_empty() {
        let out = args
            .out
            .ok_or_else(|| Error::Usage("grade --merge needs --out".into()))?;
        return crate::grade::shard::merge(&args.merge, &out);
    }
    sandboxes_here()?;
    run_class(args)
}

/// grade runs every submission in a box of Linux's namespaces and cgroups: a usage error
/// where there are none, naming what is missing and what works instead.
fn sandboxes_here() -> Result<()> {
    match crate::host::why_portable() {
        None => Ok(()),
        Some(why) if cfg!(target_os = "linux") => Err(Error::Usage(format!(
            "grade needs Linux's sandboxes (namespaces, cgroups, /proc), and {why}: unset {} to grade",
            crate::host::PORTABLE_ENV
        ))),
        Some(why) => Err(Error::Usage(format!(
            "grade needs Linux: it runs each submission in a sandbox made of Linux namespaces and cgroups, and {why}. Grade on a Linux machine (a CI runner, a container, WSL); here, `srpc-check --exec COMMAND` checks one server, and --print-rubric and --merge work"
        ))),
    }
}

#[cfg(target_os = "linux")]
fn run_class(args: GradeArgs) -> Result<u8> {
    use super::load_rubric;
    use crate::server;
    use std::time::Duration;
    let protocol = args.protocol.get();
    let cases = crate::grade::case_keys(protocol, args.client_exec.is_some());
    let (rubric, rubric_text) = load_rubric(args.rubric.as_deref(), protocol, &cases)?;
    let (Some(dir), Some(command), Some(out)) = (args.dir, args.exec, args.out) else {
        return Err(Error::Usage("grade needs DIR, --exec and --out".into()));
    };
    let shard = match &args.partition {
        Some(p) => Some((p.shard(&|name| std::env::var(name).ok())?, p.count)),
        None => None,
    };
    server::supervisor::stop_servers_on_panic();
    crate::grade::run(crate::grade::GradeOptions {
        dir,
        command,
        protocol: protocol.name.to_owned(),
        client_command: args.client_exec,
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
fn run_class(_: GradeArgs) -> Result<u8> {
    Err(Error::Usage("grade needs Linux".into()))
}
