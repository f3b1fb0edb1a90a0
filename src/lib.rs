//! srpc-check: conformance tests, load and fuzzing for servers that speak srpc.
//!
//! `protocol` holds each protocol srpc-check speaks, one folder each (codec, oracle, cases,
//! findings); `net` holds the bytes on sockets (connections, the kernel's socket tables), `server` says
//! what is being tested (the builtin reference server, a HOST:PORT, or a process srpc-check runs
//! and supervises itself with `--exec`), `bench` generates load, and `cli`/`app` turn a command
//! line into work and an exit code. `host` says what this machine lets srpc-check see of the
//! programs it runs (Linux's /proc and socket tables, or a portable library elsewhere). `client` turns it around: srpc-check plays the server and the
//! student's client program is under test.

pub mod app;
pub mod bench;
pub mod cli;
#[cfg(unix)]
pub mod client;
pub mod codes;
pub mod commands;
pub mod diagnose;
pub mod error;
pub mod fuzz;
pub mod grade;
pub mod host;
pub mod net;
pub mod observe;
pub mod outcome;
pub mod protocol;
pub mod pyrepr;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod server;
pub mod suite;
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
