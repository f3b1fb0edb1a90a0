//! Benchmark baseline, not a conforming server: accept, read one frame, write a fixed reply,
//! close. It bounds what any srpc server can reach on a machine, so the reference server's
//! throughput can be stated as a fraction of it (see the README's performance section).
//!
//! Usage: cargo run --release -p srpc-reference-server --example minimal_server [PORT]

use std::io::{Read, Write};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("listening on {}", listener.local_addr()?);
    let payload = br#"{"status": "OK", "response": {"func": "PUT", "response": {"obj": "x", "response": "ok"}}}"#;
    let mut reply = 1i32.to_le_bytes().to_vec();
    reply.extend_from_slice(&(payload.len() as i32).to_le_bytes());
    reply.extend_from_slice(payload);
    let mut buf = vec![0u8; 1 << 16];
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let mut header = [0u8; 8];
        if conn.read_exact(&mut header).is_err() {
            continue;
        }
        let len = i32::from_le_bytes(header[4..].try_into().unwrap()).clamp(0, 1 << 16) as usize;
        if conn.read_exact(&mut buf[..len]).is_err() {
            continue;
        }
        let _ = conn.write_all(&reply);
    }
    Ok(())
}
