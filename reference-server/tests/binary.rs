//! The `reference-server` binary: announces its address, serves, and stops cleanly on SIGTERM.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn announces_serves_and_stops_on_sigterm() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reference-server"));
    command.args(["--port", "0"]);
    let mut server = Announced::spawn(command);
    let addr = server.addr;
    assert_eq!(call(addr, &put_req("\"k\"", "[true]")), put_reply("\"k\""));
    assert_eq!(call(addr, &get_req("\"k\"")), get_reply("\"k\"", "[true]"));

    // SIGTERM, by this child's own PID.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let code = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!("reference-server did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(code.success(), "clean exit after SIGTERM, got {code:?}");
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .args(["--port", &port])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
