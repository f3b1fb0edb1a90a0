//! `srpc-check call --protocol app ACTION VALUE`: the request the lab 4 client would send, and
//! the reply shown as the client shows it.

use std::time::{Duration, Instant};

use super::codec::{self, py_bytes, Message};
use crate::cli::CallArgs;
use crate::net::conn::Conn;

/// How the registry calls it.
pub static CALL: crate::protocol::Caller = crate::protocol::Caller {
    request: from_args,
    reply: |conn: &mut Conn, timeout: Duration| {
        codec::read_reply(conn, Instant::now() + timeout, false)
            .map(|m| show(&m))
            .map_err(|no| no.describe(timeout))
    },
};

/// ACTION VALUE from the command line.
fn from_args(args: &CallArgs) -> Result<Vec<u8>, String> {
    if args.json.is_some() || args.value.is_some() {
        return Err("with --protocol app, call takes an ACTION and a VALUE: srpc-check call --protocol app search morpheus".into());
    }
    let (Some(action), Some(value)) = (&args.func, &args.name) else {
        return Err("give an ACTION and a VALUE: srpc-check call --protocol app double 7".into());
    };
    request(action, value)
}

/// The request for `action value`, as the lab 4 client builds it: search as text/json, double
/// and negate packed `">6si"`, any other action as the bytes of action + value.
pub fn request(action: &str, value: &str) -> Result<Vec<u8>, String> {
    match action {
        "search" => Ok(codec::search(value)),
        "double" | "negate" => {
            let n: i32 = value.parse().map_err(|_| {
                format!("{action} takes a 32-bit integer (from -2147483648 to 2147483647), not {value:?}")
            })?;
            let name: &[u8; 6] = action.as_bytes().try_into().expect("6 letters");
            Ok(codec::command(name, n))
        }
        _ => Ok(codec::binary(format!("{action}{value}").as_bytes())),
    }
}

/// The reply as text (its header, then what the client prints), and whether it is a whole
/// message with the tutorial's header.
pub fn show(m: &Message) -> (String, bool) {
    let mut out = format!("{}\n", m.header_text);
    let problem = m.header_problem();
    if m.text("content-type") == Some("text/json") {
        match serde_json::from_slice::<serde_json::Value>(&m.content) {
            Ok(v) => match v.get("result").and_then(|r| r.as_str()) {
                Some(r) => out.push_str(&format!("got result: {r}\n")),
                None => out.push_str(&format!("{v}\n")),
            },
            Err(_) => out.push_str(&format!("{}\n", py_bytes(&m.content))),
        }
    } else {
        out.push_str(&format!("got response: {}\n", py_bytes(&m.content)));
        if m.content.len() == 10 && m.content.starts_with(b"result") {
            let n = i32::from_be_bytes(m.content[6..].try_into().expect("4 bytes"));
            out.push_str(&format!("result: {n}\n"));
        }
    }
    if let Some(p) = &problem {
        eprintln!("srpc-check: the reply header is not the tutorial's: {p}");
    }
    (out, problem.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_the_lab_clients() {
        assert_eq!(
            request("double", "7654321").unwrap(),
            codec::command(b"double", 7654321)
        );
        assert!(request("negate", "x").unwrap_err().contains("32-bit"));
        assert_eq!(request("binary", "y").unwrap(), codec::binary(b"binaryy"));
    }
}
