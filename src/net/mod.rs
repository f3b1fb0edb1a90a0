//! Bytes on sockets, in any protocol: everything srpc-check says to a server and hears back.
//!
//! - `conn`: one client connection with a deadline on every operation and a transcript of every
//!   byte, for evidence and reproducers.
//! - `reply`: why no reply came.
//! - `listeners`: what the kernel knows about local sockets (listeners, a connection's server
//!   end), read without ever connecting.
//!
//! Each protocol's codec and reply reader are its own, under [`crate::protocol`].

pub mod conn;
pub mod listeners;
pub mod reply;
