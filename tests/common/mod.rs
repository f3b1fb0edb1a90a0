//! Shared helpers for the CLI integration tests.
#![allow(dead_code)]

/// The srpc-check binary under test.
pub fn cmd() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("srpc-check").expect("srpc-check binary is built")
}

/// A loopback port with nothing listening on it: bound to learn a free number, then released.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// A Python fixture server with one bug, killed by its own PID and reaped on drop.
pub struct Fixture {
    child: Child,
    pub addr: SocketAddr,
}

impl Fixture {
    pub fn start(bug: &str) -> Fixture {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/student_server.py"
        );
        let mut child = Command::new("python3")
            .args([script, "--bug", bug])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the fixture servers");
        // Readiness from the server's own announcement, never from a probing connect.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("fixture {bug} did not announce itself: {line:?}"))
            .parse()
            .unwrap();
        Fixture { child, addr }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs srpc-check with `args`; returns its exit code and the JSON report it printed.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    run_json_in(Path::new("."), args)
}

/// [`run_json`] from the folder `dir`.
pub fn run_json_in(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = cmd().current_dir(dir).args(args).output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// Runs the suite against `target` with a JSON report; returns (exit code, report).
pub fn check_json(target: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    run_json(&[&["--target", target, "--format", "json"], extra].concat())
}

pub fn tests_with_status<'a>(
    report: &'a serde_json::Value,
    status: &str,
) -> Vec<&'a serde_json::Value> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == status)
        .collect()
}

pub fn failing_groups(report: &serde_json::Value) -> BTreeSet<String> {
    tests_with_status(report, "fail")
        .iter()
        .map(|t| t["group"].as_str().unwrap().to_owned())
        .collect()
}

pub fn test_by_id<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

/// The codes of a JSON report's findings.
pub fn findings(report: &serde_json::Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The finding with this code.
pub fn finding<'a>(report: &'a serde_json::Value, code: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no finding {code}"))
}

/// A fresh, empty folder under the target's temporary directory.
pub fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run-level cgroups (`srpc-check-PID`) whose srpc-check is no longer running.
pub fn stale_cgroups() -> Vec<String> {
    let mut stale = Vec::new();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next().unwrap_or("/"));
        let dir = match controllers {
            Some("memory") => format!("/sys/fs/cgroup/memory{path}"),
            Some("pids") => format!("/sys/fs/cgroup/pids{path}"),
            _ => continue,
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("srpc-check-") {
                let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
                if !alive {
                    stale.push(format!("{dir}/{name}"));
                }
            }
        }
    }
    stale
}

/// Processes whose command line carries `token`. Any found are killed (by PID) so that a
/// failing test does not leave them either, and returned for the assertion.
pub fn leftovers(token: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(token) {
            found.push(pid);
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
    found
}

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A class folder and an output folder under the target's temporary directory.
pub struct Class {
    pub root: PathBuf,
}

impl Class {
    pub fn new(test: &str) -> Class {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("grade-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("class")).unwrap();
        Class { root }
    }

    pub fn dir(&self) -> PathBuf {
        self.root.join("class")
    }

    pub fn out(&self) -> PathBuf {
        self.root.join("out")
    }

    /// A submission: the lab-style fixture server and its srpc.json.
    pub fn add(&self, name: &str, config: Value) -> PathBuf {
        let dir = self.dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lab_server.py"),
            dir.join("lab_server.py"),
        )
        .unwrap();
        std::fs::write(dir.join("srpc.json"), config.to_string()).unwrap();
        dir
    }

    pub fn grade(&self, token: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        let command = format!("python3 lab_server.py --port 4444 --token {token}");
        let mut c = cmd();
        // Something a grader's environment holds that no server may see.
        c.env("SRPC_GRADER_SECRET", "s3cret")
            .arg("grade")
            .arg(self.dir())
            .args(["--exec", &command, "--out"])
            .arg(self.out())
            .args(["--jobs", "2", "--seed", "7"])
            .args(extra);
        c.assert()
    }

    pub fn json(&self, name: &str, file: &str) -> Value {
        let path = self.out().join(name).join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// A class file of OUT (grade.json, ...), as JSON.
    pub fn json_at(&self, file: &str) -> Value {
        let path = self.out().join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.out().join(name).join("server.log")).unwrap()
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs `examples/gradescope/run_autograder` on the submission in `root/submission`, in a box
/// of its own (so the server may take its lab's fixed port), with `env` set; the
/// results.json it leaves.
pub fn run_autograder_in(root: &Path, env: &[(&str, &str)]) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/gradescope/run_autograder"
    );
    cmd()
        .env("AUTOGRADER_ROOT", root)
        .env("SRPC_CHECK", assert_cmd::cargo::cargo_bin("srpc-check"))
        .envs(env.iter().copied())
        .args(["__box", "--", "bash", script])
        .assert()
        .success();
    let results = root.join("results/results.json");
    serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap()
}

/// What each case of a JSON report concluded, in the order run: its id, status and finding.
pub fn verdicts(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
                t["finding"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// A Rust mutant server on a free loopback port: each connection served on a thread of its own
/// by `serve(conn, mutant)`. Its threads end with the test process.
pub fn start_mutant<M: Copy + Send + 'static>(
    serve: fn(std::net::TcpStream, M),
    mutant: M,
) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn, mutant));
        }
    });
    addr
}
