//! `--format json`: the machine-readable report.

use serde::Serialize;

use super::hex;
use crate::runner::{RunReport, Summary};
use crate::target::ServerEvent;

/// Bytes of each direction included in `sent_hex` / `received_hex` (totals are given separately).
const HEX_LIMIT: usize = 64 * 1024;

#[derive(Serialize)]
struct Json<'a> {
    tool: &'static str,
    version: &'static str,
    target: &'a str,
    /// The address the cases connected to (at the start, for a server that was restarted).
    addr: String,
    seed: u64,
    summary: Summary,
    target_down_after: Option<&'a str>,
    /// The case that showed the server answers no well-formed request, even fresh.
    answers_no_request_after: Option<&'a str>,
    restarts: u32,
    big_endian_probe: Option<&'a str>,
    /// Cases --only/--skip left out (they are not in `tests`).
    left_out: usize,
    duration_ms: u128,
    tests: Vec<Test<'a>>,
}

#[derive(Serialize)]
struct Test<'a> {
    id: &'a str,
    group: &'a str,
    status: &'a str,
    duration_ms: u128,
    message: &'a str,
    hint: Option<&'a str>,
    expected: Option<&'a str>,
    actual: Option<&'a str>,
    sent_hex: String,
    received_hex: String,
    sent_bytes: usize,
    received_bytes: usize,
    /// What happened to the server during or right after this case (--exec).
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a ServerEvent>,
}

pub fn render(report: &RunReport) -> String {
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
            Test {
                id: o.id,
                group: o.group.name(),
                status: o.status.name(),
                duration_ms: o.duration.as_millis(),
                message: &o.message,
                hint: o.hint.as_deref(),
                expected: o.expected.as_deref(),
                actual: o.actual.as_deref(),
                sent_hex: hex(&sent[..sent.len().min(HEX_LIMIT)]),
                received_hex: hex(&received[..received.len().min(HEX_LIMIT)]),
                sent_bytes: sent.len(),
                received_bytes: received.len(),
                server: o.server.as_ref(),
            }
        })
        .collect();
    let doc = Json {
        tool: "srpc-check",
        version: env!("CARGO_PKG_VERSION"),
        target: &report.target,
        addr: report.addr.to_string(),
        seed: report.seed,
        summary: report.summary(),
        target_down_after: report.down_after,
        answers_no_request_after: report.answers_none_after,
        restarts: report.restarts,
        big_endian_probe: report.big_endian_probe.as_deref(),
        left_out: report.left_out,
        duration_ms: report.duration.as_millis(),
        tests,
    };
    serde_json::to_string_pretty(&doc).expect("report serialises") + "\n"
}
