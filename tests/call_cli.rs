//! `srpc-check call`: one request, its reply printed; exit 0 for OK, 1 for ERROR, a malformed
//! reply or none, 2 when nothing can be reached.

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::{json, Value};

fn call(addr: &str, args: &[&str]) -> (i32, String, String) {
    let out = cmd()
        .arg("call")
        .args(args)
        .args(["--target", addr])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn put_then_get_against_a_student_server() {
    let server = Fixture::start("none");
    let addr = server.addr.to_string();
    let (code, out, _) = call(&addr, &["PUT", "ABC", r#"{"val1": 111, "val2": 222}"#]);
    assert_eq!(code, 0);
    // Piped, the reply is one compact line of JSON.
    assert_eq!(out.lines().count(), 1, "{out}");
    let reply: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reply["status"], "OK");
    let (code, out, _) = call(&addr, &["GET", "ABC"]);
    assert_eq!(code, 0);
    let reply: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        reply["response"]["response"]["val"],
        json!({"val1": 111, "val2": 222})
    );
    // Not JSON: a string. --string: a string even when it is JSON.
    call(&addr, &["PUT", "S", "hello world"]);
    let (_, out, _) = call(&addr, &["GET", "S"]);
    assert!(out.contains(r#""val":"hello world""#), "{out}");
    call(&addr, &["PUT", "N", "42", "--string"]);
    let (_, out, _) = call(&addr, &["GET", "N"]);
    assert!(out.contains(r#""val":"42""#), "{out}");
}

#[test]
fn hex_shows_both_directions_and_json_sends_any_request() {
    let (code, out, _) = call(
        "builtin",
        &["--json", r#"{"func": "ECHO", "params": {}}"#, "--hex"],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("sent 38 bytes:\n  0000  01 00 00 00 1e 00 00 00"),
        "{out}"
    );
    assert!(out.contains("received "), "{out}");
    assert!(out.contains("Function doesn't exist"), "{out}");
}

#[test]
fn error_malformed_and_unreachable_have_their_exit_codes() {
    let missing = Fixture::start("missing-error");
    let (code, out, err) = call(&missing.addr.to_string(), &["GET", "nothing-here"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(r#""status":"ERROR""#), "{out}");

    let big = Fixture::start("big-endian");
    let (code, _, err) = call(&big.addr.to_string(), &["PUT", "k", "1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("malformed: the reply header is big-endian"),
        "{err}"
    );

    cmd()
        .args(["call", "GET", "k", "--target"])
        .arg(format!("127.0.0.1:{}", closed_port()))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is the server running?"));
    cmd()
        .args(["call", "PUT", "k"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PUT takes a NAME and a VALUE"));
}
