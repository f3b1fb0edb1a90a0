//! Runs a parsed command line: validates it, does the work, and picks the exit code.

use std::io::Write;

use crate::bench::{self, BenchOptions};
use crate::builtin::BuiltinServer;
use crate::cli::{BenchArgs, Cli, Command, Format};
use crate::error::{Error, Result, EXIT_OK};
use crate::target::{self, Target};

/// Runs the command and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Bench(args) => bench_command(args),
    }
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
    let builtin;
    let addr = match &args.target {
        Target::Builtin => {
            builtin = BuiltinServer::start(2)
                .map_err(|e| Error::io("cannot start the builtin server", e))?;
            builtin.addr()
        }
        Target::Remote { host, port } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io("cannot start a runtime", e))?;
            rt.block_on(target::resolve(host, *port))?[0]
        }
    };
    let report = bench::run(&args.target.to_string(), addr, &opts)?;
    let text = match args.format {
        Format::Text => report.to_text(),
        Format::Json => serde_json::to_string_pretty(&report).expect("report serialises") + "\n",
    };
    if let Some(path) = &args.output {
        std::fs::write(path, &text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    write_stdout(&text)?;
    Ok(EXIT_OK)
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
