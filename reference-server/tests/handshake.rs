//! `reference-server --protocol handshake` over real sockets: the lab 3 handshake, the lines
//! it prints, several clients, and a bad client that does not stop it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reference_server::handshake::pickle::{walk, Walk};

/// pickle.dumps({'student_name': 'Ann', 'github_username': 'ann', 'sid': 7}) on CPython 3.11.
const INFO: &[u8] = b"\x80\x04\x95:\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x0cstudent_name\x94\x8c\x03Ann\x94\x8c\x0fgithub_username\x94\x8c\x03ann\x94\x8c\x03sid\x94K\x07u.";
/// pickle.dumps(1).
const ACK: &[u8] = b"\x80\x04K\x01.";

struct Server {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .args(["--protocol", "handshake", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let (host, port) = first
        .trim()
        .strip_prefix("Listening at ")
        .and_then(|a| a.rsplit_once('/'))
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    let addr = format!("{host}:{port}").parse().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Server { child, addr, lines }
}

/// Reads one whole pickle (what follows it stays in `buf`).
fn message(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Vec<u8> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Walk::Whole(end) = walk(buf) {
            return buf.drain(..end).collect();
        }
        let n = conn.read(&mut chunk).unwrap();
        assert!(n > 0, "closed inside a message: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn
}

/// What the server sends a client on `port`: pickle.dumps({'clientid': port}).
fn clientid(port: u16) -> Vec<u8> {
    let mut body = b"}\x94\x8c\x08clientid\x94M".to_vec();
    body.extend_from_slice(&port.to_le_bytes());
    body.extend_from_slice(b"s.");
    let mut out = vec![0x80, 4, 0x95];
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn shakes_hands_prints_the_lab_lines_and_serves_the_next_client() {
    let server = start();
    for _ in 0..3 {
        let mut conn = connect(server.addr);
        let port = conn.local_addr().unwrap().port();
        let mut buf = Vec::new();
        let id = message(&mut conn, &mut buf);
        // The id is the client's own port (BININT2 for any port from 256 on).
        assert!(port >= 256);
        assert_eq!(id, clientid(port));
        // Two infos on one connection: each is printed and acknowledged.
        for _ in 0..2 {
            conn.write_all(INFO).unwrap();
            assert_eq!(message(&mut conn, &mut buf), ACK);
            let line = server.lines.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(
                line,
                "Connected: Student: Ann, Github Username: ann, sid: 7"
            );
        }
    }
}

#[test]
fn a_bad_client_is_closed_and_the_next_one_served() {
    let server = start();
    for bad in [
        &b"not a pickle\n"[..],
        b"cposix\nsystem\n(S'touch pwned'\ntR.",
        &INFO[..20],
    ] {
        let mut conn = connect(server.addr);
        let mut buf = Vec::new();
        message(&mut conn, &mut buf);
        conn.write_all(bad).unwrap();
        conn.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{bad:?} got {rest:?}");
        // The next client shakes hands.
        let mut next = connect(server.addr);
        let mut buf = Vec::new();
        message(&mut next, &mut buf);
        next.write_all(INFO).unwrap();
        assert_eq!(message(&mut next, &mut buf), ACK);
    }
    assert!(!std::path::Path::new("pwned").exists());
}
