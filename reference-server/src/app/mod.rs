//! app, the lab 4 protocol (Real Python's socket tutorial): [`frame`] turns bytes into messages,
//! [`respond`] turns a message into the reply the tutorial's `libserver` sends, with the lab 4
//! assignment's `double` and `negate`.
//!
//! Where the tutorial's server answers, this one answers byte for byte the same. Where the
//! tutorial raises (a missing header key, a header or content that is not JSON, an unknown
//! encoding, a result outside 32 bits), it closes that connection with no reply, as the tutorial
//! does; where the tutorial would wait for ever (a declared content longer than what arrives, an
//! empty request), this one times out or answers. Text content is read as UTF-8 only (any of
//! CPython's spellings of it); another encoding Python would decode, such as latin-1, is closed
//! unanswered: no request of the lab's client uses one.

pub mod frame;
pub mod pystr;
pub mod respond;

use crate::protocol::{Protocol, Step, Unfinished};
use frame::Decoded;

/// The lab 4 protocol. It has no state: every request is answered from its own bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct App;

impl Protocol for App {
    fn step(&self, received: &[u8], max_request: usize) -> Step {
        match frame::decode(received, max_request) {
            Ok(Decoded::Incomplete { need }) => Step::Incomplete { need },
            Ok(Decoded::Message(message)) => match respond::respond(&message) {
                Some(reply) => Step::Reply {
                    reply,
                    unread_input: received.len() > message.end,
                },
                None => Step::Close,
            },
            Err(_) => Step::Close,
        }
    }

    fn unfinished(&self, _why: Unfinished) -> Option<Vec<u8>> {
        None
    }
}
