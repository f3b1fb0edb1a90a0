//! The reference server of srpc-check: the definition of each lab protocol that runs.
//!
//! [`server`] owns the sockets, the connection cap and the deadlines, and knows no protocol;
//! each protocol is one module behind the [`protocol::Protocol`] trait: [`srpc`] (the GET/PUT
//! lab) and [`app`] (lab 4, Real Python's socket tutorial). [`json`] reads and writes JSON the
//! way CPython does, for both. This crate shares no code with the srpc-check harness on purpose:
//! if the two shared a codec, a bug in it would pass conformance unnoticed.

pub mod app;
pub mod json;
pub mod protocol;
pub mod server;
pub mod srpc;

pub use app::App;
pub use protocol::{Protocol, Step, Unfinished};
pub use server::{raise_fd_limit, run, run_with, serve_connection, Config};
pub use srpc::command::respond;
pub use srpc::db::Db;
pub use srpc::{command, db, frame, Srpc};

/// The protocols the server speaks, by the name `--protocol` takes.
pub const PROTOCOLS: &[&str] = &["srpc", "app"];
