//! The commands, one file each: `check` (the default: the conformance suite), `grade`, `bench`,
//! `fuzz`, `list`, `explain`, and the `internal` ones srpc-check runs inside its own sandboxes.
//! Here: what several of them share (reaching a target, starting the server under test, the
//! rubric, the tokio runtime).

pub mod bench;
pub mod call;
pub mod check;
#[cfg(unix)]
pub mod client;
pub mod explain;
pub mod fuzz;
pub mod grade;
pub mod internal;
pub mod list;

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::net::conn::Conn;
use crate::net::listeners;
use crate::outcome::rubric::Rubric;
use crate::server::builtin::BuiltinServer;
use crate::server::{self, Control, Target};
use crate::suite::CaseKey;

/// The rubric from --rubric, or the default one.
/// The rubric at `path` (the default without one), and its TOML text, for the record.
pub(crate) fn load_rubric(
    path: Option<&std::path::Path>,
    protocol: &crate::protocol::Protocol,
    cases: &[CaseKey],
) -> Result<(Rubric, String)> {
    match path {
        None => Ok((
            Rubric::default_for(protocol, cases),
            crate::outcome::rubric::default_text(protocol, cases).to_owned(),
        )),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::Usage(format!("cannot read the rubric {}: {e}", p.display()))
            })?;
            let rubric =
                Rubric::parse(&text, &p.display().to_string(), cases).map_err(Error::Usage)?;
            Ok((rubric, text))
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start a runtime", e))
}

/// Finds the address of a remote target that accepts connections. The first connection to it
/// is a real, harmless request of the protocol's (srpc: a GET of a fresh name), never a bare
/// connect-and-close, which would itself be the "empty connection" test case.
pub(crate) fn reach(
    protocol: &crate::protocol::Protocol,
    host: &str,
    port: u16,
    timeout: Duration,
    seed: u64,
) -> Result<SocketAddr> {
    let (addr, mut conn) = connect_any(host, port, timeout, "srpc-check", NOT_RUNNING)?;
    (protocol.greet)(&mut conn, seed);
    Ok(addr)
}

/// What to do when nothing listens, for the conformance run.
const NOT_RUNNING: &str = "is the server running? To let srpc-check start it, use --exec 'python3 your_server.py' (run from your server's folder); or pass --target HOST:PORT, or --target builtin to try the reference server";

/// A connection to the first address of HOST:PORT that accepts one. When every address
/// refuses, the error says what to try next: `command` with another --target when something
/// listens on the port elsewhere, else `not_running`.
pub(crate) fn connect_any(
    host: &str,
    port: u16,
    timeout: Duration,
    command: &str,
    not_running: &str,
) -> Result<(SocketAddr, Conn)> {
    let addrs = runtime()?.block_on(server::resolve(host, port))?;
    let mut reasons = Vec::new();
    for addr in &addrs {
        match Conn::connect(*addr, timeout) {
            Ok(conn) => return Ok((*addr, conn)),
            // The address is said once: by the error line, or here when there are several.
            Err(e) if addrs.len() == 1 => reasons.push(e.to_string()),
            Err(e) => reasons.push(format!("{addr}: {e}")),
        }
    }
    let target = format!("{host}:{port}");
    let mut reason = reasons.join("; ");
    let refused = reasons.iter().all(|r| r.contains("refused"));
    if refused {
        let others = listeners::suggestions(port, &addrs);
        if let Some(best) = others.first() {
            reason.push_str(&format!(
                "\nbut something is listening on port {port} at another local address; try:\n  {command} --target {best}"
            ));
            for other in &others[1..] {
                reason.push_str(&format!("\n  {command} --target {other}"));
            }
            reason.push_str("\n(a server that binds socket.gethostname() listens on this host's own address, often 127.0.1.1, not on localhost)");
        } else {
            reason.push('\n');
            reason.push_str(not_running);
        }
    }
    Err(Error::Unreachable { target, reason })
}

/// What keeps the server under test running for as long as it is held.
pub enum Server {
    /// The embedded reference server.
    Builtin(BuiltinServer),
    /// A process srpc-check started with --exec.
    #[cfg(unix)]
    Exec(server::supervisor::Supervised),
    /// A server someone else runs.
    Remote,
}

impl Server {
    /// Reads the server's source in the background: the program its Python process runs,
    /// when srpc-check runs it and could read that, else the files `command` names.
    pub(crate) fn read_source(
        &self,
        command: &str,
        dir: &std::path::Path,
    ) -> crate::diagnose::source::Pending {
        match self {
            #[cfg(unix)]
            Server::Exec(s) => s.read_source(command, dir),
            _ => crate::diagnose::Source::read_in_background(command, dir),
        }
    }

    /// What the server prints, where srpc-check can see it (not for a remote server).
    pub fn printed(&self) -> Option<crate::server::output::Output> {
        match self {
            Server::Builtin(b) => Some(b.printed()),
            #[cfg(unix)]
            Server::Exec(s) => Some(s.output_handle()),
            Server::Remote => None,
        }
    }

    /// The process to restart, when srpc-check runs it.
    pub fn control(&mut self) -> Option<&mut dyn Control> {
        match self {
            #[cfg(unix)]
            Server::Exec(s) => Some(s),
            _ => None,
        }
    }
}

/// The address to test, and what keeps that server running: the embedded reference server,
/// the process --exec starts, or what `remote` finds for HOST:PORT.
pub(crate) fn locate(
    protocol: &crate::protocol::Protocol,
    target: Option<&Target>,
    exec: &ExecArgs,
    remote: impl FnOnce(&str, u16) -> Result<SocketAddr>,
) -> Result<(SocketAddr, Server)> {
    if let Some(command) = &exec.exec {
        return start_exec(command, target, exec.start_timeout);
    }
    let default = Target::Remote {
        host: "localhost".into(),
        port: protocol.default_port,
    };
    match target.unwrap_or(&default) {
        Target::Builtin => {
            let server = BuiltinServer::speaking(protocol.name, 2)
                .map_err(|e| Error::io("cannot start the builtin server", e))?;
            Ok((server.addr(), Server::Builtin(server)))
        }
        Target::Remote { host, port } => Ok((remote(host, *port)?, Server::Remote)),
    }
}

#[cfg(unix)]
pub(crate) fn start_exec(
    command: &str,
    target: Option<&Target>,
    start_timeout: Duration,
) -> Result<(SocketAddr, Server)> {
    use server::supervisor::{self, ExecSpec, Supervised};
    let expect = match target {
        None => Vec::new(),
        Some(Target::Builtin) => {
            return Err(Error::Usage(
                "--exec runs your server; --target builtin would test the reference server instead. Leave out --target, or give the HOST:PORT your server listens on".into(),
            ))
        }
        Some(Target::Remote { host, port }) => runtime()?.block_on(server::resolve(host, *port))?,
    };
    supervisor::stop_servers_on_panic();
    let server = Supervised::start(ExecSpec {
        command: command.to_owned(),
        dir: None,
        start_timeout,
        expect,
        ..ExecSpec::default()
    })
    .map_err(|e| match e.failure() {
        Some(failure) => Error::NotStarted {
            why: e.to_string(),
            failure,
        },
        None => Error::Server(e.to_string()),
    })?;
    let addr = server.addr().expect("a started server has an address");
    Ok((addr, Server::Exec(server)))
}

#[cfg(not(unix))]
pub(crate) fn start_exec(_: &str, _: Option<&Target>, _: Duration) -> Result<(SocketAddr, Server)> {
    Err(Error::Usage(
        "--exec needs a Unix system (Linux or macOS): it runs the server in its own process group"
            .into(),
    ))
}

/// How a target is named in reports: the command for --exec.
pub(crate) fn target_name(target: Option<&Target>, exec: &ExecArgs) -> String {
    match (&exec.exec, target) {
        (Some(command), _) => format!("exec '{command}'"),
        (None, Some(t)) => t.to_string(),
        (None, None) => "localhost:4444".into(),
    }
}

/// `text` as one word for `sh`.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
