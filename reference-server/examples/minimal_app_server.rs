//! Benchmark baseline for lab 4, not a conforming server: accept, read one message (the 2-byte
//! length, the JSON header, the content it declares), answer the two requests `srpc-check bench
//! --protocol app` sends (a search of a table entry, a double), close. It does no more than any
//! lab 4 server must, so the reference server's throughput can be stated as a fraction of it
//! (see docs/performance.md).
//!
//! Usage: cargo run --release -p srpc-reference-server --example minimal_app_server [PORT]

use std::io::{Read, Write};
use std::net::TcpListener;

const TABLE: [(&str, &str); 3] = [
    ("morpheus", "Follow the white rabbit. \u{1f430}"),
    (
        "ring",
        "In the caves beneath the Misty Mountains. \u{1f48d}",
    ),
    ("\u{1f436}", "\u{1f43e} Playing ball! \u{1f3d0}"),
];

/// A message as the tutorial frames it.
fn message(content_type: &str, encoding: &str, content: &[u8]) -> Vec<u8> {
    let header = format!(
        r#"{{"byteorder": "little", "content-type": "{content_type}", "content-encoding": "{encoding}", "content-length": {}}}"#,
        content.len()
    );
    let mut out = (header.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(content);
    out
}

/// The number after `"content-length": ` in a header.
fn content_length(header: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(header).ok()?;
    let at = text.find("\"content-length\": ")? + "\"content-length\": ".len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("listening on {}", listener.local_addr()?);
    let mut buf = vec![0u8; 1 << 16];
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let mut length = [0u8; 2];
        if conn.read_exact(&mut length).is_err() {
            continue;
        }
        let n = usize::from(u16::from_be_bytes(length));
        if conn.read_exact(&mut buf[..n]).is_err() {
            continue;
        }
        let Some(len) = content_length(&buf[..n]).filter(|&l| l <= buf.len()) else {
            continue;
        };
        let json = buf[..n].windows(9).any(|w| w == b"text/json");
        if conn.read_exact(&mut buf[..len]).is_err() {
            continue;
        }
        let reply = if json {
            let content = String::from_utf8_lossy(&buf[..len]);
            let answer = TABLE
                .iter()
                .find(|(k, _)| content.contains(&format!("\"{k}\"")))
                .map_or("No match.", |(_, v)| v);
            message(
                "text/json",
                "utf-8",
                format!("{{\"result\": \"{answer}\"}}").as_bytes(),
            )
        } else if len == 10 {
            let n = i32::from_be_bytes(buf[6..10].try_into().expect("4 bytes"));
            let value = if &buf[..6] == b"negate" { -n } else { 2 * n };
            let mut content = b"result".to_vec();
            content.extend_from_slice(&value.to_be_bytes());
            message("binary/custom-server-binary-type", "binary", &content)
        } else {
            continue;
        };
        let _ = conn.write_all(&reply);
    }
    Ok(())
}
