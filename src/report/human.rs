//! Human output, led by findings: a line per group with its failing cases (each naming its
//! finding), then each finding once in full (where it lives in the student's code, the
//! evidence of its representative case with hex dumps and a reproducer, and the fix), and a
//! summary last, so the last screen says what to fix. `--verbose` shows every case in full.
//! Colour is used only on a terminal and never when NO_COLOR is set.

use std::fmt::Write;

use super::{count, json, Details};
use crate::codes::Code;
use crate::diagnose::Location;
use crate::runner::{Outcome, RunReport};
use crate::server::traceback::Traceback;
use crate::server::{EventKind, ServerEvent};
use crate::suite::Status;

/// Lines of a server's output shown when it printed no traceback.
const OUTPUT_LINES: usize = 15;

/// The program a test's event is about: the student's client in a client case, else the server.
pub fn subject(group: &str) -> &'static str {
    if group == "client" {
        "client"
    } else {
        "server"
    }
}

/// What happened to the server (or, in a client case, the client), and the end of what it
/// printed (its traceback, if any).
pub fn server_event(e: &ServerEvent, indent: &str, subject: &str) -> String {
    let mut out = String::new();
    let what = match (e.event, &e.status) {
        (EventKind::Exited, Some(s)) => format!("exited ({s})"),
        (EventKind::Exited, None) => "exited".into(),
        (EventKind::Hung, _) if subject == "client" => "hung and was stopped".into(),
        (EventKind::Hung, _) => "stopped answering and was stopped".into(),
        (EventKind::Raised, _) => "raised an exception and went on running".into(),
    };
    let again = if e.restarted {
        "; srpc-check started it again"
    } else {
        ""
    };
    let _ = writeln!(out, "{indent}{:<14}{what}{again}", format!("{subject}:"));
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

/// The one line a finished case gets; `finding` names the bug it shows.
pub fn case_line(o: &Outcome, finding: Option<&str>, style: Style) -> String {
    let mut line = format!(
        "{}  {:<36} {:>6} ms",
        style.status(o.status),
        o.id,
        o.duration.as_millis()
    );
    if let Some(e) = &o.server {
        let what = match (e.event, o.group == crate::suite::Group::Client) {
            (EventKind::Exited, false) => "server exited",
            (EventKind::Hung, false) => "server hung",
            (EventKind::Exited, true) => "client crashed",
            (EventKind::Hung, true) => "client hung",
            (EventKind::Raised, false) => "server raised",
            (EventKind::Raised, true) => "client raised",
        };
        line.push_str(&format!("  [{}]", style.paint("1;31", what)));
    }
    if let Some(code) = finding {
        line.push_str(&format!("  {}", style.paint("1", code)));
    }
    if matches!(o.status, Status::Fail | Status::Warn | Status::NotRun) && !o.message.is_empty() {
        let brief: String = o.message.chars().take(100).collect();
        line.push_str(&format!("  {}", style.paint("2", &brief)));
    }
    line
}

/// A test's evidence: problem, likely cause, expected and actual, what the server did, the
/// bytes both ways (at most `limit` each) and the reproducer, indented by `indent`.
fn evidence(t: &json::Test, indent: &str, limit: usize) -> String {
    let mut out = String::new();
    let d = Details::of(t, &format!("{indent}  "), limit);
    let _ = writeln!(out, "{indent}problem:      {}", t.message);
    for (label, v) in &d.fields {
        let _ = writeln!(out, "{indent}{:<14}{}", format!("{label}:"), clip(v));
    }
    if let Some(e) = &t.server {
        out.push_str(&server_event(e, indent, subject(&t.group)));
    }
    for (label, total, dump) in &d.dumps {
        let _ = writeln!(out, "{indent}{label} ({}):", count(*total, "byte"));
        out.push_str(dump);
    }
    match (d.reproducer, t.sent_bytes) {
        (Some(py), _) => {
            let _ = writeln!(out, "{indent}reproduce:");
            for line in py.lines() {
                let _ = writeln!(out, "{indent}  {line}");
            }
        }
        (None, n) if n > 0 && t.passed() => {}
        (None, n) if n > 0 => {
            let what = if t.group == "client" {
                "reply"
            } else {
                "request"
            };
            let _ = writeln!(out, "{indent}reproduce: the {what} is too large to spell out; rerun with --only {} to repeat this case", t.id);
        }
        _ => {}
    }
    out
}

/// `file:line: text`, or nothing when the finding has no location.
fn location_text(l: &Location) -> String {
    match &l.text {
        Some(text) => format!("{}: {text}", super::location_label(l)),
        None => super::location_label(l),
    }
}

/// The colour and word of a finding's severity.
fn severity(f: &json::Finding) -> (&'static str, &'static str) {
    if f.is_error() {
        ("1;31", "error")
    } else {
        ("33", "warning")
    }
}

/// One finding in full: its code and title, where it lives, its cases, the representative
/// case's evidence, and the fix.
fn finding_block(f: &json::Finding, report: &RunReport, doc: &json::Doc, style: Style) -> String {
    let mut out = String::new();
    let (colour, label) = severity(f);
    let _ = writeln!(
        out,
        "{}: {}",
        style.paint(colour, &format!("{label}[{}]", f.code)),
        style.paint("1", &f.title)
    );
    if let Some(l) = &f.location {
        let _ = writeln!(out, "  --> {}", location_text(l));
    }
    match &f.note {
        Some(note) if f.cases.is_empty() => {
            let _ = writeln!(out, "  {note}");
        }
        _ => {
            let _ = writeln!(
                out,
                "  {}: {}",
                count(f.cases.len(), "case"),
                brief_list(&f.cases, 4)
            );
        }
    }
    if let Some(t) = &f.evidence {
        let _ = writeln!(
            out,
            "  shown by the big-endian probe after {}: its request, in the byte order the server reads",
            f.representative
        );
        out.push_str(&evidence(t, "    ", super::BRIEF_DUMP_LIMIT));
    } else if let Some(t) = doc.test(&f.representative) {
        let description = report
            .outcomes
            .iter()
            .find(|o| o.id == t.id)
            .map_or("", |o| o.description);
        let _ = writeln!(out, "  shown by {}: {description}", t.id);
        out.push_str(&evidence(t, "    ", super::BRIEF_DUMP_LIMIT));
    }
    out
}

/// "a, b, c and 4 more".
fn brief_list(items: &[String], n: usize) -> String {
    if items.len() <= n {
        return items.join(", ");
    }
    format!("{}, and {} more", items[..n].join(", "), items.len() - n)
}

/// Case lines shown per finding in a group before the rest are counted.
const LINES_PER_FINDING: usize = 2;

/// The whole human report after the header: a line per group with its failing cases (each
/// naming its finding), every finding in full once, and the summary last.
pub fn render(
    report: &RunReport,
    doc: &json::Doc,
    start_error: Option<&str>,
    style: Style,
    verbose: bool,
) -> String {
    let mut out = String::new();
    let finding_of = |i: usize| doc.tests.get(i).and_then(|t| t.finding.as_deref());
    // What it printed is the evidence of the finding below.
    if let Some(why) = start_error {
        let headline = why.lines().next().unwrap_or_default();
        let _ = writeln!(out, "{}", style.paint("1;31", headline));
    }
    // With --verbose the case lines were printed as the cases finished.
    if !verbose && start_error.is_none() {
        out.push_str(&group_lines(report, doc, style));
    }
    if verbose {
        for (i, o) in report.outcomes.iter().enumerate() {
            if matches!(o.status, Status::Fail | Status::Warn) {
                let _ = writeln!(
                    out,
                    "\n{} {}: {}",
                    style.status(o.status),
                    o.id,
                    o.description
                );
                if let Some(code) = finding_of(i) {
                    let _ = writeln!(out, "    finding:      {code}");
                }
                let _ = writeln!(out, "    requirement:  {}", o.requirement);
                out.push_str(&evidence(&doc.tests[i], "    ", usize::MAX));
            }
        }
    }
    for f in &doc.findings {
        out.push('\n');
        out.push_str(&finding_block(f, report, doc, style));
    }
    out.push('\n');
    out.push_str(&summary(report, doc, style));
    out
}

/// A line per group; under a group that did not wholly pass, its failing and warning cases,
/// at most [`LINES_PER_FINDING`] per finding.
fn group_lines(report: &RunReport, doc: &json::Doc, style: Style) -> String {
    let mut out = String::new();
    let mut passed_groups = Vec::new();
    for group in crate::suite::Group::ALL {
        let in_group: Vec<(usize, &Outcome)> = report
            .outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| o.group == group)
            .collect();
        if in_group.is_empty() {
            continue;
        }
        let passed = in_group
            .iter()
            .filter(|(_, o)| o.status == Status::Pass)
            .count();
        if passed == in_group.len() {
            passed_groups.push(format!("{} {passed}/{passed}", group.name()));
            continue;
        }
        let _ = writeln!(
            out,
            "{:<12} {passed}/{} passed",
            group.name(),
            in_group.len()
        );
        let mut shown: Vec<(Option<&str>, usize)> = Vec::new();
        let mut folded: Vec<(Option<&str>, usize)> = Vec::new();
        for (i, o) in &in_group {
            if o.status == Status::Pass {
                continue;
            }
            let code = doc.tests.get(*i).and_then(|t| t.finding.as_deref());
            let n = match shown.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => n,
                None => {
                    shown.push((code, 0));
                    &mut shown.last_mut().expect("just pushed").1
                }
            };
            if *n < LINES_PER_FINDING {
                *n += 1;
                let _ = writeln!(out, "  {}", case_line(o, code, style));
            } else {
                match folded.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, m)) => *m += 1,
                    None => folded.push((code, 1)),
                }
            }
        }
        for (code, n) in folded {
            let _ = writeln!(
                out,
                "  {}",
                style.paint(
                    "2",
                    &format!(
                        "... and {} more with {}",
                        count(n, "case"),
                        code.unwrap_or("no finding")
                    )
                )
            );
        }
    }
    if !passed_groups.is_empty() {
        let _ = writeln!(
            out,
            "{} {}",
            style.status(Status::Pass),
            passed_groups.join(", ")
        );
    }
    out
}

/// The last screen: the lab autograder's cases, each finding in a line with its fix and
/// location, the run's notes, and the counts.
fn summary(report: &RunReport, doc: &json::Doc, style: Style) -> String {
    let mut out = String::new();
    let grading: Vec<&json::Test> = doc.tests.iter().filter(|t| t.group == "grading").collect();
    if !grading.is_empty() {
        let passed = grading.iter().filter(|t| t.passed()).count();
        let label = report.protocol.grading_label;
        let _ = writeln!(out, "{label}: {passed}/{}", grading.len());
    }
    let errors = doc.findings.iter().filter(|f| f.is_error()).count();
    let warnings = doc.findings.len() - errors;
    if doc.findings.is_empty() {
        let _ = writeln!(out, "{}", style.paint("32", "no findings"));
    } else {
        let _ = writeln!(
            out,
            "{} ({}, {}):",
            count(doc.findings.len(), "finding"),
            count(errors, "error"),
            count(warnings, "warning")
        );
    }
    for f in &doc.findings {
        let (colour, _) = severity(f);
        let _ = writeln!(
            out,
            "  {:<27} {:>8}  {}",
            style.paint(colour, &f.code),
            f.extent(),
            f.title
        );
        if let Some(l) = &f.location {
            let _ = writeln!(out, "      at {}", location_text(l));
        }
        let _ = writeln!(out, "      fix: {}", f.fix);
    }
    if !doc.findings.is_empty() {
        let _ = writeln!(
            out,
            "`srpc-check explain CODE` explains a finding; --verbose shows every case in full."
        );
    }
    let mut alert = |text: String| {
        let _ = writeln!(out, "{}", style.paint("1;31", &text));
    };
    if let Some(other) = report.speaks {
        alert(format!(
            "This server speaks {} ({}): run with --protocol {}.",
            other.name, other.lab, other.name
        ));
    }
    if let Some(down) = report.down_after {
        alert(format!(
            "The target stopped answering after {down}; later cases were not run."
        ));
    }
    if let Some(shown) = report.answers_none_after {
        alert(format!("The server answers no well-formed request, even right after a restart (shown in {shown}); the cases after it failed without being tried."));
    }
    // (Beside another protocol, what srpc's probe saw says nothing.)
    if let (Some(probe), None) = (report.probe.as_ref().map(|p| &p.text), report.speaks) {
        let _ = writeln!(out, "Big-endian probe: {probe}.");
    }
    if let Some(note) = &report.portable {
        let _ = writeln!(
            out,
            "{}",
            style.paint("33", &format!("Portable mode: {note}."))
        );
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
    // The seed picks the server cases' splits and names; the client cases have none.
    let seed = if report
        .outcomes
        .iter()
        .any(|o| o.group != crate::suite::Group::Client)
    {
        format!(" (seed {})", report.seed)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} warned, {} skipped, {} not run in {:.1} s{seed}",
        s.passed,
        s.failed,
        s.warned,
        s.skipped,
        s.not_run,
        report.duration.as_secs_f64(),
    );
    out
}

/// `srpc-check explain CODE`: the long form of one code, in `protocol`'s words.
pub fn explain(protocol: &crate::protocol::Protocol, code: Code) -> String {
    let info = protocol.info(code);
    let mut out = format!(
        "{}[{}]: {}\n\n{}\n\nFix: {}\n",
        info.severity.name(),
        info.code,
        info.title,
        info.explanation,
        info.fix
    );
    for (label, text) in [("Wrong", info.wrong), ("Right", info.right)] {
        if !text.is_empty() {
            let _ = write!(out, "\n{label}:\n");
            for line in text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

fn clip(s: &str) -> String {
    if s.chars().count() > 400 {
        let head: String = s.chars().take(400).collect();
        format!("{head}... ({})", count(s.chars().count(), "character"))
    } else {
        s.to_owned()
    }
}
