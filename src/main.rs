use std::process::ExitCode;

use clap::Parser;
use srpc_check::{app, cli::Cli, error::EXIT_NO_VERDICT};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = app::run(cli);
    // Interrupted meanwhile: the exit is the signal's (130 for Ctrl-C), not this run's.
    #[cfg(unix)]
    srpc_check::server::supervisor::wait_if_interrupted();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("srpc-check: {e}");
            ExitCode::from(EXIT_NO_VERDICT)
        }
    }
}
