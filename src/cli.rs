//! Raw command-line flags (clap derive). Validation into working settings happens in `app`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::target::Target;

#[derive(Debug, Parser)]
#[command(
    name = "srpc-check",
    version,
    about = "Conformance tester, load generator and fuzzer for srpc servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure requests/s and latency with a closed-loop load, one request per connection.
    Bench(BenchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Server to load: HOST:PORT, or "builtin" for the embedded reference server.
    #[arg(long, default_value = "localhost:4444")]
    pub target: Target,
    /// Concurrent clients, each one request per connection, back to back.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,
    /// How long to run, e.g. 10s, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Size of each PUT value (a JSON string of this many bytes).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=16_000_000))]
    pub value_bytes: u32,
    /// Limit for each network operation.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Client threads [default: the number of cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also write the report to this file (in the chosen format).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (try 10s, 500ms, 1m)"))?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}
