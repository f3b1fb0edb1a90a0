//! `--format json`: the machine-readable report.
//!
//! [`Doc`] is also how a run travels: `srpc-check grade` runs each submission in its own
//! sandboxed process, which hands its report back as this document, and every class-level
//! format (JUnit, Gradescope, Classroom, CSV, HTML) is rendered from it.

use serde::{Deserialize, Serialize};

use crate::diagnose::{Diagnosis, Location};
use crate::runner::{RunReport, Summary};
use crate::server::ServerEvent;
use crate::words::hex;

/// Bytes of each direction included in `sent_hex` / `received_hex` (totals are given separately).
const HEX_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Doc {
    pub tool: String,
    pub version: String,
    pub target: String,
    /// The address the cases connected to (at the start, for a server that was restarted).
    pub addr: String,
    pub seed: u64,
    /// The protocol the server was checked in (`--protocol`).
    #[serde(default = "crate::protocol::default_name")]
    pub protocol: String,
    /// The other protocol the server speaks, when it answered none of this one's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaks: Option<String>,
    pub summary: Summary,
    pub target_down_after: Option<String>,
    /// The case that showed the server answers no well-formed request, even fresh.
    pub answers_no_request_after: Option<String>,
    pub restarts: u32,
    /// Missing replies were judged by watching the server's processes and sockets (a server
    /// srpc-check runs, with /proc readable); false when timeouts alone decided.
    #[serde(default)]
    pub observed: bool,
    /// Waits that ended because a timeout expired (observed runs of sound servers: 0).
    #[serde(default)]
    pub timeouts_expired: u32,
    /// Set on a portable machine (macOS, or `SRPC_CHECK_PORTABLE=1`) for a program srpc-check
    /// ran: why verdicts there are slower and less certain, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portable: Option<String>,
    pub big_endian_probe: Option<String>,
    /// Cases --only/--skip left out (they are not in `tests`).
    pub left_out: usize,
    pub duration_ms: u128,
    /// One entry per distinct bug, errors first; every failing test names one of them.
    #[serde(default)]
    pub findings: Vec<Finding>,
    pub tests: Vec<Test>,
}

/// One bug, as the reports show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable: `srpc-check explain CODE` prints its long form.
    pub code: String,
    pub title: String,
    /// "error" or "warning".
    pub severity: String,
    pub fix: String,
    /// The ids of the tests that show it, in run order.
    pub cases: Vec<String>,
    /// The test whose details best show it.
    pub representative: String,
    /// Where in the student's code, when srpc-check had the code and could tell.
    pub location: Option<Location>,
    /// The evidence, when no case of its own shows it (a bug found behind the byte order is
    /// shown by the big-endian probe's exchange, id `big-endian-probe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Test>,
    /// What shows it when no test does (the files a server wrote), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Finding {
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// How many cases show it ("3 cases"), or "the run" for a finding no case shows.
    pub fn extent(&self) -> String {
        if self.cases.is_empty() {
            "the run".into()
        } else {
            crate::words::count(self.cases.len(), "case")
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Test {
    pub id: String,
    pub group: String,
    pub status: String,
    pub duration_ms: u128,
    pub message: String,
    pub hint: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub sent_hex: String,
    pub received_hex: String,
    pub sent_bytes: usize,
    pub received_bytes: usize,
    /// A Python snippet that sends the same bytes (absent for passing cases and huge requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducer: Option<String>,
    /// What happened to the server during or right after this case (--exec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerEvent>,
    /// The code of the finding this test shows (null for passing tests).
    #[serde(default)]
    pub finding: Option<String>,
}

impl Test {
    pub fn passed(&self) -> bool {
        matches!(self.status.as_str(), "pass" | "warn")
    }
}

/// The big-endian probe's exchange as a test's evidence: what was sent and received, what the
/// server did, and a reproducer.
fn probe_test(p: &crate::runner::Probe, addr: std::net::SocketAddr) -> Test {
    let sent = p.transcript.sent_bytes();
    let received = &p.transcript.received;
    Test {
        id: "big-endian-probe".into(),
        group: "probe".into(),
        status: "fail".into(),
        duration_ms: 0,
        message: format!(
            "the request of {}, sent again with a big-endian header, as the server reads it: {}",
            p.case, p.text
        ),
        hint: p.event.as_ref().and_then(|e| {
            crate::server::traceback::Traceback::parse(&e.stderr_tail).map(|t| t.explain())
        }),
        expected: None,
        actual: None,
        sent_hex: hex(&sent[..sent.len().min(HEX_LIMIT)]),
        received_hex: hex(&received[..received.len().min(HEX_LIMIT)]),
        sent_bytes: sent.len(),
        received_bytes: received.len(),
        reproducer: super::reproducer::reproducer(&p.transcript, None, addr),
        server: p.event.clone(),
        finding: None,
    }
}

impl Doc {
    pub fn from_run(report: &RunReport, diagnosis: &Diagnosis) -> Doc {
        let tests = report
            .outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let sent = o
                    .transcript
                    .as_ref()
                    .map(|t| t.sent_bytes())
                    .unwrap_or_default();
                let received = o
                    .transcript
                    .as_ref()
                    .map(|t| t.received.as_slice())
                    .unwrap_or_default();
                let failed = !matches!(o.status.name(), "pass" | "warn");
                Test {
                    id: o.id.into(),
                    group: o.group.name().into(),
                    status: o.status.name().into(),
                    duration_ms: o.duration.as_millis(),
                    message: o.message.clone(),
                    hint: o.hint.clone(),
                    expected: o.expected.clone(),
                    actual: o.actual.clone(),
                    sent_hex: hex(&sent[..sent.len().min(HEX_LIMIT)]),
                    received_hex: hex(&received[..received.len().min(HEX_LIMIT)]),
                    sent_bytes: sent.len(),
                    received_bytes: received.len(),
                    reproducer: o.transcript.as_ref().filter(|_| failed).and_then(|t| {
                        if o.group == crate::suite::Group::Client {
                            let port = report.client_port.unwrap_or(report.protocol.default_port);
                            super::reproducer::client_reproducer(
                                t,
                                port,
                                report.protocol.read_request_py,
                            )
                        } else {
                            super::reproducer::reproducer(t, o.held.as_ref(), report.addr)
                        }
                    }),
                    server: o.server.clone(),
                    finding: diagnosis.finding_of(i).map(|f| f.code.as_str().to_owned()),
                }
            })
            .collect();
        Doc {
            tool: "srpc-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            target: report.target.clone(),
            addr: report.addr.to_string(),
            seed: report.seed,
            protocol: report.protocol.name.into(),
            speaks: report.speaks.map(|p| p.name.to_owned()),
            summary: report.summary(),
            target_down_after: report.down_after.map(Into::into),
            answers_no_request_after: report.answers_none_after.map(Into::into),
            restarts: report.restarts,
            observed: report.observed,
            timeouts_expired: report.timeouts_expired,
            portable: report.portable.clone(),
            big_endian_probe: report.probe.as_ref().map(|p| p.text.clone()),
            left_out: report.left_out,
            duration_ms: report.duration.as_millis(),
            findings: diagnosis
                .findings
                .iter()
                .map(|f| {
                    let info = report.protocol.info(f.code);
                    Finding {
                        code: info.code.into(),
                        title: info.title.into(),
                        severity: info.severity.name().into(),
                        fix: info.fix.into(),
                        cases: f.cases.iter().map(|c| c.to_string()).collect(),
                        representative: f.representative.into(),
                        location: f.location.clone(),
                        evidence: report
                            .probe
                            .as_ref()
                            .filter(|_| f.from_probe)
                            .map(|p| probe_test(p, report.addr)),
                        note: f.note.clone(),
                    }
                })
                .collect(),
            tests,
        }
    }

    /// The test with this id.
    pub fn test(&self, id: &str) -> Option<&Test> {
        self.tests.iter().find(|t| t.id == id)
    }

    /// The finding with this code.
    pub fn finding(&self, code: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.code == code)
    }

    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises") + "\n"
    }
}
