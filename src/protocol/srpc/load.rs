//! srpc under `srpc-check bench`: each worker alternates a PUT and a GET over a pool of keys of
//! its own, and a reply counts when its header's length holds a JSON reply whose status is OK.

use std::io::Read;
use std::net::TcpStream;

use serde_json::Value;

use super::{codec, oracle};
use crate::bench::{io_failure, Exchange, Failure, Load};

/// Keys each worker cycles through.
const KEYS_PER_WORKER: usize = 16;

pub static LOAD: Load = Load {
    requests,
    mix: |value_bytes| format!("PUT/GET alternating, {value_bytes}-byte values"),
    read,
};

fn requests(tag: &str, worker: usize, value_bytes: usize) -> Vec<Exchange> {
    let value = Value::String("x".repeat(value_bytes));
    (0..KEYS_PER_WORKER)
        .flat_map(|k| {
            let name = Value::String(format!("{tag}-{worker}-{k}"));
            [
                codec::request(&oracle::put_request(&name, &value)),
                codec::request(&oracle::get_request(&name)),
            ]
        })
        .map(|request| Exchange {
            request,
            expected: Vec::new(),
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct Status<'a> {
    #[serde(borrow)]
    status: std::borrow::Cow<'a, str>,
}

fn read(stream: &mut TcpStream, _: &Exchange, buf: &mut Vec<u8>) -> Result<(), Failure> {
    let mut header = [0u8; codec::HEADER_LEN];
    stream.read_exact(&mut header).map_err(io_failure)?;
    let length = i32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if length < 0 || length as usize > codec::MAX_REPLY {
        return Err(Failure::BadReply);
    }
    buf.resize(length as usize, 0);
    stream.read_exact(buf).map_err(io_failure)?;
    match serde_json::from_slice::<Status>(buf) {
        Ok(s) if s.status == "OK" => Ok(()),
        _ => Err(Failure::BadReply),
    }
}
