//! `srpc-check client --protocol app` (lab 4) against the tutorial-style client in
//! tests/fixtures/app, correct and with each `--bug`: every bug gives exactly its finding, on
//! its own line; and the whole lab (server and client) in one run and in grade.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app")
}

/// Runs the client cases against the fixture client asking `action value`, with `bug`.
fn run(action: &str, value: &str, bug: Option<&str>) -> (i32, Value) {
    let mut command = format!("python3 app-client.py {{host}} {{port}} {action} {value}");
    if let Some(b) = bug {
        command.push_str(&format!(" --bug {b}"));
    }
    run_json_in(
        &fixtures(),
        &[
            "client",
            "--protocol",
            "app",
            "--exec",
            &command,
            "--format",
            "json",
        ],
    )
}

#[test]
fn the_correct_tutorial_client_passes_every_case() {
    let (code, report) = run("double", "7654321", None);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(tests_with_status(&report, "pass").len(), 9, "{report:#}");
    // A binary reply carries no text: the non-ASCII case says it needs a search.
    let skipped = test_by_id(&report, "client/non-ascii");
    assert_eq!(skipped["status"], "skip", "{skipped:#}");
    assert!(skipped["message"].as_str().unwrap().contains("search"));
    let (code, report) = run("search", "\u{1f436}", None);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(tests_with_status(&report, "pass").len(), 10, "{report:#}");
}

/// The bug's findings are exactly `codes`, and the first is located on a line of `file` that
/// contains `text` (no `file`: the finding has no line to point at).
fn assert_bug(bug: &str, action: &str, codes: &[&str], file: Option<&str>, text: &str) {
    let (code, report) = run(action, "7654321", Some(bug));
    assert_eq!(
        findings(&report),
        codes.iter().map(|c| c.to_string()).collect(),
        "{bug}: {report:#}"
    );
    assert_eq!(code, 1, "{bug}");
    let f = finding(&report, codes[0]);
    if let Some(file) = file {
        let at = &f["location"];
        assert_eq!(at["file"], file, "{bug}: {f:#}");
        assert!(
            at["text"].as_str().unwrap_or("").contains(text),
            "{bug}: {f:#}"
        );
    }
}

#[test]
fn a_reply_in_pieces_misread_is_a_partial_read_at_its_unpack() {
    assert_bug(
        "single-recv",
        "double",
        &["client-partial-read"],
        Some("libclient.py"),
        "struct.unpack(\">H\", buf[:2])",
    );
}

#[test]
fn a_command_packed_little_endian_is_a_wrong_request_at_its_format() {
    assert_bug(
        "request-little-endian",
        "double",
        &["client-request-wrong"],
        Some("app-client.py"),
        "struct.pack(\"<6si\"",
    );
}

#[test]
fn a_respelled_header_key_is_a_wrong_request_at_its_spelling() {
    assert_bug(
        "header-respelled",
        "search",
        &["client-request-wrong"],
        Some("libclient.py"),
        "\"Content-length\"",
    );
}

#[test]
fn a_missing_result_line_is_a_wrong_result_where_the_reply_is_printed() {
    assert_bug(
        "no-result-line",
        "negate",
        &["client-result-wrong"],
        Some("libclient.py"),
        "got response: ",
    );
}

#[test]
fn a_result_unpacked_little_endian_is_a_wrong_result_at_its_format() {
    let (_, report) = run("double", "7654321", Some("result-little-endian"));
    let whole = test_by_id(&report, "client/whole");
    assert!(
        whole["message"].as_str().unwrap().contains("15308642"),
        "{whole:#}"
    );
    assert_bug(
        "result-little-endian",
        "double",
        &["client-result-wrong"],
        Some("libclient.py"),
        "struct.unpack(\"<6si\"",
    );
}

#[test]
fn a_client_that_ignores_a_close_hangs_only_where_the_server_closes() {
    let (_, report) = run("double", "7", Some("spins-on-close"));
    let failed: Vec<&str> = tests_with_status(&report, "fail")
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["client/no-reply", "client/closes-early"],
        "{report:#}"
    );
    assert_bug("spins-on-close", "double", &["client-hangs"], None, "");
}

#[test]
fn a_client_case_reproducer_reads_a_lab_4_request() {
    let (_, report) = run("double", "7654321", Some("single-recv"));
    let case = test_by_id(&report, "client/split-length");
    let repro = case["reproducer"].as_str().unwrap_or_default();
    assert!(repro.contains("struct.unpack(\">H\", n)"), "{repro}");
    assert!(repro.contains("socket.create_server((\"\", "), "{repro}");
}

#[test]
fn list_shows_the_lab_4_client_cases() {
    let out = cmd()
        .args(["client", "--protocol", "app", "--print-rubric"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("client/whole"), "{text}");
    cmd()
        .args(["explain", "--protocol", "app", "client-result-wrong"])
        .assert()
        .success()
        .stdout(predicates::str::contains(">6si"));
}

#[test]
fn the_whole_lab_4_in_one_run_server_then_client() {
    let (code, report) = run_json_in(
        &fixtures(),
        &[
            "--protocol",
            "app",
            "--exec",
            "python3 app-server.py 127.0.0.1 0",
            "--client-exec",
            "python3 app-client.py {host} {port} negate -300",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    let ids: Vec<&str> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().any(|i| i.starts_with("assignment/")), "{ids:?}");
    assert!(ids.contains(&"client/byte-at-a-time"), "{ids:?}");
}

#[test]
fn grade_checks_lab_4_clients_with_client_exec() {
    let root = tempdir("app-client-grade");
    for (name, bug) in [("good", None), ("little", Some("request-little-endian"))] {
        let dir = root.join("class").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "app-server.py",
            "libserver.py",
            "app-client.py",
            "libclient.py",
        ] {
            std::fs::copy(fixtures().join(f), dir.join(f)).unwrap();
        }
        if let Some(bug) = bug {
            let lib = std::fs::read_to_string(dir.join("libclient.py")).unwrap();
            std::fs::write(
                dir.join("libclient.py"),
                lib.replace("BUG = None", &format!("BUG = {bug:?}")),
            )
            .unwrap();
        }
    }
    let out = root.join("out");
    cmd()
        .arg("grade")
        .arg(root.join("class"))
        .args([
            "--protocol",
            "app",
            "--exec",
            "python3 app-server.py 127.0.0.1 65432",
            "--client-exec",
            "python3 app-client.py {host} {port} double 7654321",
        ])
        .arg("--out")
        .arg(&out)
        .args(["--jobs", "2", "--seed", "3"])
        .assert()
        .success();
    let read = |p: PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    let good = read(out.join("good").join("report.json"));
    assert!(findings(&good).is_empty(), "{good:#}");
    assert!(
        tests_with_status(&good, "pass")
            .iter()
            .any(|t| t["id"] == "client/whole"),
        "{good:#}"
    );
    let little = read(out.join("little").join("report.json"));
    assert_eq!(
        findings(&little),
        ["client-request-wrong".to_string()].into(),
        "{little:#}"
    );
}
