//! lab 4 under `srpc-check bench`: each worker alternates a search of a table entry and the
//! assignment's double (a value of its own), one connection each, and a reply counts when it is
//! byte for byte the lab server's.

use std::io::Read;
use std::net::TcpStream;

use super::{codec, oracle};
use crate::bench::{io_failure, Exchange, Failure, Load};

pub static LOAD: Load = Load {
    requests,
    mix: |_| "a search and a double alternating".into(),
    read,
};

/// Requests per worker (half searches, half doubles).
const PER_WORKER: usize = 16;

fn requests(_tag: &str, worker: usize, _value_bytes: usize) -> Vec<Exchange> {
    let reply = |e: oracle::Expected| {
        let encoding = e.content_encoding;
        codec::request(e.content_type, encoding, &e.content)
    };
    (0..PER_WORKER)
        .map(|k| {
            if k % 2 == 0 {
                let (query, _) = oracle::TABLE[(worker + k / 2) % oracle::TABLE.len()];
                Exchange {
                    request: codec::search(query),
                    expected: reply(oracle::search(query)),
                }
            } else {
                let n = (worker * PER_WORKER + k) as i32;
                let value = oracle::compute(b"double", n).expect("small values fit");
                Exchange {
                    request: codec::command(b"double", n),
                    expected: reply(oracle::command(value)),
                }
            }
        })
        .collect()
}

/// Reads the 2-byte length, the JSON header and the content it declares (no more: the lab's
/// server closes after it, and the close is not waited for), and compares them with the reply
/// expected.
fn read(stream: &mut TcpStream, exchange: &Exchange, buf: &mut Vec<u8>) -> Result<(), Failure> {
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).map_err(io_failure)?;
    let n = usize::from(u16::from_be_bytes(length));
    buf.resize(n, 0);
    stream.read_exact(buf).map_err(io_failure)?;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "content-length")]
        content_length: usize,
    }
    let header: Header = serde_json::from_slice(buf).map_err(|_| Failure::BadReply)?;
    if header.content_length > codec::MAX_REPLY {
        return Err(Failure::BadReply);
    }
    buf.resize(n + header.content_length, 0);
    stream.read_exact(&mut buf[n..]).map_err(io_failure)?;
    let (want_length, want_rest) = exchange.expected.split_at(2.min(exchange.expected.len()));
    if want_length == length && want_rest == &buf[..] {
        Ok(())
    } else {
        Err(Failure::BadReply)
    }
}
