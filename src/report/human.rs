//! Human output: a line per case as it finishes, then the details of every failure and warning
//! (requirement, expected against actual, hex dumps, likely cause, reproducer), then a summary.
//! Colour is used only on a terminal and never when NO_COLOR is set.

use std::fmt::Write;

use super::{hex_dump, reproducer};
use crate::runner::{Outcome, RunReport};
use crate::suite::Status;
use crate::target::traceback::Traceback;
use crate::target::{EventKind, ServerEvent};

/// Lines of a server's output shown when it printed no traceback.
const OUTPUT_LINES: usize = 15;

/// What happened to the server, and the end of what it printed (its traceback, if any).
pub fn server_event(e: &ServerEvent, indent: &str) -> String {
    let mut out = String::new();
    let what = match (e.event, &e.status) {
        (EventKind::Exited, Some(s)) => format!("exited ({s})"),
        (EventKind::Exited, None) => "exited".into(),
        (EventKind::Hung, _) => "stopped answering and was stopped".into(),
    };
    let again = if e.restarted {
        "; srpc-check started it again"
    } else {
        ""
    };
    let _ = writeln!(out, "{indent}server:       {what}{again}");
    let shown = match Traceback::parse(&e.stderr_tail) {
        Some(tb) => {
            let _ = writeln!(out, "{indent}its traceback:");
            tb.text
        }
        None if e.stderr_tail.trim().is_empty() => {
            let _ = writeln!(out, "{indent}its output:   (nothing)");
            return out;
        }
        None => {
            let _ = writeln!(out, "{indent}its output ended with:");
            let lines: Vec<&str> = e.stderr_tail.trim_end().lines().collect();
            lines[lines.len().saturating_sub(OUTPUT_LINES)..].join("\n")
        }
    };
    for line in shown.lines() {
        let _ = writeln!(out, "{indent}  | {line}");
    }
    out
}

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
    if let Some(e) = &o.server {
        let what = match e.event {
            EventKind::Exited => "server exited",
            EventKind::Hung => "server hung",
        };
        line.push_str(&format!("  [{}]", style.paint("1;31", what)));
    }
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
    if let Some(e) = &o.server {
        out.push_str(&server_event(e, "  "));
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

/// "1 case", "3 cases".
fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
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
    let mut alert = |text: String| {
        let _ = writeln!(out, "{}", style.paint("1;31", &text));
    };
    if let Some(down) = report.down_after {
        alert(format!(
            "The target stopped answering after {down}; later cases were not run."
        ));
    }
    if let Some(shown) = report.answers_none_after {
        alert(format!("The server answers no well-formed request, even right after a restart (shown in {shown}); the cases after it failed without being tried."));
    }
    if let Some(probe) = &report.big_endian_probe {
        let _ = writeln!(out, "Big-endian probe: {probe}.");
    }
    if report.restarts > 0 {
        let _ = writeln!(
            out,
            "The server was started again {} after it exited or hung.",
            count(report.restarts as usize, "time")
        );
    }
    if report.left_out > 0 {
        let _ = writeln!(
            out,
            "{} left out by --only/--skip.",
            count(report.left_out, "case")
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
