//! What a protocol is to the server loop: a decision on the bytes a connection has sent so far.
//!
//! The loop in [`crate::server`] owns the sockets, the connection cap, the deadlines and the
//! draining; it knows no protocol. Each protocol (one module each: [`crate::srpc`],
//! [`crate::app`]) says only whether the bytes so far are a whole request yet, what to answer,
//! and what a client that stopped early is owed. "Not enough bytes yet" is a normal answer, so a
//! request split across any number of reads is served exactly like one that arrived whole.

/// Why a connection ended before a whole request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// The peer closed first (includes an empty connection).
    Eof,
    /// The read deadline passed.
    Timeout,
}

/// What the bytes received so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// More bytes are needed: at least `need` in all, as far as is known yet. The server
    /// reserves memory by what arrives, never by `need`.
    Incomplete { need: usize },
    /// Send `reply`, then close. `unread_input`: the client may still be sending, so the server
    /// half-closes and drains before it closes (a close with bytes unread would be a reset,
    /// which can destroy the reply in flight).
    Reply { reply: Vec<u8>, unread_input: bool },
    /// Close with no reply (the protocol has no way to say "malformed"), draining first.
    Close,
    /// Print `log` (when there is one), send `reply`, forget the first `consumed` bytes, and
    /// keep the connection for the client's next message (a protocol in which one connection
    /// carries a conversation, such as the lab 3 handshake). The read deadline starts again.
    Answer {
        reply: Vec<u8>,
        consumed: usize,
        log: Option<String>,
    },
}

/// One protocol the server can speak.
pub trait Protocol: Clone + Send + Sync + 'static {
    /// Decides on `received`, the bytes of one connection so far. A request whose declared
    /// size exceeds `max_request` is refused from its header alone.
    fn step(&self, received: &[u8], max_request: usize) -> Step;

    /// The reply owed to a client whose request never became whole, if any.
    fn unfinished(&self, why: Unfinished) -> Option<Vec<u8>>;

    /// What the server sends as soon as it accepts a client at `peer`, before it reads
    /// anything (None: the client speaks first, the usual case). A protocol that greets says
    /// so in [`Protocol::speaks_first`] too.
    fn greeting(&self, _peer: std::net::SocketAddr) -> Option<Vec<u8>> {
        None
    }

    /// The server speaks first: its clients send nothing until they have its greeting, so the
    /// listener must not wait for their first bytes before it accepts them.
    fn speaks_first(&self) -> bool {
        false
    }

    /// The line the server prints once it listens on `addr`.
    fn listening(&self, addr: std::net::SocketAddr) -> String {
        format!("listening on {addr}")
    }
}

/// Where the lines a protocol prints go (the lab 3 server's `Connected: ...`): the binary
/// prints them; the default drops them; srpc-check's embedded server keeps them to check.
#[derive(Clone, Default)]
pub struct Log(Option<std::sync::Arc<Sink>>);

/// What receives each printed line.
type Sink = dyn Fn(&str) + Send + Sync;

impl Log {
    /// Every line goes to `sink`.
    pub fn to(sink: impl Fn(&str) + Send + Sync + 'static) -> Log {
        Log(Some(std::sync::Arc::new(sink)))
    }

    /// Lines printed on standard output, each flushed at once.
    pub fn stdout() -> Log {
        Log::to(|line| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        })
    }

    pub fn line(&self, line: &str) {
        if let Some(sink) = &self.0 {
            sink(line);
        }
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Log(on)"
        } else {
            "Log(off)"
        })
    }
}
