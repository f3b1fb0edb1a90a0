//! `srpc-check grade`: a class at a time (see `crate::grade`), or shards merged.

use std::time::Duration;

use crate::cli::GradeArgs;
use crate::error::{Error, Result, EXIT_OK};
use crate::outcome::rubric;
use crate::report::write_stdout;
use crate::server;

use super::load_rubric;

#[cfg(target_os = "linux")]
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
    let cases = crate::grade::case_keys(protocol, args.client_exec.is_some());
    let (rubric, rubric_text) = load_rubric(args.rubric.as_deref(), protocol, &cases)?;
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
pub(crate) fn grade_command(args: GradeArgs) -> Result<u8> {
    if args.print_rubric {
        write_stdout(args.protocol.get().rubrics.server)?;
        return Ok(EXIT_OK);
    }
    Err(Error::Usage("grade needs Linux (namespaces, /proc)".into()))
}

#[cfg(target_os = "linux")]
pub(crate) fn supervisor_panic_hook() {
    server::supervisor::stop_servers_on_panic();
}
