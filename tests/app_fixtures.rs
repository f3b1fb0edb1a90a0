//! `--protocol app` (lab 4) against the tutorial-style server in tests/fixtures/app, correct and
//! with each `--bug`: every bug gives exactly its finding, on its own line.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app")
}

/// Runs the app suite against the fixture server with `bug` (none: the correct one), from a
/// copy of the fixture's folder (a server may write files where it runs).
fn run(bug: Option<&str>) -> (i32, Value) {
    let command = match bug {
        Some(b) => format!("python3 app-server.py 127.0.0.1 0 --bug {b}"),
        None => "python3 app-server.py 127.0.0.1 0".to_owned(),
    };
    let dir = tempdir(&format!("app-{}", bug.unwrap_or("correct")));
    for f in ["app-server.py", "libserver.py"] {
        std::fs::copy(fixtures().join(f), dir.join(f)).unwrap();
    }
    run_json_in(
        &dir,
        &["--protocol", "app", "--exec", &command, "--format", "json"],
    )
}

/// The bug's findings are exactly `codes`, and the first is located on a line of `file` that
/// contains `text`.
fn assert_bug(bug: &str, codes: &[&str], file: &str, text: &str) -> Value {
    let (code, report) = run(Some(bug));
    assert_eq!(
        findings(&report),
        codes.iter().map(|c| c.to_string()).collect(),
        "{bug}: {report:#}"
    );
    let f = finding(&report, codes[0]);
    let at = &f["location"];
    assert_eq!(at["file"], file, "{bug}: {f:#}");
    assert!(
        at["text"].as_str().unwrap_or("").contains(text),
        "{bug}: {f:#}"
    );
    let warning_only = codes
        .iter()
        .all(|c| ["result-out-of-range", "writes-files"].contains(c));
    assert_eq!(code, if warning_only { 0 } else { 1 }, "{bug}");
    report
}

#[test]
fn the_correct_tutorial_server_passes_every_case() {
    let (code, report) = run(None);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert!(tests_with_status(&report, "fail").is_empty());
    assert!(tests_with_status(&report, "pass").len() >= 35);
}

macro_rules! bugs {
    ($($name:ident: $bug:literal => [$($code:literal),+] at $file:literal $text:literal;)*) => {
        $(
            #[test]
            fn $name() {
                assert_bug($bug, &[$($code),+], $file, $text);
            }
        )*
    };
}

bugs! {
    no_double_negate: "no-double-negate" => ["double-negate-missing"] at "libserver.py" "First 10 bytes of request";
    result_discarded: "result-discarded" => ["double-negate-missing"] at "libserver.py" "First 10 bytes of request";
    json_actions: "json-actions" => ["double-negate-missing"] at "libserver.py" "First 10 bytes of request";
    prefix_result: "prefix-result" => ["result-wrong"] at "libserver.py" "+ struct.pack(\">6si\"";
    float_result: "float-result" => ["result-wrong"] at "libserver.py" ">6sf";
    native_order: "native-order" => ["result-byte-order"] at "libserver.py" "\"<6si\"";
    overflow_wraps: "overflow-wraps" => ["result-out-of-range"] at "libserver.py" "% 2**32";
    substring_unpack: "substring-unpack" => ["closes-without-reply"] at "libserver.py" "struct.unpack(\">6si\", data)";
    stub_response: "stub-response" => ["closes-without-reply"] at "libserver.py" "self._create_message(**response)";
    textiowrapper_typo: "textiowrapper-typo" => ["closes-without-reply"] at "libserver.py" "io.TextIoWrapper";
    header_respelled: "header-respelled" => ["reply-header-wrong"] at "libserver.py" "[\"Content-length\"]";
    no_byteorder: "no-byteorder" => ["reply-header-wrong"] at "libserver.py" "del jsonheader[\"byteorder\"]";
    application_json: "application-json" => ["reply-header-wrong"] at "libserver.py" "\"application/json\"";
    no_close: "no-close" => ["no-close"] at "libserver.py" "_set_selector_events_mask(\"rw\")";
    table_replaced: "table-replaced" => ["search-wrong"] at "libserver.py" "request_search = {";
    echo_server: "echo-server" => ["echoes-request"] at "libserver.py" "self._send_buffer = self._recv_buffer";
    protoheader_partial: "protoheader-partial" => ["protoheader-partial-read"] at "libserver.py" "hdrlen = 1";
    jsonheader_partial: "jsonheader-partial" => ["jsonheader-partial-read"] at "libserver.py" "hdrlen = 0";
    content_partial: "content-partial" => ["content-partial-read"] at "libserver.py" "content_len = min(";
    blocking: "blocking" => ["blocks-on-idle-client"] at "app-server.py" "accept()";
    log_file: "log-file" => ["writes-files"] at "libserver.py" "basicConfig(filename=\"server.log\"";
}

#[test]
fn a_printed_traceback_is_the_evidence_of_closes_without_reply() {
    let report = assert_bug(
        "stub-response",
        &["closes-without-reply"],
        "libserver.py",
        "_create_message",
    );
    let text = report.to_string();
    assert!(text.contains("TypeError"), "{report:#}");
}

#[test]
fn builtin_speaks_app_and_passes() {
    let (code, report) = run_json(&[
        "--target",
        "builtin",
        "--protocol",
        "app",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert!(test_by_id(&report, "assignment/double")["status"] == "pass");
}

#[test]
fn list_and_explain_speak_each_protocol() {
    cmd()
        .args(["list", "--protocol", "app"])
        .assert()
        .success()
        .stdout(predicates::str::contains("assignment/double"))
        .stdout(predicates::str::contains("grading/put").not());
    cmd()
        .args(["list", "--findings", "--protocol", "app"])
        .assert()
        .success()
        .stdout(predicates::str::contains("double-negate-missing"))
        .stdout(predicates::str::contains("no-close"))
        .stdout(predicates::str::contains("header-single-recv").not());
    cmd()
        .args(["explain", "result-byte-order", "--protocol", "app"])
        .assert()
        .success()
        .stdout(predicates::str::contains(">6si"));
    cmd()
        .args(["explain", "header-single-recv", "--protocol", "app"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--protocol srpc"));
    cmd()
        .args(["--protocol", "lab9", "--target", "builtin"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("app"));
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn a_lab_4_server_checked_as_srpc_is_named_so() {
    let out = cmd()
        .current_dir(fixtures())
        .args(["--exec", "python3 app-server.py 127.0.0.1 0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("This server speaks app (lab 4): run with --protocol app."),
        "{stdout}"
    );
    assert!(stdout.contains("wrong-protocol"), "{stdout}");
    assert!(!stdout.contains("stops-answering"), "{stdout}");
    assert!(!stdout.contains("Big-endian probe"), "{stdout}");
}

#[test]
fn an_srpc_server_checked_as_app_is_named_so() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out = cmd()
        .current_dir(fixtures)
        .args([
            "--protocol",
            "app",
            "--exec",
            "python3 lab_server.py",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&report),
        ["wrong-protocol".to_string()].into(),
        "{report:#}"
    );
    assert_eq!(report["protocol"], "app");
    assert_eq!(report["speaks"], "srpc");
}

/// A class folder of lab 4 submissions: the fixture server, with `BUG` set in libserver.py.
fn app_class(test: &str, submissions: &[(&str, Option<&str>)]) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("app-grade-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (name, bug) in submissions {
        let dir = root.join("class").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixtures().join("app-server.py"), dir.join("app-server.py")).unwrap();
        let lib = std::fs::read_to_string(fixtures().join("libserver.py")).unwrap();
        let bug = bug.map_or("None".to_owned(), |b| format!("{b:?}"));
        std::fs::write(
            dir.join("libserver.py"),
            lib.replace("BUG = None", &format!("BUG = {bug}")),
        )
        .unwrap();
    }
    root
}

#[test]
fn grade_checks_a_lab_4_class_in_app_and_records_it() {
    let root = app_class(
        "class",
        &[("good", None), ("tutorial", Some("no-double-negate"))],
    );
    let out = root.join("out");
    cmd()
        .arg("grade")
        .arg(root.join("class"))
        .args([
            "--protocol",
            "app",
            "--exec",
            "python3 app-server.py 127.0.0.1 65432",
        ])
        .arg("--out")
        .arg(&out)
        .args(["--jobs", "2", "--seed", "3"])
        .assert()
        .success();
    let read = |p: PathBuf| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap()
    };
    assert_eq!(read(out.join("grade.json"))["protocol"], "app");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().contains(",assignment,"),
        "{csv}"
    );
    assert!(!csv.lines().next().unwrap().contains(",state,"), "{csv}");
    let good = read(out.join("good").join("report.json"));
    assert!(findings(&good).is_empty(), "{good:#}");
    let tutorial = read(out.join("tutorial").join("report.json"));
    assert_eq!(
        findings(&tutorial),
        ["double-negate-missing".to_string()].into(),
        "{tutorial:#}"
    );
    // Shards graded in other protocols do not merge.
    let srpc_info = read(out.join("grade.json"));
    let other = root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut info = srpc_info.clone();
    info["protocol"] = "srpc".into();
    info["shard"] = serde_json::json!([2, 2]);
    std::fs::write(other.join("grade.json"), info.to_string()).unwrap();
    let mut mine = srpc_info;
    mine["shard"] = serde_json::json!([1, 2]);
    std::fs::write(out.join("grade.json"), mine.to_string()).unwrap();
    cmd()
        .arg("grade")
        .arg("--merge")
        .arg(&out)
        .arg("--merge")
        .arg(&other)
        .arg("--out")
        .arg(root.join("merged"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--protocol"));
}

/// `srpc-check call --protocol app --target builtin ACTION VALUE`.
fn call_builtin(action: &str, value: &str) -> assert_cmd::assert::Assert {
    cmd()
        .args([
            "call",
            "--protocol",
            "app",
            "--target",
            "builtin",
            action,
            value,
        ])
        .assert()
}

#[test]
fn call_sends_what_the_lab_4_client_sends() {
    call_builtin("negate", "-300")
        .success()
        .stdout(predicates::str::contains(
            "got response: b'result\\x00\\x00\\x01,'",
        ))
        .stdout(predicates::str::contains("result: 300"));
    call_builtin("search", "ring")
        .success()
        .stdout(predicates::str::contains(
            "got result: In the caves beneath the Misty Mountains. \u{1f48d}",
        ));
    call_builtin("double", "seven")
        .code(2)
        .stderr(predicates::str::contains("32-bit integer"));
}

#[test]
fn the_gradescope_autograder_grades_a_lab_4_submission() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("app-gradescope-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let submission = root.join("submission");
    std::fs::create_dir_all(&submission).unwrap();
    for f in ["app-server.py", "libserver.py"] {
        std::fs::copy(fixtures().join(f), submission.join(f)).unwrap();
    }
    // The server takes the tutorial's port 65432, in the autograder's box.
    let results = run_autograder_in(&root, &[("SRPC_PROTOCOL", "app")]);
    assert_eq!(results["score"], 100.0, "{results}");
    let tests = results["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"].as_str().unwrap().starts_with("assignment/double")),
        "{results}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
