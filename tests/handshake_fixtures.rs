//! `--protocol handshake` (lab 3) against the fixture server and client in
//! tests/fixtures/handshake, correct and with each `--bug`: every bug gives exactly its
//! findings, on its own line. Both bind or connect to the lab's fixed 127.0.0.1:12000, so each
//! run has a private network of its own (`srpc-check __box`).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/handshake")
}

/// `srpc-check ARGS` in a private network, from a copy of the fixtures (a bug may write a
/// file where it runs); the exit code, the JSON report and the folder.
fn boxed(name: &str, args: &[&str]) -> (i32, Value, PathBuf) {
    let dir = tempdir(name);
    for f in ["server.py", "client.py"] {
        std::fs::copy(fixtures().join(f), dir.join(f)).unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("srpc-check");
    let out = cmd()
        .current_dir(&dir)
        .args(["__box", "--"])
        .arg(&bin)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report, dir)
}

fn server(bug: Option<&str>) -> (i32, Value, PathBuf) {
    let command = match bug {
        Some(b) => format!("python3 server.py --bug {b}"),
        None => "python3 server.py".to_owned(),
    };
    boxed(
        &format!("handshake-{}", bug.unwrap_or("correct")),
        &["--protocol", "handshake", "--exec", &command],
    )
}

fn client(bug: Option<&str>) -> (i32, Value) {
    let command = match bug {
        Some(b) => format!("python3 client.py --bug {b}"),
        None => "python3 client.py".to_owned(),
    };
    let (code, report, _) = boxed(
        &format!("handshake-client-{}", bug.unwrap_or("correct")),
        &["client", "--protocol", "handshake", "--exec", &command],
    );
    (code, report)
}

/// The findings are exactly `codes`, and the first is located on a line of `file` that
/// contains `text`.
fn assert_findings(report: &Value, what: &str, codes: &[&str], file: &str, text: &str) {
    assert_eq!(
        findings(report),
        codes.iter().map(|c| c.to_string()).collect(),
        "{what}: {report:#}"
    );
    let f = finding(report, codes[0]);
    let at = &f["location"];
    assert_eq!(at["file"], file, "{what}: {f:#}");
    assert!(
        at["text"].as_str().unwrap_or("").contains(text),
        "{what}: {f:#}"
    );
}

#[test]
fn the_correct_lab_3_server_passes_every_case() {
    let (code, report, _) = server(None);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(tests_with_status(&report, "pass").len(), 16, "{report:#}");
    assert_eq!(report["protocol"], "handshake");
}

macro_rules! server_bugs {
    ($($name:ident: $bug:literal => [$($code:literal),+] at $text:literal;)*) => {
        $(
            #[test]
            fn $name() {
                let (code, report, _) = server(Some($bug));
                assert_findings(&report, $bug, &[$($code),+], "server.py", $text);
                let warning_only = [$($code),+].iter().all(|c| *c == "info-single-recv");
                assert_eq!(code, if warning_only { 0 } else { 1 }, "{report:#}");
            }
        )*
    };
}

server_bugs! {
    never_binds: "never-binds" => ["never-binds"] at "self._listen()";
    wrapped_id: "wrapped-id" => ["clientid-wrong"] at "clientid";
    address_id: "address-id" => ["clientid-wrong"] at "clientid";
    unsafe_id: "unsafe-id" => ["unsafe-pickle-refused"] at "clientid";
    eof_crash: "eof-crash" => ["crash-when-client-leaves"] at "pickle.loads(data)";
    socket_error_only: "socket-error-only" => ["crash-on-bad-pickle"] at "data[\"sid\"]";
    ack_dict: "ack-dict" => ["ack-wrong"] at "pickle.dumps(1)";
    ack_string: "ack-string" => ["ack-wrong"] at "pickle.dumps(1)";
    no_ack: "no-ack" => ["ack-wrong"] at "pickle.dumps(1)";
    log_misspelled: "log-misspelled" => ["log-line-wrong"] at "Connected";
    no_log: "no-log" => ["log-line-wrong"] at "Connected";
    no_listening_line: "no-listening-line" => ["log-line-wrong"] at "Listening at";
    single_recv: "single-recv" => ["info-single-recv"] at "pickle.loads(data)";
}

#[test]
fn a_server_without_an_accept_loop_exits_after_one() {
    let (code, report, _) = server(Some("exits-after-one"));
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        ["exits-after-one".to_string()].into(),
        "{report:#}"
    );
}

#[test]
fn a_pickle_that_would_run_code_is_refused_and_never_run() {
    let (code, report, dir) = server(Some("code-id"));
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        ["unsafe-pickle-refused".to_string()].into(),
        "{report:#}"
    );
    let case = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "grading/client-id")
        .unwrap();
    assert!(
        case["message"].as_str().unwrap().contains("STACK_GLOBAL"),
        "{case:#}"
    );
    // Unpickled, the id would have run `touch unpickled` in the run's folder.
    assert!(!dir.join("unpickled").exists());
    assert!(pickle_would_run_code(&dir));
}

/// The fixture's pickle does run code when Python unpickles it (so the test above means
/// something): unpickled here, in a scratch folder of its own.
fn pickle_would_run_code(dir: &Path) -> bool {
    let scratch = dir.join("python-unpickles");
    std::fs::create_dir_all(&scratch).unwrap();
    let status = std::process::Command::new("python3")
        .current_dir(&scratch)
        .args([
            "-c",
            "import pickle, sys; sys.argv += ['--bug', 'code-id']; sys.path.insert(0, '..'); import server; pickle.loads(pickle.dumps(server.RunsCode()))",
        ])
        .status()
        .unwrap();
    status.success() && scratch.join("unpickled").exists()
}

#[test]
fn the_builtin_reference_server_passes_and_prints_the_lab_lines() {
    let (code, report) = check_json("builtin", &["--protocol", "handshake"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    // Its printed lines were checked, not skipped.
    assert!(tests_with_status(&report, "skip").is_empty(), "{report:#}");
}

#[test]
fn the_correct_lab_3_client_passes_every_case() {
    let (code, report) = client(None);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(tests_with_status(&report, "pass").len(), 8, "{report:#}");
}

macro_rules! client_bugs {
    ($($name:ident: $bug:literal => [$($code:literal),+] at $text:literal;)*) => {
        $(
            #[test]
            fn $name() {
                let (code, report) = client(Some($bug));
                assert_eq!(code, 1, "{report:#}");
                assert_findings(&report, $bug, &[$($code),+], "client.py", $text);
            }
        )*
    };
}

client_bugs! {
    client_recv_each: "recv-each" => ["client-reads-twice", "client-single-recv"] at "self.client.recv(4090)";
    client_info_keys: "info-keys" => ["client-info-wrong"] at "\"sid\"";
    client_sid_str: "sid-str" => ["client-info-wrong"] at "\"sid\"";
    client_unsafe_info: "unsafe-info" => ["unsafe-pickle-refused"] at "pickle.dumps(";
    client_no_check: "no-check" => ["client-lines-wrong"] at "you passed the test";
    client_no_connected_line: "no-connected-line" => ["client-lines-wrong"] at "has successfully connected to";
    client_reads_until_eof: "reads-until-eof" => ["client-hangs"] at "self.client.recv(4096)";
}

#[test]
fn grade_checks_a_lab_3_class_with_its_clients() {
    let root = tempdir("handshake-grade");
    for (name, bug) in [("good", None), ("unbound", Some("never-binds"))] {
        let dir = root.join("class").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["server.py", "client.py"] {
            let text = std::fs::read_to_string(fixtures().join(f)).unwrap();
            let bug = match (f, bug) {
                ("server.py", Some(b)) => format!("{b:?}"),
                _ => "None".to_owned(),
            };
            std::fs::write(
                dir.join(f),
                text.replace("BUG = None", &format!("BUG = {bug}")),
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
            "handshake",
            "--exec",
            "python3 server.py",
            "--client-exec",
            "python3 client.py",
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
    assert_eq!(read(out.join("grade.json"))["protocol"], "handshake");
    let good = read(out.join("good").join("report.json"));
    assert!(findings(&good).is_empty(), "{good:#}");
    assert!(
        tests_with_status(&good, "pass")
            .iter()
            .any(|t| t["id"] == "client/id-and-ack-together"),
        "{good:#}"
    );
    let unbound = read(out.join("unbound").join("report.json"));
    assert_eq!(
        findings(&unbound),
        ["never-binds".to_string()].into(),
        "{unbound:#}"
    );
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains(",robust,"), "{csv}");
}

#[test]
fn call_plays_the_lab_client_once() {
    cmd()
        .args([
            "call",
            "--protocol",
            "handshake",
            "--target",
            "builtin",
            "Ada Lovelace",
            "ada",
            "1234",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("has successfully connected to"))
        .stdout(predicates::str::contains(
            "Data acknowledged by server and you passed the test",
        ));
    cmd()
        .args([
            "call",
            "--protocol",
            "handshake",
            "--target",
            "builtin",
            "Ada",
            "ada",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("SID is an integer"));
}

#[test]
fn list_and_explain_speak_handshake() {
    cmd()
        .args(["list", "--protocol", "handshake"])
        .assert()
        .success()
        .stdout(predicates::str::contains("grading/listening-line"))
        .stdout(predicates::str::contains("client/id-and-ack-together"));
    for code in [
        "never-binds",
        "clientid-wrong",
        "ack-wrong",
        "log-line-wrong",
        "crash-on-bad-pickle",
        "unsafe-pickle-refused",
        "client-info-wrong",
        "client-reads-twice",
        "client-single-recv",
    ] {
        cmd()
            .args(["explain", code, "--protocol", "handshake"])
            .assert()
            .success()
            .stdout(predicates::str::contains("Fix:"));
    }
    // A shared code in lab 3's words: the EOFError of pickle.loads(b""), not srpc's ERROR
    // reply, which srpc still gets.
    cmd()
        .args([
            "explain",
            "crash-when-client-leaves",
            "--protocol",
            "handshake",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("EOFError"))
        .stdout(predicates::str::contains("ERROR reply").not());
    cmd()
        .args(["explain", "crash-when-client-leaves"])
        .assert()
        .success()
        .stdout(predicates::str::contains("the ERROR reply included"));
}

#[test]
fn a_server_that_dies_on_a_departed_clients_eof_is_told_lab_3s_fix() {
    let (code, report, _) = server(Some("eof-crash"));
    assert_eq!(code, 1, "{report:#}");
    let fix = finding(&report, "crash-when-client-leaves")["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fix.contains("pickle.loads"), "{fix}");
}

#[test]
fn fuzz_and_bench_run_against_the_reference_server() {
    let (code, report) = run_json_in(
        &fixtures(),
        &[
            "fuzz",
            "--protocol",
            "handshake",
            "--target",
            "builtin",
            "--cases",
            "60",
            "--seed",
            "5",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    assert!(report["finding"].is_null(), "{report:#}");
    let out = cmd()
        .args([
            "bench",
            "--protocol",
            "handshake",
            "--target",
            "builtin",
            "--duration",
            "1s",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bench: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bench["errors"], 0, "{bench:#}");
    assert!(bench["requests"].as_u64().unwrap() > 0, "{bench:#}");
}

#[test]
fn the_lab_3_page_documents_every_code_of_its_own() {
    use srpc_check::protocol::handshake::findings::HandshakeCode;
    let page = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/handshake-protocol.md"),
    )
    .unwrap();
    assert_eq!(HandshakeCode::LISTED.len(), 11);
    for code in HandshakeCode::LISTED {
        let code = code.info().code;
        assert!(
            page.contains(&format!("`{code}`")),
            "{code} is not in the page"
        );
    }
}
