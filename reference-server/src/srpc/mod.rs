//! srpc, the lab's JSON-over-TCP GET/PUT protocol: [`frame`] turns bytes into frames,
//! [`command`] turns a payload into a reply against the [`db`].

pub mod command;
pub mod db;
pub mod frame;

use crate::protocol::{Protocol, Step, Unfinished};
use command::ERROR_REPLY;
use db::Db;
use frame::{Decoded, HEADER_LEN};

/// srpc against one store, shared by every connection.
#[derive(Clone, Default)]
pub struct Srpc {
    pub db: Db,
}

impl Srpc {
    pub fn new(db: Db) -> Srpc {
        Srpc { db }
    }
}

impl Protocol for Srpc {
    fn step(&self, received: &[u8], max_request: usize) -> Step {
        match frame::decode(received, max_request) {
            Ok(Decoded::Frame { len, .. }) => Step::Reply {
                reply: frame::encode(&command::respond(
                    &self.db,
                    &received[HEADER_LEN..HEADER_LEN + len],
                )),
                unread_input: false,
            },
            Ok(Decoded::Incomplete { need }) => Step::Incomplete { need },
            // Refused from the header alone: the payload may still be arriving.
            Err(_) => Step::Reply {
                reply: frame::encode(ERROR_REPLY),
                unread_input: true,
            },
        }
    }

    fn unfinished(&self, _why: Unfinished) -> Option<Vec<u8>> {
        Some(frame::encode(ERROR_REPLY))
    }
}
