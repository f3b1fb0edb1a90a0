//! Reporters. Each format lives in its own file and only renders; the caller decides where the
//! bytes go. Shared here: hex dumps and reproducers built from a transcript.

pub mod classroom;
pub mod csv;
pub mod fuzz_text;
pub mod gradescope;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;

use std::fmt::Write;
use std::net::SocketAddr;

use crate::net::conn::Transcript;
pub use crate::words::count;

/// Bytes shown in a human hex dump before it is cut short.
const DUMP_LIMIT: usize = 256;
/// Bytes of a request a reproducer will spell out.
const REPRO_LIMIT: usize = 4096;

/// Bytes of each direction a finding's evidence shows in the default human output.
pub const BRIEF_DUMP_LIMIT: usize = 32;

/// `xxd`-style lines: offset, 16 bytes in hex, and their printable ASCII.
pub fn hex_dump(bytes: &[u8], indent: &str) -> String {
    hex_dump_upto(bytes, indent, DUMP_LIMIT)
}

/// [`hex_dump`] of the first `limit` bytes, saying how many more there are.
pub fn hex_dump_upto(bytes: &[u8], indent: &str, limit: usize) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes[..bytes.len().min(limit)].chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "{indent}{:04x}  {:<47}  {ascii}",
            i * 16,
            hex.join(" ")
        );
    }
    if bytes.len() > limit {
        let _ = writeln!(
            out,
            "{indent}... {}",
            count(bytes.len() - limit, "more byte")
        );
    }
    out
}

/// Bytes back from a lowercase hex string (as the JSON report writes them); None if malformed.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Everything a student needs about one test that did not pass, whatever the format: the
/// likely cause, expected and actual, the bytes both ways, what the server printed, and a
/// reproducer. Markdown ([`failure_markdown`]), the human report and the class report's HTML
/// render it.
pub struct Details<'a> {
    /// "likely cause", "expected", "actual": those the test has.
    pub fields: Vec<(&'static str, &'a str)>,
    /// "sent", "received": the total bytes and a hex dump (indented by `indent`), when any.
    pub dumps: Vec<(&'static str, usize, String)>,
    /// How the server exited or hung, with its traceback.
    pub server: Option<String>,
    pub reproducer: Option<&'a str>,
}

impl<'a> Details<'a> {
    /// The details of `t`, with hex dumps of at most `limit` bytes each way.
    pub fn of(t: &'a json::Test, indent: &str, limit: usize) -> Details<'a> {
        let fields = [
            ("likely cause", &t.hint),
            ("expected", &t.expected),
            ("actual", &t.actual),
        ]
        .into_iter()
        .filter_map(|(label, v)| Some((label, v.as_deref()?)))
        .collect();
        let dumps = [
            ("sent", &t.sent_hex, t.sent_bytes),
            ("received", &t.received_hex, t.received_bytes),
        ]
        .into_iter()
        .filter_map(|(label, text, total)| {
            let bytes = unhex(text).filter(|b| !b.is_empty())?;
            Some((label, total, hex_dump_upto(&bytes, indent, limit)))
        })
        .collect();
        Details {
            fields,
            dumps,
            server: t.server.as_ref().map(|e| human::server_event(e, "")),
            reproducer: t.reproducer.as_deref(),
        }
    }
}

/// The most backticks `text` holds in a row.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `text` in a fenced Markdown code block whose fence is longer than any run of backticks in
/// it, so text from a submission can never close the block early.
pub fn fenced(text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    format!("{fence}\n{}\n{fence}\n", text.trim_end_matches('\n'))
}

/// `text` as inline Markdown code, delimited by more backticks than it holds in a row.
pub fn inline_code(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A finding's location as `file:line`.
pub fn location_label(l: &crate::diagnose::Location) -> String {
    format!("{}:{}", l.file, l.line)
}

/// [`Details`] of one test that did not pass, as Markdown: the finding it shows, the fields,
/// and hex dumps, server output and reproducer in fenced blocks.
pub fn failure_markdown(t: &json::Test, doc: &json::Doc) -> String {
    let d = Details::of(t, "", DUMP_LIMIT);
    let mut out = String::new();
    if let Some(f) = t.finding.as_deref().and_then(|c| doc.finding(c)) {
        let _ = writeln!(out, "**Finding {}**: {}\n", inline_code(&f.code), f.title);
    }
    out.push_str(&fenced(&t.message));
    for (label, v) in &d.fields {
        let _ = writeln!(out, "\n{label}:\n");
        out.push_str(&fenced(v));
    }
    for (label, total, dump) in &d.dumps {
        let _ = writeln!(out, "\n{label} ({}):\n", count(*total, "byte"));
        out.push_str(&fenced(dump));
    }
    if let Some(server) = &d.server {
        out.push_str("\nyour server:\n\n");
        out.push_str(&fenced(server));
    }
    if let Some(r) = d.reproducer {
        out.push_str("\nreproduce it:\n\n");
        out.push_str(&fenced(r));
    }
    out
}

/// The findings as a Markdown list: code, title, cases, location with its line, and the fix.
pub fn findings_markdown(doc: &json::Doc) -> String {
    let mut out = String::new();
    for f in &doc.findings {
        let _ = writeln!(
            out,
            "- **{}** {}: {} ({})",
            f.severity,
            inline_code(&f.code),
            f.title,
            count(f.cases.len(), "case")
        );
        if let Some(l) = &f.location {
            let _ = write!(out, "  at {}", inline_code(&location_label(l)));
            match &l.text {
                Some(text) => {
                    let _ = writeln!(out, ": {}", inline_code(text));
                }
                None => out.push('\n'),
            }
        }
        let _ = writeln!(out, "  Fix: {}", f.fix);
    }
    out
}

/// The bytes as one lowercase hex string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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

/// A standalone Python script that replays a whole session, one connection per transcript.
pub fn session_reproducer(transcripts: &[Transcript], addr: SocketAddr) -> String {
    let mut py = String::from("#!/usr/bin/env python3\n# Replays an srpc-check fuzz finding: one connection per step.\nimport socket, struct, time\n");
    for (n, t) in transcripts.iter().enumerate() {
        let _ = writeln!(py, "\nprint(\"--- connection {}\")", n + 1);
        py.push_str(&replay_statements(t, addr));
    }
    py
}

/// Writes a whole file, naming it in the error.
pub fn write_file(path: &std::path::Path, text: &str) -> crate::error::Result<()> {
    std::fs::write(path, text)
        .map_err(|e| crate::error::Error::io(format!("cannot write {}", path.display()), e))
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> crate::error::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(crate::error::Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::conn::Piece;
    use std::time::Duration;

    #[test]
    fn hex_dump_shows_offsets_hex_and_ascii() {
        let dump = hex_dump(b"\x01\x00\x00\x00{\"a\": 1}", "");
        assert_eq!(
            dump,
            "0000  01 00 00 00 7b 22 61 22 3a 20 31 7d              ....{\"a\": 1}\n"
        );
        assert!(hex_dump(&[0u8; 300], "").ends_with("... 44 more bytes\n"));
    }

    #[test]
    fn reproducer_replays_pieces_pauses_and_half_close() {
        let t = Transcript {
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
