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
}

/// One protocol the server can speak.
pub trait Protocol: Clone + Send + Sync + 'static {
    /// Decides on `received`, the bytes of one connection so far. A request whose declared
    /// size exceeds `max_request` is refused from its header alone.
    fn step(&self, received: &[u8], max_request: usize) -> Step;

    /// The reply owed to a client whose request never became whole, if any.
    fn unfinished(&self, why: Unfinished) -> Option<Vec<u8>>;
}
