//! Runs a parsed command line: each command lives in its own file under `commands/`.

use crate::cli::{Cli, Command};
use crate::commands::{bench, call, check, explain, fuzz, grade, internal, list};
use crate::error::Result;

/// Runs the command and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        None => check::check_command(cli.check),
        Some(Command::List {
            findings: false,
            protocol,
        }) => list::list_command(protocol.get()),
        Some(Command::List {
            findings: true,
            protocol,
        }) => list::list_findings_command(protocol.get()),
        Some(Command::Explain { code, protocol }) => {
            explain::explain_command(&code, protocol.get())
        }
        Some(Command::Bench(args)) => bench::bench_command(args),
        Some(Command::Call(args)) => call::call_command(args),
        #[cfg(unix)]
        Some(Command::Client(args)) => crate::commands::client::client_command(args),
        #[cfg(not(unix))]
        Some(Command::Client(_)) => Err(crate::error::Error::Usage(
            "client needs Linux (network namespaces, the kernel's socket tables)".into(),
        )),
        Some(Command::Fuzz(args)) => fuzz::fuzz_command(args),
        Some(Command::Grade(args)) => grade::grade_command(args),
        Some(Command::GradeWorker { spec }) => internal::grade_worker_command(&spec),
        Some(Command::Jail { spec, command }) => internal::jail_command(&spec, &command),
        Some(Command::NetBox { command }) => internal::net_box_command(&command),
    }
}
