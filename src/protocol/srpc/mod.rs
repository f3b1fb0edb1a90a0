//! srpc: the GET/PUT lab's protocol. A message, both ways: an 8-byte little-endian header
//! (version, payload length), then that many bytes of JSON.
//!
//! [`codec`] builds frames (lying ones too), [`reply`] reads replies tolerantly and names what
//! is wrong with their form, [`oracle`] says what the server answers, [`cases`] holds the cases
//! (one file per group) and [`findings`] the codes, their rules and their source patterns.

pub mod call;
pub mod cases;
pub mod client;
pub mod codec;
pub mod findings;
pub mod fuzz;
pub mod load;
pub mod oracle;
pub mod probe;
pub mod reply;
pub mod rubrics;

use super::Protocol;

/// srpc, the GET/PUT lab.
pub static SRPC: Protocol = Protocol {
    name: "srpc",
    lab: "the srpc lab",
    summary: "JSON GET/PUT requests behind an 8-byte little-endian header",
    cases: cases::all,
    fresh: cases::fresh_put,
    read_request_py: "    header = read(conn, 8)\n    print(\"request:\", header + read(conn, struct.unpack(\"ii\", header)[1]) if len(header) == 8 else header)\n",
    fuzz: crate::fuzz::Fuzzer::of::<fuzz::Srpc>(),
    load: &load::LOAD,
    greet: |conn, seed| {
        let name = serde_json::Value::String(format!("srpc-check-{seed:x}-preflight"));
        let _ = conn.send(&codec::request(&oracle::get_request(&name)));
        let _ = reply::read(conn);
    },
    call: &call::CALL,
    rubrics: crate::outcome::rubric::Rubrics {
        server: rubrics::DEFAULT,
        with_client: rubrics::DEFAULT_WITH_CLIENT,
        client: rubrics::DEFAULT_CLIENT,
    },
    own_codes: findings::own,
    shared_text: |_| None,
    default_port: 4444,
    grading_label: "lab autograder cases",
    client_cases: Some(client::cases),
    sniff: cases::sniff,
    locate: findings::locate,
    prints_tracebacks: false,
    probe: Some(&probe::PROBER),
    refine: findings::refine,
    more_findings: findings::more_findings,
    crash_cause: findings::crash_cause,
};
