//! app: the lab 4 protocol, Real Python's socket tutorial (`app-server.py`, `libserver.py`) with
//! the assignment's binary double and negate.
//!
//! A message, both ways: a 2-byte big-endian length, that many bytes of JSON header with the
//! keys byteorder, content-type, content-encoding and content-length, then content-length bytes
//! of content. One request per connection; the server closes after its reply. [`codec`] builds
//! and reads messages, [`oracle`] says what the server answers, [`cases`] holds the cases (one
//! file per group) and [`findings`] the codes, their rules and their source patterns.

pub mod call;
pub mod cases;
pub mod codec;
pub mod findings;
pub mod oracle;

use super::Protocol;
use crate::diagnose::Code;

/// The lab 4 protocol.
pub static APP: Protocol = Protocol {
    name: "app",
    lab: "lab 4",
    summary: "Real Python's socket tutorial: a 2-byte length, a JSON header, then the content",
    cases: cases::all,
    fresh: cases::fresh,
    codes: || {
        let own = findings::AppCode::LISTED.iter().map(|&c| Code::App(c));
        let mut codes: Vec<Code> = Code::SHARED.to_vec();
        codes.extend(own);
        codes
    },
    // The tutorial's port (the lab's examples use 9000).
    default_port: 65432,
    grading_label: "the lab's sample runs",
    checks_clients: false,
    sniff: cases::sniff,
    locate: findings::locate,
    prints_tracebacks: true,
    probes_byte_order: false,
};
