//! Findings: each fixture server has one bug (or none), and srpc-check, running it with
//! --exec, reports exactly the findings of that bug (no more, no fewer), each located on the
//! line of the fixture's source that has it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use predicates::prelude::*;

/// The 1-based number of the line of `file` (under tests/fixtures) whose trimmed text is `text`.
fn line_of(file: &str, text: &str) -> u64 {
    let source = std::fs::read_to_string(fixtures().join(file)).unwrap();
    let found: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == text)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(found.len(), 1, "{text:?} should be one line of {file}");
    found[0] as u64
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs `command` from the fixtures folder with --exec; the JSON report.
fn exec_json(command: &str) -> serde_json::Value {
    let out = cmd()
        .current_dir(fixtures())
        .args(["--exec", command, "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{command}: {e}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// Checks the findings of a fixture: exactly `want`, each `(code, Some(line text))` located on
/// the line with that text, and every failing test naming one of them.
fn expect(file: &str, bug: &str, want: &[(&str, Option<&str>)]) {
    let report = exec_json(&format!("python3 {file} --bug {bug}"));
    let got: BTreeSet<String> = findings(&report);
    let wanted: BTreeSet<String> = want.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(got, wanted, "{bug}: findings; report: {report:#}");
    for (code, text) in want {
        let f = finding(&report, code);
        match text {
            Some(text) => {
                let location = &f["location"];
                assert_eq!(location["file"], file, "{bug}: {code}: {f:#}");
                assert_eq!(
                    location["line"].as_u64(),
                    Some(line_of(file, text)),
                    "{bug}: {code}: {f:#}"
                );
                assert_eq!(location["text"], *text, "{bug}: {code}");
            }
            None => assert!(f["location"].is_null(), "{bug}: {code}: {f:#}"),
        }
        assert!(!f["fix"].as_str().unwrap().is_empty());
        let rep = f["representative"].as_str().unwrap();
        assert!(f["cases"].as_array().unwrap().iter().any(|c| c == rep));
    }
    for t in report["tests"].as_array().unwrap() {
        match t["status"].as_str().unwrap() {
            "fail" => assert!(
                wanted.contains(t["finding"].as_str().unwrap_or("none")),
                "{bug}: {} has no finding of the set: {t:#}",
                t["id"]
            ),
            "pass" => assert!(t["finding"].is_null(), "{bug}: {t:#}"),
            _ => {}
        }
    }
}

fn student(bug: &str, want: &[(&str, Option<&str>)]) {
    expect("student_server.py", bug, want)
}

#[test]
fn a_correct_server_has_no_findings() {
    student("none", &[]);
}

#[test]
fn single_recv_for_header_and_for_payload() {
    student(
        "single-recv",
        &[
            ("header-single-recv", Some("header = conn.recv(8)")),
            (
                "payload-single-recv",
                Some("return json.loads(conn.recv(length).decode())"),
            ),
        ],
    );
}

#[test]
fn one_recv_4096_for_the_whole_message() {
    student(
        "recv-4096",
        &[("message-single-recv", Some("data = conn.recv(4096)"))],
    );
}

#[test]
fn a_store_per_connection() {
    student(
        "no-persist",
        &[(
            "store-not-kept",
            Some(r#"data = {} if BUG == "no-persist" else store"#),
        )],
    );
}

#[test]
fn missing_names_answered_with_error() {
    student("missing-error", &[("missing-is-error", None)]);
}

#[test]
fn values_stored_as_strings() {
    student(
        "str-value",
        &[(
            "value-stringified",
            Some(r#"data[name] = str(value) if BUG == "str-value" else value"#),
        )],
    );
}

#[test]
fn replies_encoded_twice() {
    student(
        "double-encode",
        &[(
            "reply-double-encoded",
            Some("text = json.dumps(json.dumps(reply))"),
        )],
    );
}

#[test]
fn reply_headers_big_endian() {
    student(
        "big-endian",
        &[(
            "reply-big-endian",
            Some(r#"conn.sendall(struct.pack(">ii", 1, length) + body)"#),
        )],
    );
}

#[test]
fn replies_without_a_header() {
    student("no-header", &[("reply-no-header", None)]);
}

#[test]
fn lengths_that_count_characters() {
    student(
        "char-length",
        &[(
            "reply-length-counts-chars",
            Some("text = json.dumps(reply, ensure_ascii=False)"),
        )],
    );
}

#[test]
fn lengths_one_too_long() {
    student("length-plus-one", &[("reply-length-wrong", None)]);
}

#[test]
fn connections_left_open() {
    student("no-close", &[("no-close", None)]);
}

#[test]
fn status_spelled_in_lower_case() {
    student(
        "status-case",
        &[(
            "status-spelling",
            Some(r#"reply = dict(reply, status="ok")"#),
        )],
    );
}

#[test]
fn puts_that_merge() {
    student("merge", &[("put-merges", Some("old.update(value)"))]);
}

#[test]
fn a_sequential_server_blocked_by_an_idle_client() {
    student(
        "sequential",
        &[("blocks-on-idle-client", Some("conn, _ = listener.accept()"))],
    );
}

#[test]
fn a_crash_on_an_unknown_func_is_located_by_its_traceback() {
    student(
        "crash-unknown",
        &[(
            "crash-on-unknown-func",
            Some(r#"raise ValueError("unknown function " + str(func))"#),
        )],
    );
}

#[test]
fn a_crash_on_an_empty_connection_is_located_by_its_traceback() {
    student(
        "crash-empty",
        &[(
            "crash-on-short-header",
            Some(r#"struct.unpack("ii", header)"#),
        )],
    );
}

#[test]
fn a_server_reading_and_writing_big_endian_is_one_finding_for_every_case() {
    let report = exec_json("python3 lab_server.py --bug hang");
    assert_eq!(
        findings(&report),
        BTreeSet::from(["header-big-endian".to_string()])
    );
    let f = finding(&report, "header-big-endian");
    assert_eq!(f["cases"].as_array().unwrap().len(), 55);
    assert_eq!(
        f["location"]["line"].as_u64(),
        Some(line_of(
            "lab_server.py",
            "_, length = struct.unpack(HEADER, recv_all(conn, 8))"
        ))
    );
}

/// The finding's location: (file, line text).
fn located(f: &serde_json::Value) -> (String, u64) {
    (
        f["location"]["file"].as_str().unwrap_or("").to_owned(),
        f["location"]["line"].as_u64().unwrap_or(0),
    )
}

#[test]
fn a_server_that_reads_big_endian_and_waits_gets_the_byte_order_and_the_bug_behind_it() {
    let file = "byte_order/read_wait.py";
    let report = exec_json(&format!("python3 {file}"));
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            "request-read-big-endian".to_string(),
            "crash-behind-byte-order".to_string()
        ]),
        "{report:#}"
    );
    let order = finding(&report, "request-read-big-endian");
    assert_eq!(
        located(order),
        (
            file.to_owned(),
            line_of(
                file,
                r#"version, length = struct.unpack("!II", recv_all(conn, 8))"#
            )
        )
    );
    // Every case failed because of it, and each is its evidence.
    assert_eq!(order["cases"].as_array().unwrap().len(), 55);
    for t in report["tests"].as_array().unwrap() {
        assert_eq!(t["finding"], "request-read-big-endian", "{t:#}");
    }
    // Sent in the order it reads, the request made its handler raise: a second bug.
    let behind = finding(&report, "crash-behind-byte-order");
    assert_eq!(
        located(behind),
        (
            file.to_owned(),
            line_of(file, "request = json.loads(recv_message(conn))")
        )
    );
    let probe = report["big_endian_probe"].as_str().unwrap();
    assert!(probe.starts_with("confirmed"), "{probe}");
    assert!(probe.contains("TypeError"), "{probe}");
    // Its evidence is the probe's own exchange: the request big-endian, the traceback it drew
    // (the handler's thread died; the server went on), and a reproducer.
    let evidence = &behind["evidence"];
    assert!(
        evidence["sent_hex"]
            .as_str()
            .unwrap()
            .starts_with("00000001"),
        "{evidence:#}"
    );
    assert_eq!(evidence["server"]["event"], "raised", "{evidence:#}");
    assert!(evidence["server"]["stderr_tail"]
        .as_str()
        .unwrap()
        .contains("TypeError: the JSON object must be str"));
    assert!(evidence["reproducer"].is_string(), "{evidence:#}");
    // The human report shows that traceback under the finding.
    let human = cmd()
        .current_dir(fixtures())
        .args(["--exec", &format!("python3 {file}")])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    let block = &human[human
        .find("error[crash-behind-byte-order]")
        .expect("the finding")..];
    assert!(block.contains("shown by the big-endian probe"), "{block}");
    assert!(block.contains("its traceback:"), "{block}");
}

#[test]
fn a_server_big_endian_both_ways_is_one_finding_not_five() {
    // A timeout of its own shorter than srpc-check's: it answers every request ERROR (in a
    // big-endian header) once its timeout ends, split or not, alone or beside others.
    let file = "byte_order/both_ways.py";
    let report = exec_json(&format!("python3 {file} 0.25"));
    let errors: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(errors, ["header-big-endian"], "{report:#}");
    let f = finding(&report, "header-big-endian");
    assert_eq!(
        located(f),
        (
            file.to_owned(),
            line_of(
                file,
                r#"version, length = struct.unpack(">ii", recv_all(conn, 8))"#
            )
        )
    );
    for t in report["tests"].as_array().unwrap() {
        if t["status"] == "fail" {
            assert_eq!(t["finding"], "header-big-endian", "{t:#}");
        }
    }
}

#[test]
fn a_server_that_exits_after_each_connection_is_one_finding() {
    let report = exec_json("python3 lab_server.py --bug one-shot");
    assert_eq!(
        findings(&report),
        BTreeSet::from(["exits-after-one".to_string()])
    );
}

#[test]
fn a_syntax_error_is_one_finding_at_its_line_with_its_output() {
    let dir = tempdir("syntax");
    std::fs::write(
        dir.join("srpc_lab.py"),
        "import socket\n\n\ndef main(:\n    pass\n",
    )
    .unwrap();
    let out = cmd()
        .current_dir(&dir)
        .args(["--exec", "python3 srpc_lab.py SERVER", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&report),
        BTreeSet::from(["crash-at-start".to_string()])
    );
    let f = finding(&report, "crash-at-start");
    assert_eq!(f["location"]["file"], "srpc_lab.py");
    assert_eq!(f["location"]["line"], 4);
    assert_eq!(f["location"]["text"], "def main(:");
    assert_eq!(f["cases"].as_array().unwrap().len(), 55);
    let first = &report["tests"][0];
    assert!(first["server"]["stderr_tail"]
        .as_str()
        .unwrap()
        .contains("SyntaxError"));
    // The human report: the finding once, with its line, the traceback, and no 55 blocks.
    cmd()
        .current_dir(&dir)
        .args(["--exec", "python3 srpc_lab.py SERVER"])
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("error[crash-at-start]")
                .count(1)
                .and(predicate::str::contains("srpc_lab.py:4: def main(:"))
                .and(predicate::str::contains("SyntaxError"))
                .and(predicate::str::contains("problem:").count(1)),
        );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_single_recv_server_reads_in_at_most_80_lines_ending_with_the_summary() {
    let out = cmd()
        .current_dir(fixtures())
        .args(["--exec", "python3 student_server.py --bug single-recv"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 80, "{} lines:\n{text}", lines.len());
    // Full details once per finding.
    assert_eq!(text.matches("reproduce:").count(), 2, "{text}");
    assert_eq!(text.matches("error[").count(), 2, "{text}");
    // The last screen: the autograder's cases, then each finding with its fix and line.
    let summary = text
        .rfind("lab autograder cases: 3/3")
        .expect("the grading line");
    let tail = &text[summary..];
    for needle in [
        "header-single-recv",
        "payload-single-recv",
        "at student_server.py:",
        "fix: your server reads the header with one recv(); loop until all 8 bytes have arrived",
    ] {
        assert!(
            tail.contains(needle),
            "{needle:?} not in the summary:\n{tail}"
        );
    }
    // Every failing case line names its finding.
    for line in lines.iter().filter(|l| l.trim_start().starts_with("FAIL")) {
        assert!(
            line.contains("header-single-recv") || line.contains("payload-single-recv"),
            "{line}"
        );
    }
    // --verbose shows every case.
    let verbose = cmd()
        .current_dir(fixtures())
        .args([
            "--exec",
            "python3 student_server.py --bug single-recv",
            "--verbose",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let verbose = String::from_utf8(verbose.stdout).unwrap();
    assert!(verbose.contains("PASS  grading/put"), "{verbose}");
    assert!(verbose.lines().count() > lines.len());
}

#[test]
fn explain_and_the_catalogue() {
    cmd()
        .args(["explain", "header-single-recv"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("error[header-single-recv]")
                .and(predicate::str::contains("Wrong:"))
                .and(predicate::str::contains("Right:"))
                .and(predicate::str::contains("conn.recv(8)")),
        );
    cmd()
        .args(["explain", "no-such-bug"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("list --findings"));
    let listed = cmd().args(["list", "--findings"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    for code in [
        "header-single-recv",
        "payload-single-recv",
        "message-single-recv",
        "request-read-big-endian",
        "header-big-endian",
        "crash-behind-byte-order",
        "delayed-by-idle-client",
        "client-reply-read-big-endian",
        "reply-no-header",
        "reply-big-endian",
        "reply-version",
        "reply-length-wrong",
        "reply-length-counts-chars",
        "reply-double-encoded",
        "status-spelling",
        "store-not-kept",
        "missing-is-error",
        "value-stringified",
        "numbers-changed",
        "put-merges",
        "no-close",
        "exits-after-one",
        "blocks-on-idle-client",
        "never-listens",
        "crash-at-start",
        "crash-on-short-header",
        "crash-on-bad-request",
        "crash-on-unknown-func",
        "crash-when-client-leaves",
        "unexplained",
    ] {
        assert!(listed.contains(code), "{code} not listed");
        cmd().args(["explain", code]).assert().success();
    }
}

/// One buggy file (the header read with a single recv()), started in each way users and
/// graders start servers: its finding is located from the running Python process, so every
/// shape gets the same finding on the same line.
#[test]
fn every_way_of_starting_a_server_gets_the_same_finding_on_the_same_line() {
    let dir = tempdir("shapes");
    let buggy = std::fs::read_to_string(fixtures().join("shapes/srpc_lab.py")).unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    for path in [
        "lab2/srpc_lab.py",
        "server.py",
        "lab/server.py",
        "submission/srpc_lab.py",
    ] {
        write(path, &buggy);
    }
    write("lab/__init__.py", "");
    write("run.sh", "cd lab2\npython3 srpc_lab.py SERVER\n");
    write("Makefile", "run:\n\tpython3 lab2/srpc_lab.py SERVER\n");
    // A course's wrapper imports the submission; another runs it as __main__.
    write(
        "grader.py",
        "import sys\nsys.path.insert(0, \"submission\")\nimport srpc_lab\n\nsrpc_lab.main()\n",
    );
    write(
        "run_it.py",
        "import runpy\n\nrunpy.run_path(\"lab2/srpc_lab.py\", run_name=\"__main__\")\n",
    );
    write(
        "exec_it.py",
        "with open(\"server.py\") as f:\n    exec(f.read())\n",
    );
    let line = {
        let found: Vec<usize> = buggy
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == "header = conn.recv(8)")
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(found.len(), 1);
        found[0] as u64
    };
    for (command, file) in [
        ("cd lab2 && python3 srpc_lab.py SERVER", "lab2/srpc_lab.py"),
        (
            "HOST=127.0.0.1 PORT=4444 exec python3 server.py",
            "server.py",
        ),
        ("sh run.sh", "lab2/srpc_lab.py"),
        ("make --quiet run", "lab2/srpc_lab.py"),
        ("python3 -m lab.server", "lab/server.py"),
        ("python3 grader.py", "submission/srpc_lab.py"),
        ("python3 run_it.py", "lab2/srpc_lab.py"),
        ("python3 exec_it.py", "server.py"),
    ] {
        let out = cmd()
            .current_dir(&dir)
            .args(["--exec", command, "--only", "grading/*,fragment/*"])
            .args(["--format", "json"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{command}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(
            findings(&report),
            BTreeSet::from(["header-single-recv".to_string()]),
            "{command}: {report:#}"
        );
        let f = finding(&report, "header-single-recv");
        assert_eq!(located(f), (file.to_owned(), line), "{command}: {f:#}");
        assert_eq!(f["location"]["text"], "header = conn.recv(8)", "{command}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
