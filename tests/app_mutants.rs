//! `--protocol app` against Rust mutants: the reference server's own lab 4 handling
//! (`reference_server::app`) behind a small blocking server, with one deliberate mistake each.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use reference_server::app::frame::{decode, encode, Decoded};
use reference_server::app::respond::{binary_reply, respond, BINARY_ENCODING, BINARY_TYPE};

#[derive(Clone, Copy)]
enum Mutant {
    /// The plain tutorial: double and negate get the echo.
    PlainTutorial,
    /// Packs the result little-endian.
    LittleEndianResult,
    /// Declares one byte more content than it sends.
    LengthTooLong,
    /// Keeps the connection open after the reply.
    NoClose,
}

fn serve(mut conn: TcpStream, mutant: Mutant) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let message = loop {
        match decode(&buf, 1 << 24) {
            Ok(Decoded::Message(m)) => break m,
            Ok(Decoded::Incomplete { .. }) => {}
            Err(_) => return,
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let Some(mut reply) = respond(&message) else {
        return;
    };
    let command = message.content.len() == 10
        && (message.content.starts_with(b"double") || message.content.starts_with(b"negate"));
    if command {
        let content = binary_reply(&message.content).unwrap_or_default();
        reply = match mutant {
            Mutant::PlainTutorial => {
                let mut echo = b"First 10 bytes of request: ".to_vec();
                echo.extend_from_slice(&message.content);
                encode(&echo, BINARY_TYPE, BINARY_ENCODING)
            }
            Mutant::LittleEndianResult if content.len() == 10 => {
                let value = i32::from_be_bytes(content[6..].try_into().unwrap());
                let content = [&b"result"[..], &value.to_le_bytes()].concat();
                encode(&content, BINARY_TYPE, BINARY_ENCODING)
            }
            _ => reply,
        };
    }
    if let Mutant::LengthTooLong = mutant {
        let n = usize::from(u16::from_be_bytes([reply[0], reply[1]]));
        let header = String::from_utf8(reply[2..2 + n].to_vec()).unwrap();
        let length = header
            .rsplit_once(": ")
            .and_then(|(_, l)| l.trim_end_matches('}').parse::<usize>().ok())
            .unwrap();
        let header = header.replace(
            &format!("\"content-length\": {length}}}"),
            &format!("\"content-length\": {}}}", length + 1),
        );
        let mut out = (header.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&reply[2 + n..]);
        reply = out;
    }
    let _ = conn.write_all(&reply);
    if let Mutant::NoClose = mutant {
        // Waits for the client to leave.
        let _ = conn.read(&mut chunk);
    }
}

fn start(mutant: Mutant) -> SocketAddr {
    start_mutant(serve, mutant)
}

fn findings_of(mutant: Mutant) -> (i32, serde_json::Value) {
    check_json(&start(mutant).to_string(), &["--protocol", "app"])
}

fn findings_of_skipping(mutant: Mutant, skip: &str) -> (i32, serde_json::Value) {
    check_json(
        &start(mutant).to_string(),
        &["--protocol", "app", "--skip", skip],
    )
}

#[test]
fn the_plain_tutorial_misses_double_and_negate_and_only_the_assignment_fails() {
    let (code, report) = findings_of(Mutant::PlainTutorial);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        ["double-negate-missing".to_string()].into(),
        "{report:#}"
    );
    // A course that teaches the plain tutorial skips 'assignment/*' and loses nothing else.
    assert_eq!(
        failing_groups(&report),
        ["assignment".to_string()].into(),
        "{report:#}"
    );
    let (code, report) = findings_of_skipping(Mutant::PlainTutorial, "assignment/*");
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
}

#[test]
fn a_little_endian_result_is_named_so() {
    let (code, report) = findings_of(Mutant::LittleEndianResult);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        ["result-byte-order".to_string()].into(),
        "{report:#}"
    );
    let double = test_by_id(&report, "assignment/double");
    assert!(
        double["message"]
            .as_str()
            .unwrap()
            .contains("little-endian"),
        "{double:#}"
    );
}

#[test]
fn a_content_length_that_is_not_the_contents_is_a_wrong_header() {
    let (code, report) = findings_of(Mutant::LengthTooLong);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        ["reply-header-wrong".to_string()].into(),
        "{report:#}"
    );
}

#[test]
fn a_connection_left_open_is_no_close() {
    let (code, report) = findings_of(Mutant::NoClose);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&report),
        ["no-close".to_string()].into(),
        "{report:#}"
    );
    assert_eq!(tests_with_status(&report, "fail").len(), 1);
}
