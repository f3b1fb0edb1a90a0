//! handshake: the lab 3 protocol, a pickle handshake on 127.0.0.1:12000.
//!
//! No framing: each message is one pickle, sent with one send(). On accept the server sends
//! `{'clientid': addr[1]}` (the client's own port); the client sends `{'student_name': str,
//! 'github_username': str, 'sid': int}`; the server prints `Connected: Student: NAME, Github
//! Username: GH, sid: SID` and answers the int 1. [`pickle`] reads what a peer sends without
//! ever running it (every opcode that names or calls an object is refused first) and writes
//! plain values as Python does; [`cases`] holds the cases (one file per group), [`findings`]
//! the codes and their source patterns, [`client`] the client cases.

pub mod call;
pub mod cases;
#[cfg(unix)]
pub mod client;
pub mod findings;
pub mod fuzz;
pub mod load;
pub mod pickle;
pub mod rubrics;

use super::Protocol;
use crate::codes::Code;
use findings::HandshakeCode;

/// The lab 3 protocol.
pub static HANDSHAKE: Protocol = Protocol {
    name: "handshake",
    lab: "lab 3",
    summary: "the pickle handshake: the client id, the student info, the ack 1",
    cases: cases::all,
    fresh: cases::fresh,
    // The server speaks first: the id, then (after the client's info) the ack.
    read_request_py: "    pass  # the server speaks first: the pieces below are the id, then the ack\n",
    fuzz: crate::fuzz::Fuzzer::of::<fuzz::Handshake>(),
    load: &load::LOAD,
    greet: cases::greet,
    call: &call::CALL,
    rubrics: crate::outcome::rubric::Rubrics {
        server: rubrics::DEFAULT,
        with_client: rubrics::DEFAULT_WITH_CLIENT,
        client: rubrics::DEFAULT_CLIENT,
    },
    own_codes: findings::own,
    shared_text: findings::shared_text,
    default_port: 12000,
    grading_label: "the lab's handshake",
    #[cfg(unix)]
    client_cases: Some(client::cases),
    #[cfg(not(unix))]
    client_cases: None,
    sniff: cases::sniff,
    locate: findings::locate,
    // The lab's server prints the exception of a client it could not serve and goes on.
    prints_tracebacks: true,
    probe: None,
    refine: findings::refine,
    more_findings: |_, _, _| {},
    crash_cause,
};

/// A crash during a case whose input explains it: `pickle.loads(b"")` (EOFError) or a
/// departure error is a client that left, whichever case saw it; an exception on a bad
/// message is the bad message's.
fn crash_cause(o: &crate::runner::Outcome) -> Option<Code> {
    let id = o.id;
    let traceback = o
        .server
        .as_ref()
        .and_then(|e| crate::server::traceback::Traceback::parse(&e.stderr_tail));
    let left = traceback
        .as_ref()
        .is_some_and(|t| t.is_departure() || t.kind() == "EOFError");
    if left
        || id.starts_with("robust/leaves")
        || id == "robust/reset-after-id"
        || id == "robust/empty-connection"
    {
        Some(Code::CrashWhenClientLeaves)
    } else if id.starts_with("robust/") {
        Some(Code::Handshake(HandshakeCode::CrashOnBadPickle))
    } else if id.starts_with("fragment/") {
        Some(Code::Handshake(HandshakeCode::InfoSingleRecv))
    } else {
        None
    }
}
