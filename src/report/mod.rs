//! Reporters. Each format lives in its own file and only renders; the caller decides where the
//! bytes go. Shared here: hex dumps and reproducers built from a transcript.

pub mod classroom;
pub mod csv;
pub mod fuzz_text;
pub mod gradescope;
pub mod html;
pub mod human;
/// `--format json`: the run's document, as it is.
pub use crate::outcome::doc as json;
pub mod junit;

use std::fmt::Write;

pub use crate::words::count;

/// Bytes shown in a human hex dump before it is cut short.
const DUMP_LIMIT: usize = 256;

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
    if !text.len().is_multiple_of(2) {
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
        let (sent, received) = if t.group == "client" {
            ("reply sent", "request received")
        } else {
            ("sent", "received")
        };
        let dumps = [
            (sent, &t.sent_hex, t.sent_bytes),
            (received, &t.received_hex, t.received_bytes),
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
            server: t
                .server
                .as_ref()
                .map(|e| human::server_event(e, "", human::subject(&t.group))),
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
    l.label()
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
        let _ = writeln!(out, "\nyour {}:\n", human::subject(&t.group));
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
            f.extent()
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

pub use crate::words::hex;

pub use crate::outcome::reproducer::{reproducer, session_reproducer};

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

    #[test]
    fn hex_dump_shows_offsets_hex_and_ascii() {
        let dump = hex_dump(b"\x01\x00\x00\x00{\"a\": 1}", "");
        assert_eq!(
            dump,
            "0000  01 00 00 00 7b 22 61 22 3a 20 31 7d              ....{\"a\": 1}\n"
        );
        assert!(hex_dump(&[0u8; 300], "").ends_with("... 44 more bytes\n"));
    }
}
