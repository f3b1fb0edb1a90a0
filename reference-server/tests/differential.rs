//! Differential test: random well-formed requests get byte-identical replies from the reference
//! server and from a lab-style Python server running CPython's own `json` module.

mod common;

use std::process::Command;

use common::*;
use proptest::prelude::*;

/// The lab-style Python server running CPython's own json module.
fn python_server() -> Announced {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/lab_style_server.py"
    );
    let mut command = Command::new("python3");
    command.arg(script).arg("0");
    Announced::spawn(command)
}

/// Object names, including ones Python considers equal (1, 1.0, true) and non-ASCII spellings.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"a\"".to_string()),
        Just("\"\\u00e9\"".to_string()),
        Just("\"é\"".to_string()),
        Just("1".to_string()),
        Just("1.0".to_string()),
        Just("true".to_string()),
        Just("0".to_string()),
        Just("-0.0".to_string()),
        Just("null".to_string()),
        Just("2.5".to_string()),
        Just("1e400".to_string()),
        Just("\"\"".to_string()),
        spelled_string().prop_map(|s| s.input),
    ]
}

fn request() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (name(), spelled_value()).prop_map(|(n, v)| put_req(&n, &v.input)),
        3 => name().prop_map(|n| get_req(&n)),
        1 => spelled_value().prop_map(|f| format!(r#"{{"func": {}, "params": {{"obj": "a"}}}}"#, f.input)),
        // Extra keys, reordered keys and whitespace carry no meaning.
        1 => (name(), spelled_value()).prop_map(|(n, v)| format!(
            "\n{{ \"params\" : {{ \"val\" : {} , \"x\": 1, \"obj\" : {n} }} , \"func\" : \"PUT\", \"extra\": [] }} ",
            v.input
        )),
    ]
}

#[test]
fn replies_are_byte_identical_to_cpython() {
    let python = python_server();
    let reference = Server::start();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    });
    // One long session per server, so stored state (and key equality) is compared too.
    runner
        .run(&prop::collection::vec(request(), 1..8), |requests| {
            for req in requests {
                let bytes = frame(req.as_bytes());
                let theirs = exchange(python.addr, &bytes);
                let ours = exchange(reference.addr, &bytes);
                prop_assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs),
                    "request {}",
                    req
                );
            }
            Ok(())
        })
        .unwrap();
}
