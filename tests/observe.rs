//! Verdicts by observation: for servers srpc-check runs, a missing reply is judged from what
//! the server's threads are blocked in, so no timeout has to expire, and the verdict is the
//! same beside a CPU burner as on an idle machine. One test function, run alone in its binary,
//! so no other srpc-check competes with it.

mod common;

use std::path::Path;
use std::process::{Child, Command};

use common::*;

fn exec(command: &str, only: &str) -> serde_json::Value {
    let out = cmd()
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .args(["--exec", command, "--only", only, "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Processes that keep both cores busy while they live; stopped by PID.
struct Burners(Vec<Child>);

impl Burners {
    fn start() -> Burners {
        Burners(
            (0..2)
                .map(|_| {
                    Command::new("python3")
                        .args(["-c", "while True: pass"])
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

const CASES: &str = "grading/*,concurrency/*";

#[test]
fn blocked_servers_are_judged_by_what_they_wait_in_idle_and_loaded_alike() {
    // Sequential, one thread: blocked in recv() on the idle client, no timeout.
    // Sequential with a 1 s timeout: polls the idle client for 1 s, then serves the other.
    // Reads the header big-endian: one thread without a timeout, and a thread per
    // connection with a 5 s timeout (longer than srpc-check's 2 s).
    let fixtures = [
        (
            "python3 student_server.py --bug sequential",
            "blocks-on-idle-client",
        ),
        (
            "python3 lab_server.py --timeout 1",
            "delayed-by-idle-client",
        ),
        ("python3 lab_server.py --bug hang", "header-big-endian"),
        (
            "python3 student_server.py --bug big-endian-read",
            "request-read-big-endian",
        ),
        ("python3 student_server.py", ""),
    ];
    let mut idle = Vec::new();
    for (command, expected) in fixtures {
        let report = exec(command, CASES);
        assert_eq!(report["observed"], true, "{command}: {report:#}");
        assert_eq!(report["timeouts_expired"], 0, "{command}: {report:#}");
        let found: Vec<String> = findings(&report).into_iter().collect();
        let want: Vec<String> = [expected]
            .into_iter()
            .filter(|e| !e.is_empty())
            .map(String::from)
            .collect();
        assert_eq!(found, want, "{command}: {report:#}");
        idle.push(verdicts(&report));
    }
    // What was seen is named: no timeout, or the server's own.
    let seq = exec(
        "python3 student_server.py --bug sequential",
        "concurrency/idle-client",
    );
    let message = test_by_id(&seq, "concurrency/idle-client")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("with no timeout"), "{message}");
    let five = exec("python3 lab_server.py", "concurrency/idle-client");
    let message = test_by_id(&five, "concurrency/idle-client")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("a timeout of 5s"), "{message}");

    leaving_clients_meet_the_same_server_every_time();
    a_servers_own_timeout_at_ours_is_judged_the_same_every_time();

    let burners = Burners::start();
    for ((command, _), before) in fixtures.iter().zip(&idle) {
        let report = exec(command, CASES);
        assert_eq!(&verdicts(&report), before, "{command} beside a CPU burner");
        assert_eq!(report["timeouts_expired"], 0, "{command}: {report:#}");
    }
    leaving_clients_meet_the_same_server_every_time();
    a_servers_own_timeout_at_ours_is_judged_the_same_every_time();
    drop(burners);

    // A remote target cannot be observed: timeouts decide, and the report says so.
    let (_, remote) = check_json("builtin", &["--only", "grading/*"]);
    assert_eq!(remote["observed"], false);
}

/// The clients that leave early: a server that dies sending to a departed client dies every
/// time, and one that catches the error never does. One sends a reply in two send() calls, the
/// second uncaught, as the lab's send_message does; the other in one sendall(), which a client
/// that merely closed would never make fail: the client leaves with a reset while the server is
/// held still, so the first send fails. Repeated, since a race would show as a difference.
fn leaving_clients_meet_the_same_server_every_time() {
    const LEAVING: &str = "robust/empty-connection,robust/client-gone";
    for _ in 0..3 {
        for bug in ["broken-pipe", "sendall-uncaught"] {
            let dies = exec(&format!("python3 lab_server.py --bug {bug}"), LEAVING);
            for id in ["robust/empty-connection", "robust/client-gone"] {
                let t = test_by_id(&dies, id);
                assert_eq!(t["status"], "fail", "{bug} {id}: {dies:#}");
                assert_eq!(t["server"]["event"], "exited", "{bug} {id}: {dies:#}");
            }
            assert_eq!(dies["restarts"], 2, "{bug}: {dies:#}");
        }
        let survives = exec("python3 lab_server.py", LEAVING);
        assert_eq!(survives["summary"]["passed"], 2, "{survives:#}");
    }
}

/// A sequential server whose own timeout on an idle client is exactly srpc-check's (2 s), just
/// under it or just over it: the other client is served when that timeout ends, and the
/// verdict never races it. Up to --timeout it is a warning that names the delay; over it, the
/// other client cannot be served in time, which is said at once.
fn a_servers_own_timeout_at_ours_is_judged_the_same_every_time() {
    const IDLE: &str = "concurrency/idle-client,concurrency/half-header-client";
    for (timeout, status, finding, named) in [
        ("2", "warn", "delayed-by-idle-client", "2.0 s"),
        ("1.9", "warn", "delayed-by-idle-client", "1.9 s"),
        (
            "2.1",
            "fail",
            "blocks-on-idle-client",
            "a timeout of 2s 100ms",
        ),
    ] {
        for _ in 0..2 {
            let report = exec(&format!("python3 lab_server.py --timeout {timeout}"), IDLE);
            assert_eq!(report["timeouts_expired"], 0, "{timeout}: {report:#}");
            for t in report["tests"].as_array().unwrap() {
                assert_eq!(t["status"], status, "--timeout {timeout}: {t:#}");
                assert_eq!(t["finding"], finding, "--timeout {timeout}: {t:#}");
                let message = t["message"].as_str().unwrap();
                assert!(message.contains(named), "--timeout {timeout}: {message}");
            }
        }
    }
}
