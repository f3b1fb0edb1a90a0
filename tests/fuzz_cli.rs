//! `srpc-check fuzz` from the outside: nothing found against the reference server, each
//! reachable fixture bug found and shrunk, seeds that replay, and saved sessions.

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn fuzz_json(target: &str, extra: &[&str]) -> (i32, Value) {
    run_json(&[&["fuzz", "--target", target, "--format", "json"], extra].concat())
}

#[test]
fn the_reference_server_survives_and_every_state_is_reached() {
    let (code, report) = fuzz_json("builtin", &["--cases", "200", "--seed", "3"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(report["finding"].is_null());
    assert_eq!(report["cases"], 200);
    assert_eq!(report["unreached"], serde_json::json!([]), "{report:#}");
    for kind in ["put", "get", "unknown", "malformed"] {
        assert!(
            report["coverage"][kind].is_object(),
            "no {kind} replies: {report:#}"
        );
    }
}

/// The fixture's bug is found within 500 sessions, shrunk to at most 3 steps, and the same seed
/// finds and shrinks it to exactly the same session again.
fn finds(bug: &str, phrase: &str) {
    let fixture = Fixture::start(bug);
    let target = fixture.addr.to_string();
    let (code, first) = fuzz_json(&target, &["--cases", "500", "--seed", "11"]);
    assert_eq!(code, 1, "{bug}: {first:#}");
    let finding = &first["finding"];
    let steps = finding["minimal"]["steps"].as_array().unwrap();
    assert!(
        !steps.is_empty() && steps.len() <= 3,
        "{bug}: minimal session {steps:#?}"
    );
    assert!(
        finding["failure"]["message"]
            .as_str()
            .unwrap()
            .contains(phrase),
        "{bug}: {finding:#}"
    );
    assert!(finding["replay_command"]
        .as_str()
        .unwrap()
        .contains("--seed 11"));
    assert!(finding["reproducer"]
        .as_str()
        .unwrap()
        .contains("socket.create_connection"));
    let (_, again) = fuzz_json(&target, &["--cases", "500", "--seed", "11"]);
    assert_eq!(
        again["finding"]["minimal"], finding["minimal"],
        "{bug}: the seed replays the same minimal session"
    );
    assert_eq!(again["finding"]["case"], finding["case"]);
}

#[test]
fn finds_state_that_does_not_persist() {
    finds("no-persist", "val");
}

#[test]
fn finds_values_stored_as_strings() {
    finds("str-value", "string");
}

#[test]
fn finds_merge_instead_of_replace() {
    finds("merge", "unexpected key");
}

#[test]
fn finds_a_length_counting_characters() {
    finds("char-length", "counts characters");
}

#[test]
fn finds_a_single_recv() {
    finds("single-recv", "answered ERROR");
}

#[test]
fn a_crash_is_the_finding() {
    let fixture = Fixture::start("crash-unknown");
    let (code, report) = fuzz_json(
        &fixture.addr.to_string(),
        &["--cases", "500", "--seed", "5"],
    );
    assert_eq!(code, 1);
    let finding = &report["finding"];
    assert_eq!(finding["failure"]["target_down"], true, "{finding:#}");
    let steps = finding["minimal"]["steps"].as_array().unwrap();
    assert_eq!(
        steps.last().unwrap()["op"]["op"],
        "unknown",
        "the trigger ends the session: {steps:#?}"
    );
}

#[test]
fn a_saved_session_replays() {
    let fixture = Fixture::start("no-persist");
    let dir = std::env::temp_dir().join(format!("srpc-check-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("finding.json");
    let target = fixture.addr.to_string();
    cmd()
        .args([
            "fuzz", "--target", &target, "--cases", "500", "--seed", "2", "--save",
        ])
        .arg(&file)
        .assert()
        .code(1);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(saved["session"]["steps"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    // The same session fails again against the buggy server, and passes against the reference.
    cmd()
        .args(["fuzz", "--target", &target, "--replay"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAILURE"));
    cmd()
        .args(["fuzz", "--target", "builtin", "--replay"])
        .arg(&file)
        .assert()
        .success();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_a_session_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("srpc-check-fuzz-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(&file, "{\"not\": \"a session\"}").unwrap();
    cmd()
        .args(["fuzz", "--target", "builtin", "--replay"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a saved fuzz session"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn with_exec_a_crash_is_restarted_and_shrunk() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/student_server.py"
    );
    let command = format!("python3 {script} --bug crash-unknown");
    let (code, report) = run_json(&[
        "fuzz", "--exec", &command, "--format", "json", "--cases", "300", "--seed", "7",
    ]);
    assert_eq!(code, 1, "{report:#}");
    let finding = &report["finding"];
    assert_eq!(finding["failure"]["target_down"], true);
    assert_eq!(finding["failure"]["server"]["event"], "exited");
    assert_eq!(finding["failure"]["server"]["restarted"], true);
    assert_eq!(
        finding["shrunk"], true,
        "a restartable crash is shrunk: {finding:#}"
    );
    let steps = finding["minimal"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{finding:#}");
    assert_eq!(steps[0]["op"]["op"], "unknown");
    assert!(finding["replay_command"]
        .as_str()
        .unwrap()
        .contains("--exec 'python3 "));
}
