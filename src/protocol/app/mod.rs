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
#[cfg(unix)]
pub mod client;
pub mod codec;
pub mod findings;
pub mod fuzz;
pub mod load;
pub mod oracle;
pub mod rubrics;

use super::Protocol;
use crate::codes::Code;

/// The lab 4 protocol.
pub static APP: Protocol = Protocol {
    name: "app",
    lab: "lab 4",
    summary: "Real Python's socket tutorial: a 2-byte length, a JSON header, then the content",
    cases: cases::all,
    fresh: cases::fresh,
    read_request_py: "    n = read(conn, 2)\n    header = read(conn, struct.unpack(\">H\", n)[0]) if len(n) == 2 else b\"\"\n    try:\n        length = json.loads(header)[\"content-length\"]\n    except (ValueError, KeyError, TypeError):\n        length = 0\n    print(\"request:\", n + header + read(conn, length))\n",
    fuzz: crate::fuzz::Fuzzer::of::<fuzz::App>(),
    load: &load::LOAD,
    greet: |conn, _| {
        let _ = conn.send(&codec::search("morpheus"));
        let deadline = std::time::Instant::now() + conn.timeout();
        let _ = codec::read_reply(conn, deadline, false);
    },
    call: &call::CALL,
    rubrics: crate::outcome::rubric::Rubrics {
        server: rubrics::DEFAULT,
        with_client: rubrics::DEFAULT_WITH_CLIENT,
        client: rubrics::DEFAULT_CLIENT,
    },
    own_codes: || {
        findings::AppCode::LISTED
            .iter()
            .map(|&c| Code::App(c))
            .collect()
    },
    shared_text: |_| None,
    // The tutorial's port (the lab's examples use 9000).
    default_port: 65432,
    grading_label: "the lab's sample runs",
    client_cases: Some(client::cases),
    sniff: cases::sniff,
    locate: findings::locate,
    prints_tracebacks: true,
    probe: None,
    refine: findings::refine,
    more_findings: |_, _, _| {},
    crash_cause: |_| None,
};
