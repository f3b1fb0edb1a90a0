//! `srpc-check bench` from the outside.

mod common;

use common::{closed_port, cmd, run_json};
use predicates::prelude::*;

/// Runs `bench` with `args` and a JSON report; it must succeed.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let (code, report) = run_json(&[&["bench"], args, &["--format", "json"]].concat());
    assert_eq!(code, 0, "{report}");
    report
}

#[test]
fn bench_against_the_builtin_server_reports_json_without_errors() {
    let report = bench_json(&[
        "--target",
        "builtin",
        "--duration",
        "1s",
        "--connections",
        "4",
    ]);
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report}");
    assert_eq!(report["connections"].as_u64(), Some(4));
    let lat = &report["latency"];
    let (p50, p99, max) = (
        lat["p50_ms"].as_f64().unwrap(),
        lat["p99_ms"].as_f64().unwrap(),
        lat["max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{lat}");
}

#[test]
fn bench_speaks_lab_4_and_checks_every_reply_byte_for_byte() {
    let report = bench_json(&[
        "--protocol",
        "app",
        "--target",
        "builtin",
        "--duration",
        "1s",
        "--connections",
        "2",
    ]);
    assert_eq!(report["protocol"], "app", "{report}");
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report}");
    // An srpc server answers no lab 4 request: the first one fails, and bench says so.
    let srpc = common::Fixture::start("none");
    cmd()
        .args([
            "bench",
            "--protocol",
            "app",
            "--target",
            &srpc.addr.to_string(),
        ])
        .args(["--duration", "1s", "--connections", "1", "--timeout", "1s"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the first request failed"));
}

#[test]
fn bench_text_report_names_the_measures() {
    cmd()
        .args([
            "bench",
            "--target",
            "builtin",
            "--duration",
            "300ms",
            "--connections",
            "2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("requests/s").and(predicate::str::contains("p99")));
}

#[test]
fn bench_against_nothing_exits_2_and_says_so() {
    cmd()
        .args([
            "bench",
            "--target",
            &format!("127.0.0.1:{}", closed_port()),
            "--duration",
            "1s",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot reach"));
}

#[test]
fn bad_flags_exit_2_with_a_hint() {
    cmd()
        .args(["bench", "--target", "localhost"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HOST:PORT"));
    cmd()
        .args(["bench", "--target", "builtin", "--duration", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("10s"));
    cmd().args(["bench", "--connections", "0"]).assert().code(2);
}

#[test]
fn bench_can_run_the_server_itself() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/student_server.py"
    );
    let report = bench_json(&[
        "--exec",
        &format!("python3 {script}"),
        "--duration",
        "1s",
        "--connections",
        "2",
    ]);
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report}");
}

#[test]
fn a_sweep_prints_one_row_per_level_and_compare_gives_a_ratio() {
    let sweep = bench_json(&[
        "--target",
        "builtin",
        "--connections",
        "1,3",
        "--duration",
        "300ms",
        "--compare",
        "builtin",
    ]);
    let levels = sweep["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    assert_eq!(sweep["rounds"], 3);
    for (level, n) in levels.iter().zip([1, 3]) {
        assert_eq!(level["connections"], n);
        assert_eq!(level["report"]["connections"], n);
        assert_eq!(level["compared"]["connections"], n);
        let ratio = level["ratio"].as_f64().unwrap();
        let expect = level["compared"]["requests_per_sec"].as_f64().unwrap()
            / level["report"]["requests_per_sec"].as_f64().unwrap();
        assert!((ratio - expect).abs() < 1e-9);
    }
    cmd()
        .args(["bench", "--target", "builtin", "--connections", "1,2"])
        .args(["--duration", "200ms"])
        .assert()
        .success()
        .stdout(predicate::str::contains("connections   requests/s"));
}

#[test]
fn an_open_loop_reports_the_rate_asked_for_and_what_was_sustained() {
    let report = bench_json(&[
        "--target",
        "builtin",
        "--rate",
        "200",
        "--duration",
        "1s",
        "--connections",
        "2",
    ]);
    assert_eq!(report["target_rate"], 200.0);
    // Requests are due at fixed times, so a second holds at most 200 (plus one per connection
    // at the edge), never a closed loop's thousands.
    let n = report["requests"].as_u64().unwrap();
    assert!(n > 0 && n <= 202, "{n}");
    cmd()
        .args([
            "bench",
            "--target",
            "builtin",
            "--rate",
            "100",
            "--duration",
            "300ms",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("open loop at 100 requests/s"))
        .stdout(predicate::str::contains("sustained"));
    cmd()
        .args(["bench", "--target", "builtin", "--rate", "0"])
        .assert()
        .code(2);
}
