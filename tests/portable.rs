//! The portable mode (what macOS gets: no /proc observation, no namespaces, the process table
//! from sysinfo and the listeners from the `listeners` crate), run here on Linux with
//! `SRPC_CHECK_PORTABLE=1`. Every fixture server and client of the corpus (srpc, lab 4 and
//! lab 3) gets the same verdict in each case, the same findings on the same lines, as in
//! Linux's own mode; the portable run says once that it is portable, and leaves no process
//! behind.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// One run of srpc-check with `args` from `dir`, portable or not, and `boxed` in a private
/// network of its own (`__box`: for the programs that bind or connect to a lab's fixed port
/// themselves, where the portable mode listens on 0.0.0.0:PORT as it does on a laptop): exit
/// code, JSON report and stderr.
fn run(portable: bool, boxed: bool, dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let flag = if portable { "1" } else { "0" };
    let mut command = cmd();
    command.current_dir(dir);
    if boxed {
        command
            .args(["__box", "--", "env"])
            .arg(format!("SRPC_CHECK_PORTABLE={flag}"))
            .arg(assert_cmd::cargo::cargo_bin("srpc-check"));
    } else {
        command.env("SRPC_CHECK_PORTABLE", flag);
    }
    let out = command
        .args(args)
        .args(["--format", "json"])
        // The server checks' random choices stay the same between the two runs.
        .args(if args[0] == "client" {
            &[][..]
        } else {
            &["--seed", "7"][..]
        })
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Each finding with the file and line it is located on.
fn located(report: &Value) -> BTreeMap<String, (String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                (
                    f["location"]["file"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    f["location"]["line"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

/// Runs `args` from `dir` in both modes (see [`run`] for `boxed`) and asserts the same
/// verdicts; returns the portable report and stderr.
fn same_in_both(what: &str, boxed: bool, dir: &Path, args: &[&str]) -> (Value, String) {
    let (code, kernel, _) = run(false, boxed, dir, args);
    let (pcode, portable, stderr) = run(true, boxed, dir, args);
    assert_eq!(pcode, code, "{what}: exit code");
    assert_eq!(verdicts(&portable), verdicts(&kernel), "{what}: verdicts");
    assert_eq!(located(&portable), located(&kernel), "{what}: findings");
    assert!(kernel.get("portable").is_none(), "{what}: {kernel}");
    let note = portable["portable"].as_str().unwrap_or_default();
    assert!(
        note.contains("SRPC_CHECK_PORTABLE") && note.contains("less certain"),
        "{what}: the portable report says so: {note:?}"
    );
    if args[0] != "client" {
        // A server run says its verdicts were not by observation.
        assert_eq!(portable["observed"], false, "{what}");
    }
    (portable, stderr)
}

/// `command` starts with `python3 `; an `-X` option (which Python keeps and ignores) names
/// the run's processes for the leftover check.
fn exec_both(what: &str, dir: &Path, command: &str, extra: &[&str]) {
    let (command, token) = tokened(command);
    let mut args = vec!["--exec", command.as_str()];
    args.extend(extra);
    same_in_both(what, false, dir, &args);
    assert_eq!(leftovers(&token), Vec::<u32>::new(), "{what}: left behind");
}

/// `command` (which starts with `python3 `) with an `-X` option that names the run's
/// processes, and that name, for the leftover check.
fn tokened(command: &str) -> (String, String) {
    let token = format!("portable_{}_{}", std::process::id(), fastrand_token());
    let command = command.replacen("python3 ", &format!("python3 -X {token} "), 1);
    (command, token)
}

fn fastrand_token() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

const STUDENT_BUGS: &[&str] = &[
    "none",
    "single-recv",
    "recv-4096",
    "no-persist",
    "missing-error",
    "str-value",
    "double-encode",
    "big-endian",
    "no-header",
    "char-length",
    "length-plus-one",
    "no-close",
    "status-case",
    "merge",
    "sequential",
    "crash-unknown",
    "crash-empty",
    "big-endian-read",
];

#[test]
fn every_student_server_gets_the_same_verdicts_portable() {
    for bug in STUDENT_BUGS {
        exec_both(
            bug,
            Path::new(FIXTURES),
            &format!("python3 student_server.py --bug {bug}"),
            &[],
        );
    }
}

#[test]
fn every_lab_server_variant_gets_the_same_verdicts_portable() {
    for variant in [
        "",
        "--bug broken-pipe",
        "--bug one-shot",
        "--bug hang",
        "--bug be-error",
        // No subreaper here: the helper that calls setsid() is stopped all the same.
        "--bug daemon",
        "--timeout 1",
        "--timeout 0",
    ] {
        exec_both(
            variant,
            Path::new(FIXTURES),
            &format!("python3 lab_server.py {variant}"),
            &[],
        );
    }
}

/// A copy of the lab 4 fixtures' folder (a server may write files where it runs).
fn app_dir(name: &str) -> PathBuf {
    let dir = tempdir(&format!("portable-app-{name}"));
    for f in [
        "app-server.py",
        "libserver.py",
        "app-client.py",
        "libclient.py",
    ] {
        std::fs::copy(Path::new(FIXTURES).join("app").join(f), dir.join(f)).unwrap();
    }
    dir
}

#[test]
fn every_lab_4_server_gets_the_same_verdicts_portable() {
    let bugs = std::fs::read_to_string(Path::new(FIXTURES).join("app/libserver.py")).unwrap();
    let bugs: Vec<&str> = bugs
        .split_once("BUGS = (")
        .unwrap()
        .1
        .split_once(')')
        .unwrap()
        .0
        .split('"')
        .skip(1)
        .step_by(2)
        .collect();
    assert!(bugs.len() > 15, "{bugs:?}");
    for bug in std::iter::once("").chain(bugs) {
        let dir = app_dir(if bug.is_empty() { "correct" } else { bug });
        let command = match bug {
            "" => "python3 app-server.py 127.0.0.1 0".to_owned(),
            b => format!("python3 app-server.py 127.0.0.1 0 --bug {b}"),
        };
        exec_both(bug, &dir, &command, &["--protocol", "app"]);
    }
}

const CLIENT_BUGS: &[&str] = &[
    "none",
    "header-single-recv",
    "payload-single-recv",
    "recv-4096",
    "never-closes",
    "non-ascii-crash",
    "hang-on-close",
    "prints-response",
    "request-big-endian",
    "timeout-1s",
];

/// `srpc-check ARGS` from `dir` in both modes, each boxed, with the same verdicts, and
/// nothing left whose command line holds `token`; the portable run's stderr.
fn boxed_both(what: &str, dir: &Path, args: &[&str], token: &str) -> String {
    let (_, stderr) = same_in_both(what, true, dir, args);
    assert_eq!(leftovers(token), Vec::<u32>::new(), "{what}: left behind");
    stderr
}

/// The lab client connects to port 4444 itself.
fn lab_client_both(bug: &str) {
    let token = format!("portable-client-{bug}-{}", std::process::id());
    let client = format!("python3 lab_client.py --bug {bug} --token {token}");
    let stderr = boxed_both(
        bug,
        Path::new(FIXTURES),
        &["client", "--exec", &client],
        &token,
    );
    assert!(
        stderr.contains("network namespaces are Linux's") && stderr.contains("0.0.0.0:4444"),
        "{bug}: says where it listens instead: {stderr}"
    );
}

#[test]
fn lab_clients_get_the_same_verdicts_portable_first_half() {
    for bug in &CLIENT_BUGS[..CLIENT_BUGS.len() / 2] {
        lab_client_both(bug);
    }
}

#[test]
fn lab_clients_get_the_same_verdicts_portable_second_half() {
    for bug in &CLIENT_BUGS[CLIENT_BUGS.len() / 2..] {
        lab_client_both(bug);
    }
}

#[test]
fn lab_4_clients_get_the_same_verdicts_portable_on_a_free_port() {
    for bug in [
        "",
        "single-recv",
        "request-little-endian",
        "header-respelled",
        "no-result-line",
        "result-little-endian",
        "spins-on-close",
    ] {
        let dir = app_dir(if bug.is_empty() { "client" } else { bug });
        let mut command = "python3 app-client.py {host} {port} double 7".to_owned();
        if !bug.is_empty() {
            command.push_str(&format!(" --bug {bug}"));
        }
        let (_, _, stderr) = run(
            true,
            false,
            &dir,
            &[
                "client",
                "--protocol",
                "app",
                "--exec",
                &command,
                "--only",
                "client/whole",
            ],
        );
        assert!(
            stderr.contains("a free port of 127.0.0.1"),
            "{bug}: {stderr}"
        );
        same_in_both(
            bug,
            false,
            &dir,
            &["client", "--protocol", "app", "--exec", &command],
        );
    }
}

#[test]
fn grade_is_a_usage_error_naming_linux_in_portable_mode() {
    let out = tempdir("portable-grade");
    let class = tempdir("portable-class");
    let output = cmd()
        .env("SRPC_CHECK_PORTABLE", "1")
        .arg("grade")
        .arg(&class)
        .args(["--exec", "python3 server.py", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("grade needs Linux's sandboxes") && stderr.contains("SRPC_CHECK_PORTABLE"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // What needs no sandbox still works.
    cmd()
        .env("SRPC_CHECK_PORTABLE", "1")
        .args(["grade", "--print-rubric"])
        .assert()
        .success();
}

/// A copy of the lab 3 fixtures' folder (a server may write files where it runs).
fn handshake_dir(name: &str) -> PathBuf {
    let dir = tempdir(&format!("portable-handshake-{name}"));
    for f in ["server.py", "client.py"] {
        std::fs::copy(Path::new(FIXTURES).join("handshake").join(f), dir.join(f)).unwrap();
    }
    dir
}

/// Lab 3's `program` (server.py or client.py), correct or with `bug`, checked by
/// `srpc-check ARGS --exec` in both modes; the portable run's stderr. Its server binds
/// 127.0.0.1:12000 and its client connects there: both run boxed.
fn lab_3_both(program: &str, bug: &str, args: &[&str]) -> String {
    let name = if bug.is_empty() { program } else { bug };
    let dir = handshake_dir(name);
    let mut command = format!("python3 {program}");
    if !bug.is_empty() {
        command.push_str(&format!(" --bug {bug}"));
    }
    let (command, token) = tokened(&command);
    let mut args = args.to_vec();
    args.extend(["--exec", command.as_str()]);
    boxed_both(name, &dir, &args, &token)
}

#[test]
fn every_lab_3_server_gets_the_same_verdicts_portable() {
    for bug in [
        "",
        "never-binds",
        "no-listening-line",
        "exits-after-one",
        "socket-error-only",
        "eof-crash",
        "wrapped-id",
        "address-id",
        "unsafe-id",
        "single-recv",
        "log-misspelled",
        "ack-dict",
        "ack-string",
    ] {
        lab_3_both("server.py", bug, &["--protocol", "handshake"]);
    }
}

#[test]
fn lab_3_clients_get_the_same_verdicts_portable() {
    for bug in ["", "recv-each", "info-keys", "no-check", "reads-until-eof"] {
        let stderr = lab_3_both("client.py", bug, &["client", "--protocol", "handshake"]);
        assert!(stderr.contains("0.0.0.0:12000"), "{bug}: {stderr}");
    }
}
