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
