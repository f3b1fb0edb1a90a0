//! srpc-check: conformance tests, load and fuzzing for servers that speak srpc.
//!
//! `wire` is the harness's own codec (independent of the reference server's), `target` says
//! what is being tested (the builtin reference server, a HOST:PORT, or a process srpc-check runs
//! and supervises itself with `--exec`), `bench` generates load, and `cli`/`app` turn a command
//! line into work and an exit code.

pub mod app;
pub mod bench;
pub mod cli;
pub mod conn;
pub mod diagnose;
pub mod error;
pub mod fuzz;
pub mod grade;
pub mod listeners;
pub mod model;
pub mod observe;
pub mod reply;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod suite;
pub mod target;
pub mod wire;
pub mod words;

/// A fresh, empty folder under the system's temporary directory, for unit tests.
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "srpc-check-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("a test folder");
    dir
}
