//! Findings: the runner's outcomes (and, where srpc-check has it, the student's source) in;
//! one finding per bug out, each with a stable code, its evidence and the line of code.
//!
//! A case names the cause it recognised ([`crate::suite::Verdict::finding`]); a server event
//! (an exit, a hang, a traceback) or a departed remote target overrides that with the crash
//! it shows. Then the findings are made one per bug: cases that fail only because an earlier
//! one did join its finding; a server that reads the whole message with one recv() is one
//! finding, not three; crashes with the same traceback are one finding. Every failing case
//! belongs to exactly one finding; a case no diagnosis explains belongs to `unexplained`.
//!
//! `code` is the catalogue; `source` reads the student's files with Python's own parser to
//! find the line a finding lives on.

pub mod source;

use std::collections::BTreeMap;

pub use crate::codes::{Code, Info, Severity};
pub use source::Source;

use crate::runner::{Outcome, RunReport};
use crate::server::traceback::Traceback;
use crate::server::EventKind;
use crate::suite::Status;

/// Where in the student's code a finding lives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// As the student knows it: relative to their folder.
    pub file: String,
    pub line: u32,
    /// The line itself, trimmed (when the file could be read).
    pub text: Option<String>,
}

impl Location {
    /// `file:line`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One distinct bug.
#[derive(Debug, Clone)]
pub struct Finding {
    pub code: Code,
    /// The cases that show it, in run order.
    pub cases: Vec<&'static str>,
    /// The case whose details best show it.
    pub representative: &'static str,
    pub location: Option<Location>,
    /// Shown by the big-endian probe that followed the representative case, not by a case of
    /// its own: the probe's exchange is its evidence.
    pub from_probe: bool,
    /// What shows it when no case does (the files a server wrote), in words.
    pub note: Option<String>,
}

/// Every finding of a run, and which finding each outcome belongs to.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    /// Errors before warnings, each in the order its first case ran.
    pub findings: Vec<Finding>,
    /// For each outcome (same order as the report's), the index of its finding.
    pub of_case: Vec<Option<usize>>,
}

impl Diagnosis {
    /// The finding of the outcome at `index`.
    pub fn finding_of(&self, index: usize) -> Option<&Finding> {
        self.of_case
            .get(index)
            .copied()
            .flatten()
            .map(|i| &self.findings[i])
    }
}

/// The outcomes that have a finding: failures, and warnings whose cause is known.
pub fn needs_finding(o: &Outcome) -> bool {
    o.status == Status::Fail || (o.status == Status::Warn && o.finding.is_some())
}

/// Diagnoses a run. `source` is the student's code when srpc-check has it (`--exec`, grade).
pub fn diagnose(report: &RunReport, source: Option<&Source>) -> Diagnosis {
    let outcomes = &report.outcomes;
    let mut codes: Vec<Option<Code>> = vec![None; outcomes.len()];
    if let Some(failure) = &report.start_failure {
        let code = if failure.exited {
            Code::CrashAtStart
        } else {
            Code::NeverListens
        };
        for (i, o) in outcomes.iter().enumerate() {
            if o.status == Status::Fail {
                codes[i] = Some(if o.group == crate::suite::Group::Client {
                    o.finding.unwrap_or(Code::Unexplained)
                } else {
                    code
                });
            }
        }
        let location = source.and_then(|s| start_location(&failure.output, s));
        return group(report, codes, |code, cases| {
            if code.is_client() {
                source.and_then(|s| locate(code, cases, s))
            } else {
                location.clone()
            }
        });
    }
    // A server that speaks another lab's protocol: one finding says so, whatever the cases saw.
    if report.speaks.is_some() {
        for (i, o) in outcomes.iter().enumerate() {
            if o.status == Status::Fail && o.group != crate::suite::Group::Client {
                codes[i] = Some(Code::WrongProtocol);
            }
        }
        return group(report, codes, |_, _| None);
    }
    // Crashes whose cause the case does not tell, by their traceback's signature.
    let mut generic: Vec<(usize, String)> = Vec::new();
    let mut by_signature: BTreeMap<String, Code> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate() {
        if !needs_finding(o) || o.same_as.is_some() {
            continue;
        }
        // A client case names its own cause: the client's crash or hang is the evidence, not
        // a server's.
        if o.group == crate::suite::Group::Client {
            codes[i] = Some(o.finding.unwrap_or(Code::Unexplained));
            continue;
        }
        let code = match (&o.server, o.went_down) {
            // The grader's memory limit stopped it, whatever the case sent.
            (Some(event), _) if event.oom_killed => Code::MemoryLimit,
            (Some(event), _) if event.event == EventKind::Exited => {
                let tb = Traceback::parse(&event.stderr_tail);
                let signature = signature(tb.as_ref(), event.status.as_deref());
                // Exiting cleanly, without a traceback, is the server's own doing whatever
                // the case sent.
                let clean = tb.is_none() && event.status.as_deref() == Some("exit status 0");
                let code = if clean {
                    Some(Code::ExitsAfterOne)
                } else {
                    crash_code(report.protocol, o, tb.as_ref())
                };
                match code {
                    Some(c) => {
                        by_signature.entry(signature).or_insert(c);
                        c
                    }
                    None => {
                        generic.push((i, signature));
                        Code::Crash
                    }
                }
            }
            (None, Some(EventKind::Exited)) => {
                crash_code(report.protocol, o, None).unwrap_or(Code::Crash)
            }
            (Some(_), _) | (None, Some(EventKind::Hung | EventKind::Raised)) => {
                o.finding.unwrap_or(Code::StopsAnswering)
            }
            (None, None) => o.finding.unwrap_or(Code::Unexplained),
        };
        codes[i] = Some(code);
    }
    for (i, signature) in generic {
        if let Some(&c) = by_signature.get(&signature) {
            codes[i] = Some(c);
        }
    }
    (report.protocol.refine)(report, &mut codes, source);
    // Failures that follow from an earlier case's belong to its finding.
    for (i, o) in outcomes.iter().enumerate() {
        if let (true, Some(earlier)) = (needs_finding(o), o.same_as) {
            let theirs = outcomes
                .iter()
                .position(|e| e.id == earlier)
                .and_then(|j| codes[j]);
            codes[i] = Some(theirs.unwrap_or(Code::Unexplained));
        }
    }
    let mut diagnosis = group(report, codes, |code, cases| {
        source.and_then(|s| locate(code, cases, s))
    });
    (report.protocol.more_findings)(report, &mut diagnosis, source);
    if let Some(finding) = writes_files(report, source) {
        diagnosis.findings.push(finding);
    }
    diagnosis
}

/// The files a server wrote into its folder: one warning, located where its code names the
/// first of them (or configures a log file).
fn writes_files(report: &RunReport, source: Option<&Source>) -> Option<Finding> {
    let first = report.written.first()?;
    let base = first.rsplit('/').next().unwrap_or(first);
    let location = source.and_then(|s| {
        [
            format!("\"{base}\""),
            format!("'{base}'"),
            "basicConfig(filename".to_owned(),
            "FileHandler(".to_owned(),
        ]
        .iter()
        .find_map(|needle| s.find_text(needle))
        .map(|(file, line)| at(s, &file, line))
    });
    let shown: Vec<&str> = report.written.iter().take(5).map(String::as_str).collect();
    let more = report.written.len().saturating_sub(shown.len());
    Some(Finding {
        code: Code::WritesFiles,
        cases: Vec::new(),
        representative: "",
        location,
        from_probe: false,
        note: Some(format!(
            "during the run it wrote {}{} into its folder",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )),
    })
}

/// Collects the outcomes' codes into findings, each with its representative and location.
fn group(
    report: &RunReport,
    codes: Vec<Option<Code>>,
    locate: impl Fn(Code, &[&Outcome]) -> Option<Location>,
) -> Diagnosis {
    let mut order: Vec<Code> = Vec::new();
    for c in codes.iter().flatten() {
        if !order.contains(c) {
            order.push(*c);
        }
    }
    order.sort_by_key(|c| c.severity());
    let findings = order
        .iter()
        .map(|&code| {
            let cases: Vec<&Outcome> = report
                .outcomes
                .iter()
                .zip(&codes)
                .filter(|(_, c)| **c == Some(code))
                .map(|(o, _)| o)
                .collect();
            Finding {
                code,
                cases: cases.iter().map(|o| o.id).collect(),
                representative: representative(&cases).id,
                location: locate(code, &cases),
                from_probe: false,
                note: None,
            }
        })
        .collect();
    let of_case = codes
        .iter()
        .map(|c| c.and_then(|c| order.iter().position(|&o| o == c)))
        .collect();
    Diagnosis { findings, of_case }
}

/// The case that best shows a finding: one that shows it first-hand (not "same as"), with
/// the server's traceback if it crashed, else with the bytes exchanged.
fn representative<'a>(cases: &[&'a Outcome]) -> &'a Outcome {
    let score = |o: &Outcome| {
        let traceback = o
            .server
            .as_ref()
            .is_some_and(|e| Traceback::parse(&e.stderr_tail).is_some());
        (o.same_as.is_none(), traceback, o.transcript.is_some())
    };
    let best = cases
        .iter()
        .map(|o| score(o))
        .max()
        .expect("a finding has a case");
    cases
        .iter()
        .find(|o| score(o) == best)
        .expect("the best is one of them")
}

/// The crash a case's own input explains, whatever the traceback says: a client that left, or
/// the protocol's own cause for the case.
fn crash_code(
    protocol: &crate::protocol::Protocol,
    o: &Outcome,
    tb: Option<&Traceback>,
) -> Option<Code> {
    if tb.is_some_and(Traceback::is_departure) {
        return Some(Code::CrashWhenClientLeaves);
    }
    (protocol.crash_cause)(o)
}

/// What makes two crashes the same: the exception and the student's line, or the exit status
/// when there is no traceback.
fn signature(tb: Option<&Traceback>, status: Option<&str>) -> String {
    match tb {
        Some(t) => match t.own_frame() {
            Some(f) => format!("{} at {}:{}", t.exception, f.file, f.line),
            None => t.exception.clone(),
        },
        None => status.unwrap_or("exited").to_owned(),
    }
}

/// Where a server that died at start-up died: its traceback's own frame, or the `File "...",
/// line N` Python prints above a SyntaxError in the main file.
fn start_location(output: &str, source: &Source) -> Option<Location> {
    let (file, line) = match Traceback::parse(output).and_then(|t| t.own_frame().cloned()) {
        Some(f) => (f.file, f.line),
        None => output.lines().rev().find_map(|l| {
            let rest = l.trim_start().strip_prefix("File \"")?;
            let (file, rest) = rest.split_once("\", line ")?;
            let n = rest.split(|c: char| !c.is_ascii_digit()).next()?;
            Some((file.to_owned(), n.parse().ok()?))
        })?,
    };
    Some(at(source, &file, line))
}

/// The location `file:line` in `source`, with the line's text.
pub fn at(source: &Source, file: &str, line: u32) -> Location {
    Location {
        file: source.display(file),
        line,
        text: source.line_text(file, line),
    }
}

/// The line a finding lives on: the crash's own frame, or the construct the scan found.
fn locate(code: Code, cases: &[&Outcome], source: &Source) -> Option<Location> {
    let source = match &source.client {
        Some(client) if code.is_client() => client,
        _ => source,
    };
    let crash = || {
        cases.iter().find_map(|o| {
            let tb = Traceback::parse(&o.server.as_ref()?.stderr_tail)?;
            let f = tb.own_frame()?;
            Some(at(source, &f.file, f.line))
        })
    };
    let fact = |pick: &dyn Fn(&source::Fact) -> bool| {
        source
            .facts
            .iter()
            .find(|f| pick(f))
            .map(|f| at(source, &f.file, f.line))
    };
    let kind = |k: &'static str| move |f: &source::Fact| f.kind == k;
    match code {
        Code::BlocksOnIdleClient => fact(&kind("accept")),
        Code::ExitsAfterOne => {
            fact(&|f| f.kind == "accept" && f.in_loop == Some(false)).or_else(crash)
        }
        // Each protocol's own patterns, then the traceback's own frame.
        _ => crate::protocol::REGISTRY
            .iter()
            .find_map(|p| (p.locate)(code, cases, source))
            .map(|(file, line)| at(source, &file, line))
            .or_else(crash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srpc::findings::SrpcCode;
    use crate::protocol::srpc::probe::ERROR_REPLY;
    use crate::runner::StartFailure;
    use crate::server::ServerEvent;
    use crate::suite::Group;
    use std::time::Duration;

    fn outcome(id: &'static str, status: Status, finding: Option<Code>) -> Outcome {
        Outcome {
            id,
            group: Group::Fragment,
            description: "",
            requirement: "",
            status,
            duration: Duration::ZERO,
            message: String::new(),
            hint: None,
            expected: None,
            actual: None,
            transcript: None,
            server: None,
            finding,
            same_as: None,
            held: None,
            went_down: None,
        }
    }

    fn report(outcomes: Vec<Outcome>) -> RunReport {
        RunReport {
            target: "t".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            seed: 1,
            outcomes,
            down_after: None,
            answers_none_after: None,
            out_of_time_before: None,
            restarts: 0,
            probe: None,
            left_out: 0,
            duration: Duration::ZERO,
            start_failure: None,
            observed: false,
            timeouts_expired: 0,
            client_port: None,
            speaks: None,
            written: Vec::new(),
            portable: None,
            protocol: &crate::protocol::srpc::SRPC,
        }
    }

    fn codes(d: &Diagnosis) -> Vec<(&'static str, Vec<&'static str>)> {
        d.findings
            .iter()
            .map(|f| (f.code.as_str(), f.cases.clone()))
            .collect()
    }

    #[test]
    fn one_recv_for_the_whole_message_is_one_finding() {
        let r = report(vec![
            outcome(
                "fragment/header-split-1",
                Status::Fail,
                Some(Code::Srpc(SrpcCode::HeaderSingleRecv)),
            ),
            outcome(
                "fragment/header-then-payload",
                Status::Fail,
                Some(Code::Srpc(SrpcCode::MessageSingleRecv)),
            ),
            outcome(
                "fragment/payload-split",
                Status::Fail,
                Some(Code::Srpc(SrpcCode::PayloadSingleRecv)),
            ),
            outcome(
                "fragment/large-request",
                Status::Fail,
                Some(Code::Srpc(SrpcCode::PayloadSingleRecv)),
            ),
            outcome(
                "fragment/large-reply",
                Status::Fail,
                Some(Code::Srpc(SrpcCode::ReplyPartialSend)),
            ),
            outcome("fragment/dribble", Status::Pass, None),
        ]);
        let d = diagnose(&r, None);
        assert_eq!(
            codes(&d),
            [(
                "message-single-recv",
                vec![
                    "fragment/header-split-1",
                    "fragment/header-then-payload",
                    "fragment/payload-split",
                    "fragment/large-request",
                    "fragment/large-reply"
                ]
            )]
        );
        assert_eq!(
            d.of_case,
            [Some(0), Some(0), Some(0), Some(0), Some(0), None]
        );
    }

    #[test]
    fn crashes_are_named_by_their_case_and_grouped_by_their_traceback() {
        let crash = |status: &str, tail: &str| ServerEvent {
            event: EventKind::Exited,
            status: Some(status.into()),
            stderr_tail: tail.into(),
            restarted: true,
            oom_killed: false,
            cause: None,
        };
        let tb = "Traceback (most recent call last):\n  File \"/s/srv.py\", line 9, in call\n    raise ValueError(func)\nValueError: DELETE\n";
        let mut unknown = outcome("protocol/unknown-func", Status::Fail, None);
        unknown.server = Some(crash("exit status 1", tb));
        let mut parallel = outcome("concurrency/parallel-clients", Status::Fail, None);
        parallel.server = Some(crash("exit status 1", tb));
        let mut gone = outcome(
            "robust/client-gone",
            Status::Fail,
            Some(Code::CrashWhenClientLeaves),
        );
        gone.server = Some(crash(
            "exit status 1",
            "Traceback (most recent call last):\n  File \"/s/srv.py\", line 20, in main\n    conn.send(b)\nBrokenPipeError: [Errno 32] Broken pipe\n",
        ));
        let mut survives = outcome("robust/data-survives", Status::Fail, None);
        survives.same_as = Some("robust/client-gone");
        let mut one_shot = outcome("state/persistence", Status::Fail, None);
        one_shot.server = Some(crash("exit status 0", "served\n"));
        let d = diagnose(
            &report(vec![unknown, parallel, gone, survives, one_shot]),
            None,
        );
        assert_eq!(
            codes(&d),
            [
                (
                    "crash-on-unknown-func",
                    vec!["protocol/unknown-func", "concurrency/parallel-clients"]
                ),
                (
                    "crash-when-client-leaves",
                    vec!["robust/client-gone", "robust/data-survives"]
                ),
                ("exits-after-one", vec!["state/persistence"]),
            ]
        );
        assert_eq!(d.findings[1].representative, "robust/client-gone");
    }

    #[test]
    fn a_server_that_never_started_is_one_finding_and_unknown_failures_are_unexplained() {
        let mut r = report(vec![
            outcome("grading/put", Status::Fail, None),
            outcome("grading/get-missing", Status::Fail, None),
        ]);
        r.start_failure = Some(StartFailure {
            exited: true,
            status: Some("exit status 1".into()),
            output: "  File \"/x/s.py\", line 3\n    def f(\n         ^\nSyntaxError: '(' was never closed\n".into(),
        });
        let d = diagnose(&r, None);
        assert_eq!(
            codes(&d),
            [("crash-at-start", vec!["grading/put", "grading/get-missing"])]
        );
        r.start_failure = None;
        let d = diagnose(&r, None);
        assert_eq!(
            codes(&d),
            [("unexplained", vec!["grading/put", "grading/get-missing"])]
        );
    }

    #[test]
    fn warnings_come_after_errors() {
        let r = report(vec![
            outcome(
                "state/integers",
                Status::Warn,
                Some(Code::Srpc(SrpcCode::NumberTypeChanged)),
            ),
            outcome(
                "state/floats",
                Status::Fail,
                Some(Code::Srpc(SrpcCode::ValueStringified)),
            ),
            outcome("state/scalars", Status::Warn, None),
        ]);
        let d = diagnose(&r, None);
        assert_eq!(
            codes(&d),
            [
                ("value-stringified", vec!["state/floats"]),
                ("number-type-changed", vec!["state/integers"])
            ]
        );
        assert_eq!(d.of_case, [Some(1), Some(0), None]);
    }

    fn probe(confirmed: bool, reply_big_endian: bool, crash: Option<&str>) -> crate::runner::Probe {
        crate::runner::Probe {
            case: "grading/put",
            trigger: crate::runner::Trigger::Silent,
            text: String::new(),
            answered: true,
            confirmed,
            reply_big_endian,
            crash: crash.map(String::from),
            transcript: Default::default(),
            event: None,
        }
    }

    fn errored(id: &'static str, group: Group, finding: Option<Code>) -> Outcome {
        let mut o = outcome(id, Status::Fail, finding);
        o.group = group;
        o.actual = Some(ERROR_REPLY.into());
        o
    }

    #[test]
    fn what_an_error_to_every_request_explains_joins_it() {
        let outcomes = || {
            vec![
                errored("grading/put", Group::Grading, None),
                errored(
                    "fragment/header-split-1",
                    Group::Fragment,
                    Some(Code::Srpc(SrpcCode::HeaderSingleRecv)),
                ),
                errored(
                    "concurrency/parallel-clients",
                    Group::Concurrency,
                    Some(Code::Srpc(SrpcCode::ParallelAnswersWrong)),
                ),
            ]
        };
        let all = |code| {
            (
                code,
                vec![
                    "grading/put",
                    "fragment/header-split-1",
                    "concurrency/parallel-clients",
                ],
            )
        };
        assert_eq!(
            codes(&diagnose(&report(outcomes()), None)),
            [all("answers-error")]
        );
        // Such a server closes as soon as it has answered, so a request that arrives in pieces
        // or is large may meet a reset (the kernel drops its ERROR when it closes with bytes
        // unread): which one a case sees is timing, and both are the same bug.
        let mut reset = outcomes();
        reset[1].actual = None;
        reset[1].transcript = Some(crate::net::conn::Transcript {
            peer_reset: true,
            ..Default::default()
        });
        assert_eq!(
            codes(&diagnose(&report(reset), None)),
            [all("answers-error")]
        );
        // Answered (not ERROR) in the byte order it reads: the ERRORs were misread requests;
        // and its replies are big-endian too: one finding for the header's byte order.
        let mut r = report(outcomes());
        r.probe = Some(probe(true, false, None));
        assert_eq!(codes(&diagnose(&r, None)), [all("request-read-big-endian")]);
        r.probe = Some(probe(true, true, None));
        assert_eq!(codes(&diagnose(&r, None)), [all("header-big-endian")]);
        // Only split requests got ERROR: that is the recv() bug, not ERROR to everything.
        let mut split = outcomes();
        split.remove(0);
        assert_eq!(
            codes(&diagnose(&report(split), None)),
            [
                ("header-single-recv", vec!["fragment/header-split-1"]),
                (
                    "parallel-answers-wrong",
                    vec!["concurrency/parallel-clients"]
                )
            ]
        );
    }

    #[test]
    fn a_traceback_behind_the_byte_order_is_a_second_bug_unless_the_client_left() {
        let mut hung = outcome("grading/put", Status::Fail, None);
        hung.group = Group::Grading;
        hung.went_down = Some(EventKind::Hung);
        let tb = |kind: &str| {
            format!("Traceback (most recent call last):\n  File \"/s/srv.py\", line 30, in handle\n    x()\n{kind}: boom\n")
        };
        let mut r = report(vec![hung]);
        r.probe = Some(probe(true, false, Some(&tb("TypeError"))));
        assert_eq!(
            codes(&diagnose(&r, None)),
            [
                ("request-read-big-endian", vec!["grading/put"]),
                ("crash-behind-byte-order", vec!["grading/put"])
            ]
        );
        // The case stays the byte order's.
        assert_eq!(diagnose(&r, None).of_case, [Some(0)]);
        r.probe = Some(probe(true, false, Some(&tb("BrokenPipeError"))));
        assert_eq!(
            codes(&diagnose(&r, None)),
            [("request-read-big-endian", vec!["grading/put"])]
        );
        // Not confirmed: no byte order, and nothing behind it.
        r.probe = Some(probe(false, false, Some(&tb("TypeError"))));
        assert_eq!(
            codes(&diagnose(&r, None)),
            [("stops-answering", vec!["grading/put"])]
        );
    }
}
