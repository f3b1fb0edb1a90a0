//! `srpc-check client`: the fixture clients (tests/fixtures/lab_client.py, one bug each) give
//! exactly their findings, on the cases that show them, located on the line the bug lives on,
//! and leave nothing running. Each run happens in srpc-check's own private network on port
//! 4444, so these tests run side by side.

mod common;

use std::collections::BTreeSet;

use common::{cmd, findings, leftovers, test_by_id};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Runs the fixture client with `bug` and returns the exit code and the JSON report.
fn run(bug: &str, extra: &[&str]) -> (i32, Value) {
    let token = format!("client-{bug}-{}", std::process::id());
    let out = cmd()
        .current_dir(FIXTURES)
        .args([
            "client",
            "--exec",
            &format!("python3 lab_client.py --bug {bug} --token {token}"),
            "--format",
            "json",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        leftovers(&token),
        Vec::<u32>::new(),
        "processes of the client outlived srpc-check"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

fn with_status(report: &Value, status: &str) -> BTreeSet<String> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == status)
        .map(|t| {
            t["id"]
                .as_str()
                .unwrap()
                .trim_start_matches("client/")
                .to_owned()
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn all_cases() -> BTreeSet<String> {
    let mut all = set(&[
        "one-piece",
        "header-then-payload",
        "payload-split",
        "dribble",
        "large-reply",
        "non-ascii",
        "slow-reply",
        "server-closes",
    ]);
    all.extend((1..=7).map(|k| format!("header-split-{k}")));
    all
}

fn splits() -> Vec<String> {
    (1..=7).map(|k| format!("header-split-{k}")).collect()
}

/// The line the finding points at.
fn location_text(report: &Value, code: &str) -> String {
    let f = common::finding(report, code);
    assert_eq!(f["location"]["file"], "lab_client.py", "{f}");
    f["location"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_correct_client_passes_every_case() {
    let (code, report) = run("none", &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(findings(&report), BTreeSet::new());
    assert_eq!(with_status(&report, "pass"), all_cases());
}

#[test]
fn a_header_read_with_one_recv_fails_the_header_splits_and_the_dribble() {
    let (code, report) = run("header-single-recv", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-header-single-recv"]));
    let mut failing: BTreeSet<String> = splits().into_iter().collect();
    failing.insert("dribble".into());
    assert_eq!(with_status(&report, "fail"), failing);
    assert_eq!(
        location_text(&report, "client-header-single-recv"),
        "header = conn.recv(8)"
    );
    let t = test_by_id(&report, "client/header-split-3");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("read 3 bytes of the"),
        "{t}"
    );
}

#[test]
fn a_payload_read_with_one_recv_fails_where_the_payload_comes_in_pieces() {
    let (code, report) = run("payload-single-recv", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-payload-single-recv"]));
    assert_eq!(
        with_status(&report, "fail"),
        set(&["payload-split", "dribble", "large-reply"])
    );
    assert_eq!(
        location_text(&report, "client-payload-single-recv"),
        "payload = conn.recv(length)"
    );
    // It crashed on half a payload: its traceback is the evidence.
    let t = test_by_id(&report, "client/payload-split");
    assert!(
        t["server"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("JSONDecodeError"),
        "{t}"
    );
}

#[test]
fn one_recv_for_the_whole_reply_is_one_finding() {
    let (code, report) = run("recv-4096", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-message-single-recv"]));
    let passing = set(&["one-piece", "non-ascii", "slow-reply", "server-closes"]);
    let failing: BTreeSet<String> = all_cases().difference(&passing).cloned().collect();
    assert_eq!(with_status(&report, "fail"), failing);
    assert_eq!(
        location_text(&report, "client-message-single-recv"),
        "data = conn.recv(4096)"
    );
}

#[test]
fn a_client_that_never_closes_warns() {
    let (code, report) = run("never-closes", &[]);
    assert_eq!(code, 0, "warnings do not fail the run");
    assert_eq!(findings(&report), set(&["client-never-closes"]));
    let mut warned = all_cases();
    warned.remove("server-closes");
    assert_eq!(with_status(&report, "warn"), warned);
}

#[test]
fn a_client_that_crashes_on_non_ascii_text() {
    let (code, report) = run("non-ascii-crash", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-non-ascii"]));
    assert_eq!(with_status(&report, "fail"), set(&["non-ascii"]));
    let t = test_by_id(&report, "client/non-ascii");
    assert_eq!(t["server"]["status"], "exit status 1", "{t}");
    assert!(t["server"]["stderr_tail"]
        .as_str()
        .unwrap()
        .contains("UnicodeEncodeError"));
    assert!(location_text(&report, "client-non-ascii").contains("encode(\"ascii\")"));
}

#[test]
fn a_client_that_hangs_when_the_server_closes_is_stopped_and_located() {
    let (code, report) = run("hang-on-close", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-hangs-on-close"]));
    assert_eq!(with_status(&report, "fail"), set(&["server-closes"]));
    let t = test_by_id(&report, "client/server-closes");
    assert_eq!(t["server"]["event"], "hung", "{t}");
    // Stopped with Ctrl-C first, so its traceback says where it was stuck: somewhere in the
    // loop of recv_exactly, wherever the interrupt found it spinning.
    let f = common::finding(&report, "client-hangs-on-close");
    let line = f["location"]["line"].as_u64().unwrap() as usize;
    let source = std::fs::read_to_string(format!("{FIXTURES}/lab_client.py")).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("def recv_exactly"))
        .unwrap();
    let end = start
        + 1
        + lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("def "))
            .unwrap();
    assert!(line > start + 1 && line <= end, "line {line}: {f}");
}

#[test]
fn what_the_client_prints_is_compared_with_the_reply_by_python_repr() {
    let (code, report) = run("prints-response", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-wrong-output"]));
    let mut failing = all_cases();
    failing.remove("server-closes");
    assert_eq!(with_status(&report, "fail"), failing);
    let t = test_by_id(&report, "client/one-piece");
    assert_eq!(
        t["expected"],
        "Ret:{'status': 'OK', 'response': {'func': 'GET', 'response': {'obj': 'ABC', 'val': None}}}"
    );
    assert_eq!(
        t["actual"],
        "Ret:{'func': 'GET', 'response': {'obj': 'ABC', 'val': None}}"
    );
}

#[test]
fn a_big_endian_request_is_malformed_and_gets_error() {
    let (code, report) = run("request-big-endian", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-request-malformed"]));
    let t = test_by_id(&report, "client/one-piece");
    assert!(t["message"].as_str().unwrap().contains("big-endian"), "{t}");
    // What srpc-check answered: a correct server's ERROR.
    assert!(t["sent_hex"]
        .as_str()
        .unwrap()
        .ends_with(&hex(br#"{"status": "ERROR"}"#)));
}

#[test]
fn a_reply_header_read_big_endian_is_the_byte_order_not_a_hang() {
    let (code, report) = run("reply-read-big-endian", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-reply-read-big-endian"]));
    // Every case with a reply: the client read it whole and waited for ~1.3 GB more.
    let mut with_reply = all_cases();
    with_reply.remove("server-closes");
    assert_eq!(with_reply, with_status(&report, "fail"));
    let f = &report["findings"][0];
    assert_eq!(f["location"]["file"], "lab_client.py");
    assert_eq!(
        f["location"]["text"],
        r#"version, length = struct.unpack("!II" if BUG == "reply-read-big-endian" else "ii", header)"#
    );
}

#[test]
fn a_client_started_by_a_script_from_another_folder_is_located_in_its_own_file() {
    // The client's files are found from its running Python process, not the command's words.
    let dir = common::tempdir("client-shape");
    std::fs::create_dir_all(dir.join("lab")).unwrap();
    std::fs::copy(
        std::path::Path::new(FIXTURES).join("lab_client.py"),
        dir.join("lab/lab_client.py"),
    )
    .unwrap();
    std::fs::write(
        dir.join("run.sh"),
        "cd lab && python3 lab_client.py --bug header-single-recv\n",
    )
    .unwrap();
    let out = cmd()
        .current_dir(&dir)
        .args(["client", "--exec", "sh run.sh", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&report), set(&["client-header-single-recv"]));
    let f = &report["findings"][0];
    assert_eq!(f["location"]["file"], "lab/lab_client.py", "{f:#}");
    assert_eq!(f["location"]["text"], "header = conn.recv(8)");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn listen_puts_srpc_check_on_an_address_of_this_network() {
    // A port below the ephemeral range, on loopback only.
    let port = 23000 + (std::process::id() % 1000) as u16;
    let token = format!("client-listen-{}", std::process::id());
    let out = cmd()
        .current_dir(FIXTURES)
        .args([
            "client",
            "--exec",
            &format!("python3 lab_client.py --host 127.0.0.1 --port {port} --token {token}"),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--only",
            "client/one-piece,client/header-split-4",
        ])
        .output()
        .unwrap();
    assert_eq!(leftovers(&token), Vec::<u32>::new());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("127.0.0.1:{port} (--listen)")),
        "{stdout}"
    );
    assert!(stdout.contains("2 passed"), "{stdout}");
    assert!(stdout.contains("13 cases left out"), "{stdout}");
}

#[test]
fn a_client_that_never_connects_says_where_srpc_check_listened() {
    let out = cmd()
        .current_dir(FIXTURES)
        .args([
            "client",
            "--exec",
            "echo 'no client here'",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&report), set(&["client-never-connects"]));
    // Shown once; the other cases are not run again for it, and join its finding.
    let f = common::finding(&report, "client-never-connects");
    assert_eq!(f["cases"].as_array().unwrap().len(), 15, "{f}");
    let later = test_by_id(&report, "client/server-closes");
    assert!(
        later["message"]
            .as_str()
            .unwrap()
            .contains("never connects (shown in client/one-piece)"),
        "{later}"
    );
    let t = test_by_id(&report, "client/one-piece");
    assert!(t["message"]
        .as_str()
        .unwrap()
        .contains("exited (exit status 0) without connecting"));
    assert!(t["hint"].as_str().unwrap().contains("port 4444"), "{t}");
}

#[test]
fn reports_for_ci_and_grading_platforms() {
    let dir = common::tempdir("client-reports");
    let junit = dir.join("junit.xml");
    let gradescope = dir.join("results.json");
    let out = cmd()
        .current_dir(FIXTURES)
        .env_remove("GITHUB_OUTPUT")
        .args([
            "client",
            "--exec",
            "python3 lab_client.py --bug header-single-recv",
            "--only",
            "client/one-piece,client/header-split-*",
            "--junit",
        ])
        .arg(&junit)
        .arg("--gradescope")
        .arg(&gradescope)
        .arg("--classroom")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("client/header-split-1"), "{xml}");
    assert!(xml.contains("client-header-single-recv"), "{xml}");
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(&gradescope).unwrap()).unwrap();
    // The client rubric: one-piece is worth 40, the other 60 points share the rest; only
    // one-piece passed here.
    assert_eq!(results["score"].as_f64(), Some(40.0), "{results}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("result="), "{stdout}");
}

#[test]
fn the_default_client_rubric_prints() {
    let out = cmd().args(["client", "--print-rubric"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("group = \"client\""), "{text}");
}

#[test]
fn without_namespaces_it_says_so_and_listens_on_this_network() {
    // Inside a private network of the test's own (so port 4444 there is free), with
    // srpc-check told not to make one itself.
    let token = format!("client-nons-{}", std::process::id());
    let bin = assert_cmd::cargo::cargo_bin("srpc-check");
    let out = cmd()
        .current_dir(FIXTURES)
        .env("SRPC_CHECK_NO_NAMESPACES", "1")
        .args(["__box", "--"])
        .arg(&bin)
        .args([
            "client",
            "--exec",
            &format!("python3 lab_client.py --token {token}"),
            "--only",
            "client/one-piece",
        ])
        .output()
        .unwrap();
    assert_eq!(leftovers(&token), Vec::<u32>::new());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("no private network for the client (SRPC_CHECK_NO_NAMESPACES is set)"),
        "{stderr}"
    );
    assert!(
        stdout.contains("0.0.0.0:4444 in this machine's network"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn the_whole_lab_in_one_run_server_then_client() {
    let token = format!("client-lab-{}", std::process::id());
    let out = cmd()
        .current_dir(FIXTURES)
        .args([
            "--exec",
            &format!("python3 lab_server.py --port 4444 --token {token}"),
            "--client-exec",
            &format!("python3 lab_client.py --bug payload-single-recv --token {token}"),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(leftovers(&token), Vec::<u32>::new());
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tests = report["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 70);
    assert_eq!(tests.iter().filter(|t| t["group"] == "client").count(), 15);
    // The server's findings point at the server's file, the client's at the client's.
    let f = common::finding(&report, "client-payload-single-recv");
    assert_eq!(f["location"]["file"], "lab_client.py", "{f}");
    let server = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| !f["code"].as_str().unwrap().starts_with("client-"))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(server["location"]["file"], "lab_server.py", "{server}");
    assert_eq!(
        with_status(&report, "fail")
            .into_iter()
            .filter(|id| !id.contains('/'))
            .collect::<BTreeSet<_>>(),
        set(&["payload-split", "dribble", "large-reply"])
    );
}

#[test]
fn a_client_that_gives_up_after_a_second_fails_the_slow_reply() {
    let (code, report) = run("timeout-1s", &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report), set(&["client-gives-up-early"]));
    assert_eq!(with_status(&report, "fail"), set(&["slow-reply"]));
    let t = test_by_id(&report, "client/slow-reply");
    assert!(
        t["server"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("TimeoutError"),
        "{t}"
    );
}

#[test]
fn when_port_4444_is_taken_the_servers_results_stand_and_the_client_cases_say_why() {
    // In a private network of the test's own, something else holds 4444 on every address;
    // srpc-check is told not to make a network of its own.
    let token = format!("client-taken-{}", std::process::id());
    let bin = assert_cmd::cargo::cargo_bin("srpc-check");
    let script = format!(
        "python3 -c 'import socket,time; s=socket.socket(); s.bind((\"0.0.0.0\", 4444)); s.listen(); time.sleep(60)  # {token}' &
         holder=$!
         sleep 0.5
         '{}' --exec 'python3 lab_server.py --token {token}' --client-exec 'python3 lab_client.py --token {token}' --only 'grading/*,client/one-piece' --format json
         status=$?
         kill $holder
         exit $status",
        bin.display()
    );
    let out = cmd()
        .current_dir(FIXTURES)
        .env("SRPC_CHECK_NO_NAMESPACES", "1")
        .args(["__box", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(leftovers(&token), Vec::<u32>::new());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(with_status(&report, "pass").len(), 3, "{report}");
    let t = test_by_id(&report, "client/one-piece");
    assert_eq!(t["status"], "not_run", "{t}");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("cannot listen on 0.0.0.0:4444"),
        "{t}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
