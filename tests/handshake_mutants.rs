//! `--protocol handshake` against Rust mutants: the reference server's own lab 3 handling
//! (`reference_server::Handshake`) behind a small blocking server, with one deliberate mistake
//! each in what it sends.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use reference_server::handshake::pickle::{dict_of_int, just_int};
use reference_server::{Handshake, Protocol, Step};

#[derive(Clone, Copy)]
enum Mutant {
    /// No mistake.
    None,
    /// No mistake, on Python 3.14: it writes protocol 5, and (to tell whether srpc-check
    /// answers in kind) acknowledges only an info in protocol 5.
    Protocol5,
    /// The id is another port than the client's.
    IdOfAnotherPort,
    /// The id is pickled twice: `pickle.dumps(pickle.dumps({'clientid': port}))`.
    IdPickledTwice,
    /// The ack is `True`, not the int 1.
    AckTrue,
    /// The ack is followed by a second message.
    MoreAfterAck,
    /// The id names a Python function: `{'clientid': os.system}` as protocol 0 writes it.
    IdNamesAFunction,
}

fn serve(mut conn: TcpStream, mutant: Mutant) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(3)));
    let peer = conn.peer_addr().unwrap();
    let id = dict_of_int("clientid", peer.port());
    let greeting = match mutant {
        Mutant::IdOfAnotherPort => dict_of_int("clientid", peer.port().wrapping_add(1)),
        Mutant::IdPickledTwice => {
            // SHORT_BINBYTES holding the inner pickle.
            let mut out = vec![0x80, 4, b'C', id.len() as u8];
            out.extend_from_slice(&id);
            out.extend_from_slice(&[0x94, b'.']);
            out
        }
        Mutant::IdNamesAFunction => b"(dp0\nVclientid\np1\ncposix\nsystem\np2\ns.".to_vec(),
        Mutant::Protocol5 => {
            let mut five = id;
            five[1] = 5;
            five
        }
        _ => id,
    };
    if conn.write_all(&greeting).is_err() {
        return;
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match Handshake.step(&buf, 1 << 16) {
            Step::Answer { consumed, .. } => {
                if let Mutant::Protocol5 = mutant {
                    if !buf.starts_with(&[0x80, 5]) {
                        return;
                    }
                }
                buf.drain(..consumed);
                let ack = match mutant {
                    Mutant::AckTrue => vec![0x80, 4, 0x88, b'.'],
                    Mutant::Protocol5 => vec![0x80, 5, b'K', 1, b'.'],
                    Mutant::MoreAfterAck => [just_int(1), just_int(2)].concat(),
                    _ => just_int(1),
                };
                if conn.write_all(&ack).is_err() {
                    return;
                }
            }
            Step::Incomplete { .. } => match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            _ => return,
        }
    }
}

fn start(mutant: Mutant) -> SocketAddr {
    start_mutant(serve, mutant)
}

fn findings_of(mutant: Mutant) -> (i32, serde_json::Value) {
    check_json(&start(mutant).to_string(), &["--protocol", "handshake"])
}

/// The one finding, and the message of the case that shows it.
fn only_finding(mutant: Mutant, code: &str) -> serde_json::Value {
    let (exit, report) = findings_of(mutant);
    assert_eq!(exit, 1, "{report:#}");
    assert_eq!(findings(&report), [code.to_string()].into(), "{report:#}");
    report
}

/// The message of case `id`.
fn message_of(report: &serde_json::Value, id: &str) -> String {
    test_by_id(report, id)["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_server_without_a_mistake_passes() {
    // The control: every mutant below differs from it in one message.
    let (exit, report) = findings_of(Mutant::None);
    assert_eq!(exit, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert!(tests_with_status(&report, "fail").is_empty(), "{report:#}");
}

#[test]
fn an_id_of_another_port_is_clientid_wrong() {
    let report = only_finding(Mutant::IdOfAnotherPort, "clientid-wrong");
    let case = test_by_id(&report, "grading/client-id");
    assert_eq!(case["status"], "fail", "{case:#}");
}

#[test]
fn an_id_pickled_twice_is_clientid_wrong() {
    let report = only_finding(Mutant::IdPickledTwice, "clientid-wrong");
    let message = message_of(&report, "grading/client-id");
    // The evidence shows the value as Python prints it: bytes that hold a pickle.
    assert!(message.contains("b'\\x80\\x04"), "{message}");
}

#[test]
fn an_ack_of_true_is_ack_wrong() {
    let report = only_finding(Mutant::AckTrue, "ack-wrong");
    let message = message_of(&report, "grading/ack");
    assert!(message.contains("True"), "{message}");
}

#[test]
fn a_message_after_the_ack_is_ack_wrong() {
    let report = only_finding(Mutant::MoreAfterAck, "ack-wrong");
    assert_eq!(
        test_by_id(&report, "protocol/after-ack")["status"],
        "fail",
        "{report:#}"
    );
}

#[test]
fn an_id_that_names_a_function_is_refused_unread() {
    let report = only_finding(Mutant::IdNamesAFunction, "unsafe-pickle-refused");
    let message = message_of(&report, "grading/client-id");
    assert!(message.contains("GLOBAL"), "{message}");
}

#[test]
fn a_server_that_writes_protocol_5_is_answered_in_protocol_5() {
    let (exit, report) = findings_of(Mutant::Protocol5);
    assert_eq!(exit, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    // What srpc-check sent after the id begins PROTO 5.
    let ack = test_by_id(&report, "grading/ack");
    assert_eq!(ack["status"], "pass", "{ack:#}");
}
