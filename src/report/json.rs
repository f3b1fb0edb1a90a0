//! `--format json`: the machine-readable report.
//!
//! [`Doc`] is also how a run travels: `srpc-check grade` runs each submission in its own
//! sandboxed process, which hands its report back as this document, and every class-level
//! format (JUnit, Gradescope, Classroom, CSV, HTML) is rendered from it.

use serde::{Deserialize, Serialize};

use super::hex;
use crate::runner::{RunReport, Summary};
use crate::target::ServerEvent;

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
    pub summary: Summary,
    pub target_down_after: Option<String>,
    /// The case that showed the server answers no well-formed request, even fresh.
    pub answers_no_request_after: Option<String>,
    pub restarts: u32,
    pub big_endian_probe: Option<String>,
    /// Cases --only/--skip left out (they are not in `tests`).
    pub left_out: usize,
    pub duration_ms: u128,
    pub tests: Vec<Test>,
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
}

impl Test {
    pub fn passed(&self) -> bool {
        matches!(self.status.as_str(), "pass" | "warn")
    }
}

impl Doc {
    pub fn from_run(report: &RunReport) -> Doc {
        let tests = report
            .outcomes
            .iter()
            .map(|o| {
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
                    reproducer: o
                        .transcript
                        .as_ref()
                        .filter(|_| failed)
                        .and_then(|t| super::reproducer(t, report.addr)),
                    server: o.server.clone(),
                }
            })
            .collect();
        Doc {
            tool: "srpc-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            target: report.target.clone(),
            addr: report.addr.to_string(),
            seed: report.seed,
            summary: report.summary(),
            target_down_after: report.down_after.map(Into::into),
            answers_no_request_after: report.answers_none_after.map(Into::into),
            restarts: report.restarts,
            big_endian_probe: report.big_endian_probe.clone(),
            left_out: report.left_out,
            duration_ms: report.duration.as_millis(),
            tests,
        }
    }

    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises") + "\n"
    }
}
