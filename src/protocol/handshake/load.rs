//! `srpc-check bench --protocol handshake`: each connection is one lab client. The info is
//! sent at once; the server's id must be the client's own port and its ack the int 1.

use std::io::Read;
use std::net::TcpStream;

use super::cases::{id_problem, Info};
use super::pickle;
use crate::bench::{io_failure, Exchange, Failure, Load};

pub static LOAD: Load = Load {
    requests,
    mix: |_| "one whole handshake per connection".into(),
    read,
};

const PER_WORKER: usize = 16;

fn requests(tag: &str, worker: usize, _value_bytes: usize) -> Vec<Exchange> {
    (0..PER_WORKER)
        .map(|k| Exchange {
            request: Info {
                name: "Ada Lovelace".into(),
                github: format!("srpc-check-{tag}-{worker}"),
                sid: (worker * PER_WORKER + k) as i64,
            }
            .pickle(),
            expected: pickle::dumps(&pickle::Py::Int(1), super::cases::PICKLE_PROTOCOL),
        })
        .collect()
}

/// Reads one pickle into `buf` (from `*start`), however it arrives.
fn message(stream: &mut TcpStream, buf: &mut Vec<u8>, start: usize) -> Result<usize, Failure> {
    let mut chunk = [0u8; 4096];
    loop {
        match pickle::scan(&buf[start..]) {
            pickle::Scan::Whole { end } => return Ok(start + end),
            pickle::Scan::Incomplete => {}
            _ => return Err(Failure::BadReply),
        }
        let n = stream.read(&mut chunk).map_err(io_failure)?;
        if n == 0 {
            return Err(Failure::BadReply);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn read(stream: &mut TcpStream, exchange: &Exchange, buf: &mut Vec<u8>) -> Result<(), Failure> {
    buf.clear();
    let port = stream.local_addr().map_err(io_failure)?.port();
    let id_end = message(stream, buf, 0)?;
    match pickle::read(&buf[..id_end]) {
        pickle::Read::Value(id, _) if id_problem(&id, port).is_none() => {}
        _ => return Err(Failure::BadReply),
    }
    let ack_end = message(stream, buf, id_end)?;
    if buf[id_end..ack_end] == exchange.expected[..] && ack_end == buf.len() {
        Ok(())
    } else {
        Err(Failure::BadReply)
    }
}
