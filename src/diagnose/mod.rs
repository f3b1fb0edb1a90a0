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

mod code;
pub mod source;

use std::collections::BTreeMap;

pub use code::{Code, Info, Severity};
pub use source::Source;

use crate::runner::{Outcome, RunReport, ERROR_REPLY};
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
fn needs_finding(o: &Outcome) -> bool {
    o.status == Status::Fail || (o.status == Status::Warn && o.finding.is_some())
}

/// Failures that an ERROR reply to a well-formed request explains, whatever the case set out to
/// show: a server that answers every such request ERROR answers ERROR to a split one, to eight
/// clients at once and beside an idle one too, and none of that is a second bug. It closes as
/// soon as it has answered, so a split or large request may instead meet a reset (closing with
/// bytes unread, the kernel resets and may drop the ERROR): the same, by timing.
const ERROR_EXPLAINS: [Code; 7] = [
    Code::UnknownFuncReply,
    Code::HeaderSingleRecv,
    Code::PayloadSingleRecv,
    Code::MessageSingleRecv,
    Code::ReplyPartialSend,
    Code::ParallelAnswersWrong,
    Code::BlocksOnIdleClient,
];

/// Header, payload, whole message: the last is what the first two are when both show.
const READ_CODES: [Code; 3] = [
    Code::HeaderSingleRecv,
    Code::PayloadSingleRecv,
    Code::MessageSingleRecv,
];

/// The same three, on the client's side.
const CLIENT_READ_CODES: [Code; 3] = [
    Code::ClientHeaderSingleRecv,
    Code::ClientPayloadSingleRecv,
    Code::ClientMessageSingleRecv,
];

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
    let probe_confirmed = report.probe.as_ref().is_some_and(|p| p.confirmed);
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
        let keep = o.finding.filter(|c| READ_CODES.contains(c));
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
                    keep.or_else(|| crash_code(o.id, tb.as_ref()))
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
            (None, Some(EventKind::Exited)) => keep
                .or_else(|| crash_code(o.id, None))
                .unwrap_or(Code::Crash),
            (Some(_), _) | (None, Some(EventKind::Hung | EventKind::Raised)) => {
                o.finding.unwrap_or(if probe_confirmed {
                    Code::RequestReadBigEndian
                } else {
                    Code::StopsAnswering
                })
            }
            (None, None) => o.finding.unwrap_or_else(|| {
                if o.actual.as_deref() == Some(ERROR_REPLY) {
                    Code::AnswersError
                } else if probe_confirmed && o.message.contains("no reply within") {
                    Code::RequestReadBigEndian
                } else {
                    Code::Unexplained
                }
            }),
        };
        codes[i] = Some(code);
    }
    for (i, signature) in generic {
        if let Some(&c) = by_signature.get(&signature) {
            codes[i] = Some(c);
        }
    }
    // A server that answers ERROR to every well-formed request (shown by a case that sent one
    // whole) answers ERROR to the other cases' requests too, for the same reason.
    let answers_error = outcomes
        .iter()
        .zip(&codes)
        .any(|(o, c)| *c == Some(Code::AnswersError) && o.group != crate::suite::Group::Fragment);
    if answers_error {
        for (i, o) in outcomes.iter().enumerate() {
            if codes[i].is_some_and(|c| ERROR_EXPLAINS.contains(&c))
                && (o.actual.as_deref() == Some(ERROR_REPLY)
                    || o.transcript.as_ref().is_some_and(|t| t.peer_reset))
            {
                codes[i] = Some(Code::AnswersError);
            }
        }
    }
    // ERROR because the request was misread: the probe showed the server reads the header
    // big-endian (a big-endian request was answered, and not with ERROR).
    if probe_confirmed {
        for c in codes.iter_mut().flatten() {
            if *c == Code::AnswersError {
                *c = Code::RequestReadBigEndian;
            }
        }
    }
    // Read and written big-endian: one bug, one fix, one finding.
    let reply_be = report.probe.as_ref().is_some_and(|p| p.reply_big_endian)
        || codes.contains(&Some(Code::ReplyBigEndian));
    if reply_be && codes.contains(&Some(Code::RequestReadBigEndian)) {
        for c in codes.iter_mut().flatten() {
            if matches!(c, Code::RequestReadBigEndian | Code::ReplyBigEndian) {
                *c = Code::HeaderBigEndian;
            }
        }
    }
    // One recv() for the whole message shows in header and payload splits alike, on the
    // server's side and on the client's.
    for reading in [READ_CODES, CLIENT_READ_CODES] {
        let whole = reading[2];
        if codes.contains(&Some(whole)) {
            for c in codes.iter_mut().flatten() {
                if reading.contains(c) {
                    *c = whole;
                }
            }
        }
    }
    // A 1 MiB reply cannot come back for a 1 MiB request that was never read whole.
    let large_request = outcomes
        .iter()
        .position(|o| o.id == "fragment/large-request")
        .and_then(|i| codes[i])
        .filter(|c| READ_CODES.contains(c));
    if let Some(read) = large_request {
        for c in codes.iter_mut().flatten() {
            if *c == Code::ReplyPartialSend {
                *c = read;
            }
        }
    }
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
    // A client that waits on after a whole reply reads its header big-endian only if its
    // code unpacks a header so; otherwise it just hangs.
    let client_source = source.map(|s| s.client.as_deref().unwrap_or(s));
    if !client_source.is_some_and(|s| s.facts.iter().any(|f| big_endian_struct("unpack", f))) {
        for c in codes.iter_mut().flatten() {
            if *c == Code::ClientReplyReadBigEndian {
                *c = Code::ClientHangs;
            }
        }
    }
    let mut diagnosis = group(report, codes, |code, cases| {
        source.and_then(|s| locate(code, cases, s))
    });
    if let Some(finding) = behind_byte_order(report, &diagnosis, source) {
        diagnosis.findings.push(finding);
    }
    diagnosis
}

/// A second bug the big-endian probe showed: sent in the byte order the server reads, the
/// request made it raise an exception. That is a bug of its own when the exception is not
/// how a connection ends (a client that left), and the request read big-endian is a finding.
/// It lists the case the probe followed, whose own finding stays the byte order's.
fn behind_byte_order(
    report: &RunReport,
    diagnosis: &Diagnosis,
    source: Option<&Source>,
) -> Option<Finding> {
    let probe = report.probe.as_ref().filter(|p| p.confirmed)?;
    let tb = Traceback::parse(probe.crash.as_deref()?)?;
    let read_be = diagnosis
        .findings
        .iter()
        .any(|f| matches!(f.code, Code::RequestReadBigEndian | Code::HeaderBigEndian));
    if !read_be || tb.is_departure() {
        return None;
    }
    let location = source.and_then(|s| {
        let f = tb.own_frame()?;
        Some(at(s, &f.file, f.line))
    });
    Some(Finding {
        code: Code::CrashBehindByteOrder,
        cases: vec![probe.case],
        representative: probe.case,
        location,
        from_probe: true,
    })
}

/// A `struct.pack`/`unpack` (as `call` names it) with a big-endian format.
fn big_endian_struct(call: &str, f: &source::Fact) -> bool {
    f.kind == "struct"
        && f.call.as_deref().is_some_and(|c| c.starts_with(call))
        && f.format
            .as_deref()
            .is_some_and(|s| s.starts_with(['!', '>']))
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

/// The crash a case's own input explains, whatever the traceback says.
fn crash_code(case: &str, tb: Option<&Traceback>) -> Option<Code> {
    if tb.is_some_and(Traceback::is_departure) {
        return Some(Code::CrashWhenClientLeaves);
    }
    Some(match case {
        // The large reply is an unknown func's echo of its 1 MiB name.
        "protocol/unknown-func" | "fragment/large-reply" => Code::CrashOnUnknownFunc,
        "robust/empty-connection" | "robust/short-header" => Code::CrashOnShortHeader,
        "robust/client-gone" => Code::CrashWhenClientLeaves,
        c if c.starts_with("robust/") => Code::CrashOnBadRequest,
        _ => return None,
    })
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

fn at(source: &Source, file: &str, line: u32) -> Location {
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
    let once = |f: &source::Fact| f.kind == "recv" && f.in_loop == Some(false);
    let byte_order = big_endian_struct;
    let kind = |k: &'static str| move |f: &source::Fact| f.kind == k;
    match code {
        Code::HeaderSingleRecv | Code::ClientHeaderSingleRecv => {
            fact(&|f| once(f) && f.size == Some(8))
                .or_else(|| fact(&|f| once(f) && f.size.is_some_and(|n| n < 64)))
                .or_else(|| fact(&once))
        }
        Code::PayloadSingleRecv | Code::ClientPayloadSingleRecv => {
            fact(&|f| once(f) && f.size.is_none())
                .or_else(|| fact(&|f| once(f) && f.size != Some(8)))
        }
        Code::MessageSingleRecv | Code::ClientMessageSingleRecv => {
            fact(&|f| once(f) && f.size.is_some_and(|n| n >= 64)).or_else(|| fact(&once))
        }
        Code::RequestReadBigEndian | Code::ClientReplyReadBigEndian => {
            fact(&|f| byte_order("unpack", f))
        }
        Code::HeaderBigEndian => {
            fact(&|f| byte_order("unpack", f)).or_else(|| fact(&|f| byte_order("pack", f)))
        }
        Code::ReplyBigEndian => fact(&|f| byte_order("pack", f)),
        Code::ClientRequestMalformed => fact(&|f| byte_order("pack", f)).or_else(crash),
        Code::ReplyDoubleEncoded => fact(&kind("dumps_twice")),
        Code::ReplyLengthCountsChars => fact(&kind("ensure_ascii_false")),
        Code::StatusSpelling => fact(&kind("status_literal")),
        Code::ReplyPartialSend => fact(&kind("send")),
        Code::StoreNotKept => fact(&kind("store_fresh")),
        Code::ValueStringified => fact(&kind("stringify")),
        Code::PutMerges => fact(&kind("update")),
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
            protocol: &crate::protocol::SRPC,
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
                Some(Code::HeaderSingleRecv),
            ),
            outcome(
                "fragment/header-then-payload",
                Status::Fail,
                Some(Code::MessageSingleRecv),
            ),
            outcome(
                "fragment/payload-split",
                Status::Fail,
                Some(Code::PayloadSingleRecv),
            ),
            outcome(
                "fragment/large-request",
                Status::Fail,
                Some(Code::PayloadSingleRecv),
            ),
            outcome(
                "fragment/large-reply",
                Status::Fail,
                Some(Code::ReplyPartialSend),
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
                Some(Code::NumberTypeChanged),
            ),
            outcome("state/floats", Status::Fail, Some(Code::ValueStringified)),
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
                    Some(Code::HeaderSingleRecv),
                ),
                errored(
                    "concurrency/parallel-clients",
                    Group::Concurrency,
                    Some(Code::ParallelAnswersWrong),
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
