//! `--exec`: srpc-check runs the server itself, finds where it listens, records crashes and
//! hangs on the case that caused them, restarts it, and leaves no process behind.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use predicates::prelude::*;

/// The --exec command for the lab-style fixture with `bug`, marked with `token`.
fn lab(bug: &str, token: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lab_server.py");
    format!("python3 {script} --bug {bug} --token {token}")
}

/// A marker unique to this test process and test.
fn token(name: &str) -> String {
    format!("srpc-exec-test-{}-{name}", std::process::id())
}

/// Runs the suite with --exec on a fixture; checks that nothing outlived srpc-check.
fn exec_json(bug: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let tok = token(bug);
    let command = lab(bug, &tok);
    // The default --timeout: a short one could call a slow but healthy server on a busy
    // machine hung.
    let result = run_json(&[&["--exec", &command, "--format", "json"], extra].concat());
    assert_eq!(
        leftovers(&tok),
        Vec::<u32>::new(),
        "{bug}: processes left behind"
    );
    result
}

fn events(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.get("server").is_some())
        .collect()
}

fn assert_all_run(report: &serde_json::Value) {
    assert_eq!(
        report["summary"]["not_run"], 0,
        "no case is not_run: {report:#}"
    );
    assert_eq!(report["tests"].as_array().unwrap().len(), 55);
}

#[test]
fn a_server_that_dies_when_a_client_leaves_is_restarted_and_its_traceback_explained() {
    let (code, report) = exec_json("broken-pipe", &[]);
    assert_eq!(code, 1);
    assert_all_run(&report);
    let crashes = events(&report);
    assert!(!crashes.is_empty(), "{report:#}");
    assert!(report["restarts"].as_u64().unwrap() >= 1);
    let empty = test_by_id(&report, "robust/empty-connection");
    assert_eq!(empty["status"], "fail");
    let server = &empty["server"];
    assert_eq!(server["event"], "exited");
    assert_eq!(server["status"], "exit status 1");
    assert_eq!(server["restarted"], true);
    let tail = server["stderr_tail"].as_str().unwrap();
    assert!(
        tail.contains("BrokenPipeError") || tail.contains("ConnectionResetError"),
        "{tail}"
    );
    let hint = empty["hint"].as_str().unwrap();
    assert!(hint.contains("a client that had already left"), "{hint}");
    assert!(hint.contains("inside an except block"), "{hint}");
    assert!(hint.contains("lab_server.py line"), "{hint}");
    // The single recv() is still diagnosed where it shows.
    assert_eq!(
        test_by_id(&report, "fragment/header-split-3")["status"],
        "fail"
    );
    // Data stored before the robust group died with the server.
    let survives = test_by_id(&report, "robust/data-survives");
    assert_eq!(survives["status"], "fail");
    assert!(survives["message"].as_str().unwrap().contains("restarted"));
}

#[test]
fn the_human_report_shows_the_traceback_under_the_case() {
    let tok = token("human");
    cmd()
        .args(["--exec", &lab("broken-pipe", &tok)])
        .args(["--only", "grading/*,robust/empty-connection"])
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("[server exited]")
                .and(predicate::str::contains("its traceback:"))
                .and(
                    predicate::str::contains("| BrokenPipeError")
                        .or(predicate::str::contains("| ConnectionResetError")),
                )
                .and(predicate::str::contains(
                    "server:       exited (exit status 1); srpc-check started it again",
                )),
        );
    assert!(leftovers(&tok).is_empty());
}

#[test]
fn a_server_that_exits_after_every_connection_is_told_so_once() {
    let (code, report) = exec_json("one-shot", &["--only", "grading/*,state/*"]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["not_run"], 0);
    let put = test_by_id(&report, "grading/put");
    assert_eq!(put["server"]["event"], "exited");
    assert_eq!(put["server"]["status"], "exit status 0");
    assert!(
        put["hint"].as_str().unwrap().contains("accept() only once"),
        "{put:#}"
    );
    // Shown twice in a row, then said once for the rest, without a restart for each case.
    assert_eq!(report["restarts"], 2, "{report:#}");
    for t in report["tests"].as_array().unwrap() {
        assert_eq!(t["status"], "fail", "{t:#}");
        assert_eq!(t["finding"], "exits-after-one", "{t:#}");
    }
    let rest = test_by_id(&report, "state/persistence");
    assert!(
        rest["message"].as_str().unwrap().contains(
            "exits after every connection it serves (shown in grading/get-missing and grading/put)"
        ),
        "{rest:#}"
    );
}

#[test]
fn a_server_that_hangs_on_every_request_is_cut_short_and_probed_big_endian() {
    let (code, report) = exec_json("hang", &[]);
    assert_eq!(code, 1);
    assert_all_run(&report);
    assert_eq!(report["answers_no_request_after"], "grading/get-missing");
    assert_eq!(report["summary"]["failed"], 55);
    let first = test_by_id(&report, "grading/get-missing");
    assert_eq!(first["server"]["event"], "hung");
    let hint = first["hint"].as_str().unwrap();
    assert!(hint.contains("read as big-endian"), "{hint}");
    let probe = report["big_endian_probe"].as_str().unwrap();
    assert!(probe.starts_with("confirmed"), "{probe}");
    assert!(probe.contains("the reply header is big-endian"), "{probe}");
    let later = test_by_id(&report, "robust/client-gone");
    assert!(later["message"]
        .as_str()
        .unwrap()
        .contains("answers no well-formed request (shown in grading/get-missing)"));
}

#[test]
fn a_server_that_binds_the_host_address_is_found_there() {
    let (code, report) = exec_json("hostname", &["--only", "grading/*"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["addr"].as_str().unwrap().starts_with("127.0.1.1:"),
        "{report:#}"
    );
}

#[test]
fn a_helper_that_calls_setsid_and_ignores_sigterm_is_still_stopped() {
    // exec_json asserts that no process carrying the token (the helper included) is left.
    let (code, report) = exec_json("daemon", &["--only", "grading/*"]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn a_server_that_answers_error_with_a_big_endian_header_is_up_not_crashed() {
    let (code, report) = exec_json("be-error", &[]);
    assert_eq!(code, 1);
    assert_all_run(&report);
    assert_eq!(report["restarts"], 0);
    assert!(events(&report).is_empty(), "never called crashed");
    assert!(report["target_down_after"].is_null());
    let header = test_by_id(&report, "protocol/reply-header");
    assert_eq!(header["message"], "the reply header is big-endian");
    let put = test_by_id(&report, "grading/put");
    assert!(
        put["message"].as_str().unwrap().contains("big-endian"),
        "{put:#}"
    );
}

#[test]
fn a_server_that_never_listens_is_one_finding_with_its_output() {
    let tok = token("never");
    cmd()
        .args([
            "--exec",
            &lab("never-listen", &tok),
            "--start-timeout",
            "1s",
        ])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("did not listen within 1s")
                .and(predicate::str::contains("loading the database..."))
                .and(predicate::str::contains("error[never-listens]"))
                .and(predicate::str::contains("55 cases")),
        );
    assert!(leftovers(&tok).is_empty());
}

#[test]
fn a_server_that_cannot_bind_is_one_finding_with_its_traceback_and_line() {
    let tok = token("inuse");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    cmd()
        .args(["--exec", &format!("{} --port {port}", lab("none", &tok))])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("exited (exit status 1) before it listened")
                .and(predicate::str::contains("Address already in use"))
                .and(predicate::str::contains("error[crash-at-start]"))
                .and(
                    predicate::str::contains("lab_server.py:")
                        .and(predicate::str::contains(".bind(")),
                ),
        );
    assert!(leftovers(&tok).is_empty());
}

#[test]
fn exec_and_builtin_together_is_a_usage_error() {
    cmd()
        .args(["--exec", "true", "--target", "builtin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--exec runs your server"));
}

#[test]
fn sigterm_to_srpc_check_mid_run_stops_the_server_and_its_helper() {
    sigterm_mid_run("sigterm", false);
    // Also when its stderr is gone (the pipe of a parent that was killed): the message it
    // writes on the way out fails, and it still stops everything and exits.
    sigterm_mid_run("sigterm-no-stderr", true);
}

fn sigterm_mid_run(name: &str, stderr_gone: bool) {
    let tok = token(name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_srpc-check"))
        .args([
            "--exec",
            &lab("daemon", &tok),
            "--timeout",
            "500ms",
            "--verbose",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(if stderr_gone {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    // The first case line (--verbose prints each as it finishes) means the server is up and
    // being tested.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let header = lines.next().unwrap().unwrap();
    assert!(header.starts_with("srpc-check"), "{header}");
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("grading/"), "{first}");
    // srpc-check is this test's own child: signalled by its PID.
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "srpc-check did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(128 + 15));
    assert_eq!(
        leftovers(&tok),
        Vec::<u32>::new(),
        "processes outlived srpc-check"
    );
}

#[test]
fn with_target_srpc_check_waits_for_the_servers_own_listener_there() {
    let tok = token("target");
    let port = closed_port().to_string();
    let command = format!("{} --port {port}", lab("none", &tok));
    let (code, report) = run_json(&[
        "--exec",
        &command,
        "--target",
        &format!("127.0.0.1:{port}"),
        "--only",
        "grading/*",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["addr"], format!("127.0.0.1:{port}"));
    assert!(leftovers(&tok).is_empty());
}
