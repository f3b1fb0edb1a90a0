//! Reproducers: Python that replays exactly what a connection sent (its pieces, pauses,
//! half-close or reset), part of every failing case's evidence.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::net::conn::Transcript;
use crate::words::hex;

/// Bytes of a request a reproducer will spell out.
const REPRO_LIMIT: usize = 4096;

/// Python statements that open one connection and replay a transcript's writes, pauses and
/// half-close, then print what the server answers.
fn replay_statements(t: &Transcript, addr: SocketAddr) -> String {
    let mut py = String::new();
    let _ = writeln!(
        py,
        "s = socket.create_connection(({:?}, {}), timeout=5)",
        addr.ip().to_string(),
        addr.port()
    );
    py.push_str("s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n");
    for piece in &t.sent {
        if !piece.pause_before.is_zero() {
            let _ = writeln!(
                py,
                "time.sleep({})",
                piece.pause_before.as_millis().max(1) as f64 / 1000.0
            );
        }
        let _ = writeln!(py, "s.sendall(bytes.fromhex(\"{}\"))", hex(&piece.bytes));
    }
    if t.half_closed {
        py.push_str("s.shutdown(socket.SHUT_WR)\n");
    }
    if t.reset {
        // srpc-check holds the server still meanwhile; a replay cannot, so a server that
        // reads at once may answer before the reset, where a busy one never does.
        py.push_str("time.sleep(0.05)\ns.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack(\"ii\", 1, 0))\ns.close()  # leaves with a reset, without reading\n");
        return py;
    }

    py.push_str("reply = b\"\"\ntry:\n    while chunk := s.recv(65536): reply += chunk\nexcept OSError as e: print(\"error:\", e)\nprint(reply)\n");
    py
}

/// A Python snippet that replays one transcript and prints what the server answers. With
/// `held`, a first connection is opened, sent `held`'s bytes and kept open (an idle or
/// half-sent client) while the transcript is replayed.
pub fn reproducer(t: &Transcript, held: Option<&Transcript>, addr: SocketAddr) -> Option<String> {
    let total: usize = t.sent.iter().map(|p| p.bytes.len()).sum();
    if total > REPRO_LIMIT {
        return None;
    }
    let mut first = String::new();
    if let Some(h) = held {
        let _ = writeln!(
            first,
            "first = socket.create_connection(({:?}, {}), timeout=5)",
            addr.ip().to_string(),
            addr.port()
        );
        for piece in &h.sent {
            let _ = writeln!(
                first,
                "first.sendall(bytes.fromhex(\"{}\"))",
                hex(&piece.bytes)
            );
        }
        first.push_str(
            "# the first client stays connected and sends nothing more; now a second one:\n",
        );
    }
    Some(format!(
        "python3 - <<'EOF'\nimport socket, struct, time\n{first}{}EOF\n",
        replay_statements(t, addr)
    ))
}

/// For a client case: a Python server on `port` that answers every connection as srpc-check
/// answered the one shown (the same bytes, in the same pieces, a pause between them), so the
/// student can run their client against it, in a debugger if they like. None for a reply too
/// large to spell out. `read_request`: the protocol's Python that reads one request from
/// `conn` (with `read(conn, n)`) and prints it.
pub fn client_reproducer(t: &Transcript, port: u16, read_request: &str) -> Option<String> {
    let total: usize = t.sent.iter().map(|p| p.bytes.len()).sum();
    if total > REPRO_LIMIT {
        return None;
    }
    let mut py = format!(
        "python3 - <<'EOF'\n# Answers like srpc-check did; run your client meanwhile (Ctrl-C stops this).\nimport json, socket, struct, time\n\ndef read(conn, n):\n    data = b\"\"\n    while len(data) < n and (chunk := conn.recv(n - len(data))): data += chunk\n    return data\n\nsrv = socket.create_server((\"\", {port}))\nwhile True:\n    conn, _ = srv.accept()\n    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n{read_request}"
    );
    let dribble = t.sent.len() > 8 && t.sent.iter().all(|p| p.bytes.len() == 1);
    if dribble {
        let _ = writeln!(
            py,
            "    for byte in bytes.fromhex(\"{}\"):  # one byte at a time\n        conn.sendall(bytes([byte]))\n        time.sleep(0.01)",
            hex(&t.sent_bytes())
        );
    } else {
        for (i, piece) in t.sent.iter().enumerate() {
            let pause = if i > 0 {
                0.2
            } else {
                piece.pause_before.as_secs_f64()
            };
            if pause > 0.0 {
                let _ = writeln!(py, "    time.sleep({pause})");
            }
            let _ = writeln!(
                py,
                "    conn.sendall(bytes.fromhex(\"{}\"))",
                hex(&piece.bytes)
            );
        }
    }
    if t.sent.is_empty() {
        py.push_str("    # no reply: the connection is closed at once\n");
    }
    py.push_str("    conn.close()\nEOF\n");
    Some(py)
}

/// A standalone Python script that replays a whole session, one connection per transcript.
pub fn session_reproducer(transcripts: &[Transcript], addr: SocketAddr) -> String {
    let mut py = String::from("#!/usr/bin/env python3\n# Replays an srpc-check fuzz finding: one connection per step.\nimport socket, struct, time\n");
    for (n, t) in transcripts.iter().enumerate() {
        let _ = writeln!(py, "\nprint(\"--- connection {}\")", n + 1);
        py.push_str(&replay_statements(t, addr));
    }
    py
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::conn::Piece;
    use std::time::Duration;

    #[test]
    fn reproducer_replays_pieces_pauses_and_half_close() {
        let t = Transcript {
            peer_reset: false,
            sent: vec![
                Piece {
                    pause_before: Duration::ZERO,
                    bytes: vec![1, 0],
                },
                Piece {
                    pause_before: Duration::from_millis(40),
                    bytes: vec![0, 0],
                },
            ],
            half_closed: true,
            reset: false,
            received: vec![],
        };
        let py = reproducer(&t, None, "127.0.0.1:4444".parse().unwrap()).unwrap();
        assert!(py.contains("create_connection((\"127.0.0.1\", 4444)"));
        assert!(py.contains("bytes.fromhex(\"0100\"))\ntime.sleep(0.04)\ns.sendall(bytes.fromhex(\"0000\"))\ns.shutdown"));
    }

    #[test]
    fn reproducer_of_a_client_that_left_resets_instead_of_reading() {
        let t = Transcript {
            peer_reset: false,
            sent: vec![Piece {
                pause_before: Duration::ZERO,
                bytes: vec![1, 0, 0, 0],
            }],
            half_closed: true,
            reset: true,
            received: vec![],
        };
        let py = reproducer(&t, None, "127.0.0.1:4444".parse().unwrap()).unwrap();
        assert!(py.contains("import socket, struct, time"));
        assert!(py.contains("s.shutdown(socket.SHUT_WR)\ntime.sleep(0.05)\ns.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack(\"ii\", 1, 0))\ns.close()"));
        assert!(!py.contains("recv"), "{py}");
    }
}
