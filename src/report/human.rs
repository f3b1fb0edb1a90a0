//! Human output: a line per case as it finishes, then the details of every failure and warning
//! (requirement, expected against actual, hex dumps, likely cause, reproducer), then a summary.
//! Colour is used only on a terminal and never when NO_COLOR is set.

use std::fmt::Write;

use super::{hex_dump, reproducer};
use crate::runner::{Outcome, RunReport};
use crate::suite::Status;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when `is_terminal` and NO_COLOR is unset or empty.
    pub fn detect(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: is_terminal && !no_color,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn status(&self, s: Status) -> String {
        match s {
            Status::Pass => self.paint("32", "PASS"),
            Status::Fail => self.paint("1;31", "FAIL"),
            Status::Warn => self.paint("33", "WARN"),
            Status::Skip => self.paint("2", "SKIP"),
            Status::NotRun => self.paint("2", "----"),
        }
    }
}

pub fn header(target: &str, addr: std::net::SocketAddr, seed: u64) -> String {
    format!(
        "srpc-check {} against {target} ({addr}), seed {seed}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The one line a finished case gets.
pub fn case_line(o: &Outcome, style: Style) -> String {
    let mut line = format!(
        "{}  {:<36} {:>6} ms",
        style.status(o.status),
        o.id,
        o.duration.as_millis()
    );
    if matches!(o.status, Status::Fail | Status::Warn | Status::NotRun) && !o.message.is_empty() {
        let brief: String = o.message.chars().take(100).collect();
        line.push_str(&format!("  {}", style.paint("2", &brief)));
    }
    line
}

fn details(o: &Outcome, addr: std::net::SocketAddr, style: Style) -> String {
    let mut out = String::new();
    let mark = if o.status == Status::Fail {
        style.paint("1;31", "✗")
    } else {
        style.paint("33", "!")
    };
    let _ = writeln!(out, "{mark} {}: {}", style.paint("1", o.id), o.description);
    let _ = writeln!(out, "  requirement:  {}", o.requirement);
    let _ = writeln!(out, "  problem:      {}", o.message);
    if let Some(h) = &o.hint {
        let _ = writeln!(out, "  likely cause: {h}");
    }
    if let Some(e) = &o.expected {
        let _ = writeln!(out, "  expected:     {}", clip(e));
    }
    if let Some(a) = &o.actual {
        let _ = writeln!(out, "  actual:       {}", clip(a));
    }
    if let Some(t) = &o.transcript {
        let sent = t.sent_bytes();
        let pieces = if t.sent.len() > 1 {
            format!(", in {} pieces", t.sent.len())
        } else {
            String::new()
        };
        let closed = if t.half_closed {
            ", then half-closed"
        } else {
            ""
        };
        let _ = writeln!(out, "  sent ({} bytes{pieces}{closed}):", sent.len());
        out.push_str(&hex_dump(&sent, "    "));
        let _ = writeln!(out, "  received ({} bytes):", t.received.len());
        out.push_str(&hex_dump(&t.received, "    "));
        match reproducer(t, addr) {
            Some(py) => {
                out.push_str("  reproduce:\n");
                for line in py.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            None => out.push_str("  reproduce: the request is too large to spell out; rerun with --only to repeat this case\n"),
        }
    }
    out
}

fn clip(s: &str) -> String {
    if s.chars().count() > 400 {
        let head: String = s.chars().take(400).collect();
        format!("{head}... ({} characters)", s.chars().count())
    } else {
        s.to_owned()
    }
}

/// Everything after the case lines: failure and warning details, and the summary.
pub fn footer(report: &RunReport, style: Style) -> String {
    let mut out = String::new();
    let noteworthy: Vec<&Outcome> = report
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Fail | Status::Warn))
        .collect();
    if !noteworthy.is_empty() {
        out.push('\n');
        for o in noteworthy {
            out.push_str(&details(o, report.addr, style));
            out.push('\n');
        }
    }
    if let Some(down) = report.down_after {
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("The target stopped answering after {down}; later cases were not run.")
            )
        );
    }
    let s = report.summary();
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} warned, {} skipped, {} not run in {:.1} s (seed {})",
        s.passed,
        s.failed,
        s.warned,
        s.skipped,
        s.not_run,
        report.duration.as_secs_f64(),
        report.seed
    );
    out
}
