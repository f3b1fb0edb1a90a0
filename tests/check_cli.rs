//! The conformance run from the command line: selection, exit codes, reports, and what happens
//! when the target is missing or hangs.

mod common;

use std::net::TcpListener;

use common::*;
use predicates::prelude::*;

#[test]
fn the_reference_server_passes_every_case() {
    cmd()
        .args(["--target", "builtin"])
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(predicate::str::contains(" 0 failed").and(predicate::str::contains("\x1b[").not()));
}

#[test]
fn list_names_every_case_with_its_requirement() {
    let out = cmd()
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for id in [
        "grading/get-missing",
        "grading/put",
        "grading/get-existing",
        "fragment/header-split-7",
        "robust/data-survives",
    ] {
        assert!(text.contains(id), "list lacks {id}");
    }
    assert!(text.contains("requires:"));
    let (_, report) = check_json("builtin", &["--only", "grading/*"]);
    let listed = text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("client/"))
        .count();
    assert_eq!(
        listed,
        report["tests"].as_array().unwrap().len() + report["left_out"].as_u64().unwrap() as usize,
        "list shows every case the run knows"
    );
    // Then the client's cases, which `srpc-check client` runs.
    assert_eq!(
        text.lines().filter(|l| l.starts_with("client/")).count(),
        15
    );
}

#[test]
fn only_and_skip_select_by_glob() {
    let (code, report) = check_json(
        "builtin",
        &[
            "--only",
            "fragment/*,grading/put",
            "--skip",
            "fragment/dribble",
        ],
    );
    assert_eq!(code, 0);
    let passed: Vec<&str> = tests_with_status(&report, "pass")
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(passed.contains(&"grading/put") && passed.contains(&"fragment/header-split-1"));
    assert!(passed
        .iter()
        .all(|id| id.starts_with("fragment/") || *id == "grading/put"));
    let ids: Vec<&str> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"fragment/dribble") && !ids.contains(&"state/overwrite"));
    assert_eq!(
        report["left_out"].as_u64().unwrap() as usize + ids.len(),
        55,
        "left-out cases are counted, not listed"
    );
    assert_eq!(passed.len(), ids.len());
}

#[test]
fn left_out_cases_get_one_summary_line_not_a_line_each() {
    cmd()
        .args(["--target", "builtin", "--only", "grading/*"])
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("52 cases left out by --only/--skip.")
                .and(predicate::str::contains("SKIP").not()),
        );
}

#[test]
fn a_pattern_that_matches_nothing_is_a_usage_error() {
    cmd()
        .args(["--target", "builtin", "--only", "fragmnt/*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("matches no case"));
}

#[test]
fn the_json_report_keeps_its_contract() {
    let (code, report) = check_json("builtin", &["--only", "grading/*", "--seed", "42"]);
    assert_eq!(code, 0);
    assert_eq!(report["tool"], "srpc-check");
    assert_eq!(report["seed"], 42);
    assert_eq!(report["target"], "builtin");
    assert!(report["version"].is_string());
    for key in ["passed", "failed", "warned", "skipped", "not_run"] {
        assert!(report["summary"][key].is_u64(), "summary.{key}");
    }
    for t in report["tests"].as_array().unwrap() {
        for key in [
            "id",
            "group",
            "status",
            "duration_ms",
            "message",
            "hint",
            "expected",
            "actual",
            "sent_hex",
            "received_hex",
        ] {
            assert!(t.get(key).is_some(), "test lacks {key}: {t}");
        }
        assert!(
            ["pass", "fail", "warn", "skip", "not_run"].contains(&t["status"].as_str().unwrap())
        );
    }
}

#[test]
fn junit_names_every_case_and_carries_failure_messages() {
    let fixture = Fixture::start("big-endian");
    let dir = std::env::temp_dir().join(format!("srpc-check-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.xml");
    cmd()
        .args([
            "--target",
            &fixture.addr.to_string(),
            "--only",
            "grading/*,protocol/*",
            "--junit",
        ])
        .arg(&file)
        .assert()
        .code(1);
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(
        xml.contains(r#"name="protocol/reply-header""#)
            && xml.contains(r#"classname="srpc.protocol""#),
        "{xml}"
    );
    assert!(
        xml.contains("<failure") && xml.contains("the reply header is big-endian"),
        "{xml}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failures_show_bytes_cause_and_a_reproducer() {
    let fixture = Fixture::start("single-recv");
    cmd()
        .args([
            "--target",
            &fixture.addr.to_string(),
            "--only",
            "fragment/header-split-2",
        ])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains(
                "likely cause: your server reads the header with a single recv()",
            )
            .and(predicate::str::contains("sent (").and(predicate::str::contains("0000  01 00")))
            .and(predicate::str::contains(
                "s.sendall(bytes.fromhex(\"0100\"))",
            )),
        );
}

#[test]
fn nothing_listening_exits_2() {
    cmd()
        .args(["--target", &format!("127.0.0.1:{}", closed_port())])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot reach").and(predicate::str::contains("refused")));
}

#[test]
fn a_listener_at_another_local_address_is_suggested() {
    // Like a lab server bound to socket.gethostname() = 127.0.1.1. Nothing connects to it:
    // srpc-check reads the kernel's listener table.
    let Ok(listener) = TcpListener::bind("127.0.1.1:0") else {
        return;
    };
    let port = listener.local_addr().unwrap().port();
    if !std::path::Path::new("/proc/net/tcp").exists() {
        return;
    }
    cmd()
        .args(["--target", &format!("127.0.0.1:{port}")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "--target 127.0.1.1:{port}"
        )));
}

#[test]
fn a_hanging_server_ends_the_run_with_not_run_cases() {
    // Accepts every connection and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let (code, report) = check_json(&addr.to_string(), &["--timeout", "300ms"]);
    assert_eq!(code, 1);
    assert_eq!(report["target_down_after"], "grading/get-missing");
    assert_eq!(test_by_id(&report, "grading/get-missing")["status"], "fail");
    assert_eq!(
        report["summary"]["not_run"].as_u64().unwrap() as usize,
        report["tests"].as_array().unwrap().len() - 1
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    cmd()
        .args(["--target", "nohost"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HOST:PORT"));
    cmd().args(["--timeout", "0s"]).assert().code(2);
    cmd().args(["--format", "xml"]).assert().code(2);
}
