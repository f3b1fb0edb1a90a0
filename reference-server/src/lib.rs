//! The srpc reference server: the definition of the protocol that runs.
//!
//! Layers, bottom up: [`frame`] turns bytes into frames, [`json`] reads and writes JSON the way
//! CPython does, [`command`] turns a payload into a reply against the [`db`], and [`server`]
//! owns the sockets. This crate shares no code with the srpc-check harness on purpose: if the two
//! shared a codec, a bug in it would pass conformance unnoticed.

pub mod command;
pub mod db;
pub mod frame;
pub mod json;
pub mod server;

pub use command::respond;
pub use db::Db;
pub use server::{raise_fd_limit, run, run_with, serve_connection, Config};
