//! Errors that stop srpc-check from reaching a verdict, and the exit code each maps to.

/// Exit code when every case passed (or the command succeeded).
pub const EXIT_OK: u8 = 0;
/// Exit code when at least one case failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when no verdict was possible: a usage error or an unreachable target.
pub const EXIT_NO_VERDICT: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
    /// Nothing answered at the target.
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// The server that --exec runs could not be started.
    #[error("{0}")]
    Server(String),
    /// The server that --exec runs exited before it listened, or never listened.
    #[error("{why}")]
    NotStarted {
        why: String,
        failure: crate::server::StartFailure,
    },
    /// The harness itself could not do its job (runtime, file or thread failure).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
