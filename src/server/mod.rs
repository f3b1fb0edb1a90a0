//! Where the server under test comes from: the embedded reference server (`builtin`), a
//! HOST:PORT somewhere (`--target`), or a process srpc-check runs and supervises itself
//! (`--exec`, in `supervisor`, with `traceback` reading its crashes).

use std::net::SocketAddr;

use crate::error::{Error, Result};

pub mod builtin;
pub mod folder;
pub mod output;
#[cfg(unix)]
pub mod supervisor;
pub mod traceback;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What happened to the server, recorded on the case after which it happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerEvent {
    pub event: EventKind,
    /// How it ended: "exit status 1", "signal 9 (SIGKILL)".
    pub status: Option<String>,
    /// The end of what it printed since it was last started.
    pub stderr_tail: String,
    /// srpc-check started it again afterwards.
    pub restarted: bool,
    /// The kernel's OOM killer stopped it or a process it started (the submission's memory
    /// limit, in `grade`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oom_killed: bool,
    /// The likely cause, from its traceback where it printed one.
    #[serde(skip)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The server's process exited by itself.
    Exited,
    /// It stopped answering, and srpc-check stopped it.
    Hung,
    /// It printed a traceback and went on running (one connection's handler raised).
    Raised,
}

/// A server srpc-check ran that never listened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartFailure {
    /// It exited (true), or kept running without listening until it was stopped (false).
    pub exited: bool,
    /// How it exited: "exit status 1".
    pub status: Option<String>,
    /// What it printed.
    pub output: String,
}

/// How long a server that stopped answering gets to finish exiting before it counts as hung.
pub const EXIT_WAIT: Duration = Duration::from_secs(1);

/// What the runner may do to a server that srpc-check runs itself.
pub trait Control {
    /// Has the server's process exited (waiting up to `wait` for it to)? If so, what is left
    /// of it is stopped, and the event says how it ended.
    fn exited(&mut self, wait: Duration) -> Option<ServerEvent>;
    /// Stops a server that no longer answers.
    fn kill_hung(&mut self) -> ServerEvent;
    /// Starts it again; where it now listens.
    fn restart(&mut self) -> std::result::Result<SocketAddr, String>;
    /// How often it was started again.
    fn restarts(&self) -> u32;
    /// The process ID at the root of the server's process tree, while it runs, for
    /// [`crate::observe`] to look at.
    fn pid(&self) -> Option<u32> {
        None
    }
    /// How many bytes the server has printed so far, a mark for [`Control::printed_since`].
    fn printed(&self) -> u64 {
        0
    }
    /// What the server printed after `mark` (as much of it as is kept).
    fn printed_since(&self, _mark: u64) -> String {
        String::new()
    }

    /// A server that stopped answering: the event of its exit if it exits within `wait`,
    /// otherwise it is stopped as hung.
    fn exited_or_kill(&mut self, wait: Duration) -> ServerEvent {
        match self.exited(wait) {
            Some(event) => event,
            None => self.kill_hung(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Start the reference server in-process on a free port.
    Builtin,
    /// A server somewhere else, as the user wrote it.
    Remote { host: String, port: u16 },
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(spec: &str) -> std::result::Result<Target, String> {
        if spec == "builtin" {
            return Ok(Target::Builtin);
        }
        let (host, port) = spec.rsplit_once(':').ok_or_else(|| {
            format!("'{spec}' is not HOST:PORT (for example localhost:4444), nor 'builtin'")
        })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("'{spec}' has no host; try localhost:{port}"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("'{port}' in '{spec}' is not a port number (1-65535)"))?;
        Ok(Target::Remote {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Builtin => f.write_str("builtin"),
            Target::Remote { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Target::Remote { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// Resolves a remote target to its addresses, in the resolver's order.
pub async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::Unreachable {
            target: format!("{host}:{port}"),
            reason: format!("the name does not resolve ({e})"),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Unreachable {
            target: format!("{host}:{port}"),
            reason: "the name resolves to no address".into(),
        });
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!("builtin".parse(), Ok(Target::Builtin));
        assert_eq!(
            "localhost:4444".parse(),
            Ok(Target::Remote {
                host: "localhost".into(),
                port: 4444
            })
        );
        assert_eq!(
            "[::1]:80".parse(),
            Ok(Target::Remote {
                host: "::1".into(),
                port: 80
            })
        );
        assert!("localhost"
            .parse::<Target>()
            .unwrap_err()
            .contains("HOST:PORT"));
        assert!("localhost:0".parse::<Target>().is_err());
        assert!("localhost:99999".parse::<Target>().is_err());
        assert!(":4444".parse::<Target>().unwrap_err().contains("no host"));
    }
}
