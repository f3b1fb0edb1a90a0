//! srpc-check against Rust mutants: the reference server's own request handling behind a small
//! blocking server, with one deliberate mistake each.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use common::*;
use reference_server::{respond, Db};

#[derive(Clone, Copy)]
enum Mutant {
    /// Reads the request with a single read() call.
    SingleRead,
    /// Writes the header big-endian.
    BigEndian,
    /// A fresh store for every connection.
    ForgetsState,
    /// Writes "ok" for "OK".
    LowercaseStatus,
    /// Declares the payload one byte shorter than it is.
    LengthTooShort,
    /// Correct, but takes 100 ms over every reply.
    Slow,
}

fn read_frame(conn: &mut TcpStream, mutant: Mutant) -> Option<Vec<u8>> {
    if let Mutant::SingleRead = mutant {
        let mut buf = vec![0u8; 1 << 16];
        let n = conn.read(&mut buf).ok()?;
        let len = i32::from_le_bytes(buf.get(4..8)?.try_into().ok()?) as usize;
        return buf
            .get(8..8 + len)
            .filter(|_| 8 + len <= n)
            .map(<[u8]>::to_vec);
    }
    let mut header = [0u8; 8];
    conn.read_exact(&mut header).ok()?;
    let len = usize::try_from(i32::from_le_bytes(header[4..].try_into().unwrap()))
        .ok()
        .filter(|&l| l <= 1 << 24)?;
    let mut payload = vec![0u8; len];
    conn.read_exact(&mut payload).ok()?;
    Some(payload)
}

fn serve(mut conn: TcpStream, db: &Db, mutant: Mutant) {
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let mut reply = match read_frame(&mut conn, mutant) {
        Some(payload) => respond(db, &payload),
        None => br#"{"status": "ERROR"}"#.to_vec(),
    };
    if let Mutant::LowercaseStatus = mutant {
        reply = String::from_utf8(reply)
            .unwrap()
            .replacen(r#""status": "OK""#, r#""status": "ok""#, 1)
            .into_bytes();
    }
    if let Mutant::Slow = mutant {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut len = reply.len() as i32;
    if let Mutant::LengthTooShort = mutant {
        len -= 1;
    }
    let header: Vec<u8> = match mutant {
        Mutant::BigEndian => [1i32.to_be_bytes(), len.to_be_bytes()].concat(),
        _ => [1i32.to_le_bytes(), len.to_le_bytes()].concat(),
    };
    let _ = conn.write_all(&[header, reply].concat());
}

/// Starts the mutant on a free port. Its threads end with the test process.
fn start(mutant: Mutant) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let shared = Db::new();
        for conn in listener.incoming().flatten() {
            let db = if let Mutant::ForgetsState = mutant {
                Db::new()
            } else {
                shared.clone()
            };
            std::thread::spawn(move || serve(conn, &db, mutant));
        }
    });
    addr
}

/// The failing groups and the report; the report's findings must be exactly `codes`.
fn failing(
    mutant: Mutant,
    codes: &[&str],
) -> (std::collections::BTreeSet<String>, serde_json::Value) {
    let (code, report) = check_json(&start(mutant).to_string(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        codes.iter().map(|c| c.to_string()).collect(),
        "{report:#}"
    );
    (failing_groups(&report), report)
}

#[test]
fn single_read_fails_only_fragment() {
    let (groups, report) = failing(Mutant::SingleRead, &["message-single-recv"]);
    assert_eq!(groups, ["fragment".to_string()].into());
    assert!(test_by_id(&report, "fragment/header-split-1")["hint"]
        .as_str()
        .unwrap()
        .contains("single recv()"));
}

#[test]
fn big_endian_fails_the_header_case_and_grading_as_the_lab_client_would() {
    let (groups, report) = failing(Mutant::BigEndian, &["reply-big-endian"]);
    assert_eq!(
        groups,
        ["grading".to_string(), "protocol".to_string()].into()
    );
    assert_eq!(tests_with_status(&report, "fail").len(), 4);
    assert_eq!(
        test_by_id(&report, "protocol/reply-header")["message"],
        "the reply header is big-endian"
    );
    let put = test_by_id(&report, "grading/put");
    assert!(
        put["message"]
            .as_str()
            .unwrap()
            .contains("the header is big-endian"),
        "{put:#}"
    );
}

#[test]
fn forgotten_state_fails_grading_and_state() {
    let (groups, report) = failing(Mutant::ForgetsState, &["store-not-kept"]);
    assert_eq!(groups, ["grading".to_string(), "state".to_string()].into());
    assert_eq!(
        test_by_id(&report, "robust/data-survives")["status"],
        "skip"
    );
}

#[test]
fn lowercase_status_fails_status_spelling_and_grading() {
    let (groups, report) = failing(Mutant::LowercaseStatus, &["status-spelling"]);
    assert_eq!(
        groups,
        ["grading".to_string(), "protocol".to_string()].into()
    );
    assert_eq!(
        test_by_id(&report, "protocol/status-spelling")["status"],
        "fail"
    );
}

#[test]
fn short_length_fails_the_length_cases_and_grading() {
    // The lab's client reads exactly the declared bytes, so a short length cuts the JSON.
    let (groups, report) = failing(Mutant::LengthTooShort, &["reply-length-wrong"]);
    assert_eq!(
        groups,
        ["grading".to_string(), "protocol".to_string()].into()
    );
    assert!(test_by_id(&report, "grading/put")["message"]
        .as_str()
        .unwrap()
        .contains("JSONDecodeError"));
    let t = test_by_id(&report, "protocol/reply-length");
    assert!(t["message"].as_str().unwrap().contains("declares"), "{t:#}");
}

#[test]
fn a_slow_server_cannot_stretch_a_case_past_its_budget() {
    let addr = start(Mutant::Slow).to_string();
    let (code, report) = check_json(&addr, &["--only", "state/many-keys", "--timeout", "300ms"]);
    assert_eq!(code, 1);
    let t = test_by_id(&report, "state/many-keys");
    assert_eq!(t["status"], "fail");
    assert!(
        t["message"].as_str().unwrap().contains("time budget"),
        "{t:#}"
    );
    assert!(
        report["target_down_after"].is_null(),
        "a slow server is not a dead one"
    );
    assert_eq!(findings(&report), ["too-slow".to_string()].into());
}
