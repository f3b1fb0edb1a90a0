//! handshake, the lab 3 protocol: a pickle handshake on 127.0.0.1:12000.
//!
//! No framing: each message is one pickle. On accept the server sends `{'clientid': PORT}`,
//! the client's own port. The client sends `{'student_name': str, 'github_username': str,
//! 'sid': int}`; the server prints `Connected: Student: NAME, Github Username: GH, sid: SID`
//! and answers the int 1, then waits for the client's next message or its close. Anything
//! else (bytes that are not a pickle, a pickle that names a Python object, a dict with a key
//! missing or of another type) closes that connection unanswered; the server goes on serving.
//!
//! Nothing a client sends is executed: [`pickle::walk`] refuses every opcode that names or
//! calls an object, and [`budget`] every value that would decode into more than a few
//! megabytes or nest too deep, before [`serde_pickle`] decodes plain values.

pub mod budget;
pub mod pickle;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_pickle::{HashableValue, Value};

use crate::protocol::{Protocol, Step, Unfinished};
use pickle::Walk;

/// The port the lab's server and client agree on.
pub const PORT: u16 = 12000;

/// The longest message the server reads; the lab's client sends well under 200 bytes.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The lab 3 protocol. It has no state beyond each connection's bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Handshake;

/// What a client's message says, when it is the student info the lab asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub github: String,
    pub sid: String,
}

/// The student info in a decoded message: a dict with `student_name` and `github_username`
/// str and `sid` an int (not a bool).
pub fn info(value: &Value) -> Option<Info> {
    let Value::Dict(dict) = value else {
        return None;
    };
    let text = |key: &str| match get(dict, key)? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    let sid = match get(dict, "sid")? {
        Value::I64(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        _ => return None,
    };
    Some(Info {
        name: text("student_name")?,
        github: text("github_username")?,
        sid,
    })
}

fn get<'a>(dict: &'a BTreeMap<HashableValue, Value>, key: &str) -> Option<&'a Value> {
    dict.get(&HashableValue::String(key.to_owned()))
}

impl Protocol for Handshake {
    fn step(&self, received: &[u8], max_request: usize) -> Step {
        let cap = max_request.min(MAX_MESSAGE);
        match pickle::walk(received) {
            Walk::Incomplete if received.len() < cap => Step::Incomplete {
                need: received.len() + 1,
            },
            Walk::Whole(end) => {
                let decoded = serde_pickle::value_from_slice(&received[..end], Default::default());
                match decoded.ok().as_ref().and_then(info) {
                    Some(i) => Step::Answer {
                        reply: pickle::just_int(1),
                        consumed: end,
                        log: Some(format!(
                            "Connected: Student: {}, Github Username: {}, sid: {}",
                            i.name, i.github, i.sid
                        )),
                    },
                    None => Step::Close,
                }
            }
            Walk::Incomplete | Walk::Refused(..) | Walk::Malformed => Step::Close,
        }
    }

    fn unfinished(&self, _why: Unfinished) -> Option<Vec<u8>> {
        None
    }

    fn speaks_first(&self) -> bool {
        true
    }

    fn greeting(&self, peer: SocketAddr) -> Option<Vec<u8>> {
        Some(pickle::dict_of_int("clientid", peer.port()))
    }

    fn listening(&self, addr: SocketAddr) -> String {
        format!("Listening at {}/{}", addr.ip(), addr.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &[u8] = b"\x80\x04\x95:\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x0cstudent_name\x94\x8c\x03Ann\x94\x8c\x0fgithub_username\x94\x8c\x03ann\x94\x8c\x03sid\x94K\x07u.";

    #[test]
    fn the_info_is_acknowledged_and_printed() {
        match Handshake.step(INFO, 1 << 20) {
            Step::Answer {
                reply,
                consumed,
                log,
            } => {
                assert_eq!(reply, b"\x80\x04K\x01.");
                assert_eq!(consumed, INFO.len());
                assert_eq!(
                    log.as_deref(),
                    Some("Connected: Student: Ann, Github Username: ann, sid: 7")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Handshake.step(&INFO[..20], 1 << 20),
            Step::Incomplete { .. }
        ));
    }

    #[test]
    fn anything_else_is_closed_unanswered() {
        // {'student_name': 'Ann', 'github_username': 'ann'}: no sid.
        let no_sid = b"\x80\x04\x952\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x0cstudent_name\x94\x8c\x03Ann\x94\x8c\x0fgithub_username\x94\x8c\x03ann\x94u.";
        // A name that is a number: {'student_name': 5, 'github_username': 'ann', 'sid': 7}.
        let number = b"\x80\x04\x956\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x0cstudent_name\x94K\x05\x8c\x0fgithub_username\x94\x8c\x03ann\x94\x8c\x03sid\x94K\x07u.";
        for bad in [
            &no_sid[..],
            &number[..],
            b"GET / HTTP/1.0\r\n\r\n",
            b"cos\nsystem\n(S'id'\ntR.",
        ] {
            assert_eq!(Handshake.step(bad, 1 << 20), Step::Close, "{bad:?}");
        }
        // A pickle that never ends, past the cap.
        assert_eq!(Handshake.step(&[b'('; MAX_MESSAGE], 1 << 20), Step::Close);
    }
}
