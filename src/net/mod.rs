//! Bytes on sockets: everything srpc-check says to a server and hears back.
//!
//! - `wire`: the harness's own srpc codec (frames, requests), independent of the reference
//!   server's.
//! - `conn`: one client connection with a deadline on every operation and a transcript of every
//!   byte, for evidence and reproducers.
//! - `reply`: reading a reply tolerantly, and naming what is wrong with it.
//! - `listeners`: what the kernel knows about local sockets (listeners, a connection's server
//!   end), read without ever connecting.

pub mod conn;
pub mod listeners;
pub mod reply;
pub mod wire;
