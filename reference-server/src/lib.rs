//! The reference server of srpc-check: the definition of each lab protocol that runs.
//!
//! [`server`] owns the sockets, the connection cap and the deadlines, and knows no protocol;
//! each protocol is one module behind the [`protocol::Protocol`] trait: [`srpc`] (the GET/PUT
//! lab) and [`app`] (lab 4, Real Python's socket tutorial). [`json`] reads and writes JSON the
//! way CPython does, for both. This crate shares no code with the srpc-check harness on purpose:
//! if the two shared a codec, a bug in it would pass conformance unnoticed.

pub mod app;
pub mod handshake;
pub mod json;
pub mod protocol;
pub mod server;
pub mod srpc;

pub use app::App;
pub use handshake::Handshake;
pub use protocol::{Log, Protocol, Step, Unfinished};
pub use server::{raise_fd_limit, run, run_with, serve_connection, serve_session, Config};
pub use srpc::command::respond;
pub use srpc::db::Db;
pub use srpc::{command, db, frame, Srpc};

/// The protocols the server speaks, one line each: the name `--protocol` takes, the value of
/// its [`Protocol`] that serves it, and its lab's port. Adding a protocol is a module and a
/// line here.
macro_rules! served {
    ($($name:literal => $protocol:expr, port $port:literal),* $(,)?) => {
        /// The protocols the server speaks, by the name `--protocol` takes.
        pub const PROTOCOLS: &[&str] = &[$($name),*];

        /// The port the lab of the protocol called `name` uses.
        pub fn default_port(name: &str) -> Option<u16> {
            match name {
                $($name => Some($port),)*
                _ => None,
            }
        }

        /// The line the server prints once it listens on `addr`, in the protocol called `name`.
        pub fn listening_line(name: &str, addr: std::net::SocketAddr) -> String {
            match name {
                $($name => Protocol::listening(&$protocol, addr),)*
                _ => format!("listening on {addr}"),
            }
        }

        /// Runs the server speaking the protocol called `name` (one of [`PROTOCOLS`]) until
        /// `shutdown` completes, as [`run_with`] does.
        pub async fn run_named(
            name: &str,
            listener: tokio::net::TcpListener,
            config: Config,
            shutdown: impl std::future::Future,
        ) -> std::io::Result<()> {
            match name {
                $($name => run_with(listener, config, $protocol, shutdown).await,)*
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("no protocol called {name}; the server speaks {}", PROTOCOLS.join(", ")),
                )),
            }
        }
    };
}

served! {
    "srpc" => Srpc::default(), port 4444,
    "app" => App, port 65432,
    "handshake" => Handshake, port 12000,
}
