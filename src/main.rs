use std::process::ExitCode;

use clap::Parser;
use srpc_check::{app, cli::Cli, error::EXIT_NO_VERDICT};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("srpc-check: {e}");
            ExitCode::from(EXIT_NO_VERDICT)
        }
    }
}
