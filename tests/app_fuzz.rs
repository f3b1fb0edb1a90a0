//! `srpc-check fuzz --protocol app`: nothing found against the reference server with every
//! state reached, a lab 4 bug found, shrunk and replayed from its seed and from a saved file.

mod common;

use std::path::PathBuf;

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app")
}

fn fuzz(args: &[&str]) -> (i32, Value) {
    run_json_in(
        &fixtures(),
        &[&["fuzz", "--protocol", "app", "--format", "json"], args].concat(),
    )
}

#[test]
fn the_reference_server_survives_and_every_state_is_reached() {
    let (code, report) = fuzz(&["--target", "builtin", "--cases", "300", "--seed", "3"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(report["finding"].is_null(), "{report:#}");
    assert_eq!(report["unreached"], serde_json::json!([]), "{report:#}");
    for kind in ["search", "command", "binary", "action", "lying"] {
        assert!(
            report["coverage"][kind].is_object(),
            "no {kind}: {report:#}"
        );
    }
}

#[test]
fn a_result_in_the_wrong_byte_order_is_found_shrunk_and_replayed() {
    let exec = "python3 app-server.py 127.0.0.1 0 --bug native-order";
    let args = ["--exec", exec, "--cases", "300", "--seed", "5"];
    let (code, first) = fuzz(&args);
    assert_eq!(code, 1, "{first:#}");
    let minimal = &first["finding"]["minimal"];
    let steps = minimal["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{minimal:#}");
    assert_eq!(steps[0]["op"]["op"], "command", "{minimal:#}");
    let (_, again) = fuzz(&args);
    assert_eq!(again["finding"]["minimal"], *minimal, "the seed replays it");

    let file = tempdir("app-fuzz").join("finding.json");
    cmd()
        .current_dir(fixtures())
        .args(["fuzz", "--protocol", "app"])
        .args(args)
        .arg("--save")
        .arg(&file)
        .assert()
        .code(1);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["protocol"], "app");
    cmd()
        .current_dir(fixtures())
        .args(["fuzz", "--protocol", "app", "--exec", exec, "--replay"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAILURE"));
    cmd()
        .args([
            "fuzz",
            "--protocol",
            "app",
            "--target",
            "builtin",
            "--replay",
        ])
        .arg(&file)
        .assert()
        .success();
    // A lab 4 session is no srpc session.
    cmd()
        .args(["fuzz", "--target", "builtin", "--replay"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--protocol app"));
}
