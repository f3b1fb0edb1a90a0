//! Why no reply came, in any protocol.

use std::time::Duration;

/// Why no reply could be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoReply {
    /// The server closed without sending anything.
    ClosedSilently,
    /// The connection was reset before anything arrived.
    Reset,
    /// Nothing arrived within the time limit, or (with what was observed) the server was seen
    /// to be unable to send anything in time.
    Silent(Option<String>),
    /// Bytes arrived, but they are not a reply in any reading.
    Garbled { reason: String },
}

impl NoReply {
    pub fn describe(&self, timeout: Duration) -> String {
        match self {
            NoReply::ClosedSilently => "the server closed the connection without replying".into(),
            NoReply::Reset => "the connection was reset without a reply".into(),
            NoReply::Silent(None) => {
                format!("no reply within {}", humantime::format_duration(timeout))
            }
            NoReply::Silent(Some(why)) => format!("no reply: {why}"),
            NoReply::Garbled { reason } => format!("the reply could not be read: {reason}"),
        }
    }
}
