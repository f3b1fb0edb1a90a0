//! GitHub Classroom's autograding result: the JSON object its grading reporter reads
//! (`version`, `status`, `max_score`, one entry per test), base64-encoded, as the `result`
//! output of a step.

use base64::Engine;
use serde::Serialize;

use super::json::{self, Doc};
use crate::outcome::score::Score;

#[derive(Serialize)]
struct Result<'a> {
    version: u32,
    status: &'static str,
    max_score: f64,
    tests: Vec<Test<'a>>,
}

#[derive(Serialize)]
struct Test<'a> {
    name: &'a str,
    status: &'static str,
    message: String,
    line_no: u32,
    execution_time: String,
    score: f64,
}

/// Bytes of one test's message at most: the code and one line.
const MESSAGE_LIMIT: usize = 200;

/// A failing test's message: its finding's code and one line (the finding's title, with where
/// it lives; or, for an unexplained failure, the test's own message), at most
/// [`MESSAGE_LIMIT`] bytes whatever the server sent.
fn short_message(t: &json::Test, doc: &Doc) -> String {
    let line = match t.finding.as_deref().and_then(|c| doc.finding(c)) {
        Some(f) if f.code != "unexplained" => match &f.location {
            Some(l) => format!("{}: {} ({})", f.code, f.title, super::location_label(l)),
            None => format!("{}: {}", f.code, f.title),
        },
        Some(f) => format!("{}: {}", f.code, t.message),
        None => t.message.clone(),
    };
    // Control characters would be escaped six bytes each: spaces instead.
    let line: String = line
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.len() <= MESSAGE_LIMIT {
        return line;
    }
    let mut end = MESSAGE_LIMIT - 3;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &line[..end])
}

/// The JSON object, before encoding. Each test carries a short message (see
/// [`short_message`]): at most 200 bytes with no control characters, so at most 400 once
/// JSON-escaped. With the suite's 55 cases the result is bounded near 30 KB of JSON, 40 KB
/// encoded, whatever the server does: under 64 KiB, and far under what the grading reporter
/// can read from its environment (one string, at most 128 KiB).
pub fn json(score: &Score<'_>, doc: &Doc) -> String {
    let all = score.tests.iter().all(|s| s.test.passed());
    let result = Result {
        version: 1,
        status: if all { "pass" } else { "fail" },
        max_score: score.max_score,
        tests: score
            .tests
            .iter()
            .map(|s| Test {
                name: &s.test.id,
                status: if s.test.passed() { "pass" } else { "fail" },
                message: if s.test.passed() {
                    String::new()
                } else {
                    short_message(s.test, doc)
                },
                line_no: 0,
                execution_time: format!("{:.3}s", s.test.duration_ms as f64 / 1000.0),
                score: s.earned,
            })
            .collect(),
    };
    serde_json::to_string(&result).expect("result serialises")
}

/// The value of the step's `result` output.
pub fn encoded(score: &Score<'_>, doc: &Doc) -> String {
    base64::engine::general_purpose::STANDARD.encode(json(score, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_one_line_of_at_most_200_bytes_without_control_characters() {
        let doc: Doc = serde_json::from_value(serde_json::json!({
            "tool": "srpc-check", "version": "0", "target": "t", "addr": "127.0.0.1:1",
            "seed": 1, "summary": {"passed": 0, "failed": 1, "warned": 0, "skipped": 0,
            "not_run": 0}, "target_down_after": null, "answers_no_request_after": null,
            "restarts": 0, "big_endian_probe": null, "left_out": 0, "duration_ms": 1,
            "findings": [{"code": "unexplained", "title": "t", "severity": "error", "fix": "f",
                          "cases": ["grading/put"], "representative": "grading/put",
                          "location": null}],
            "tests": [{"id": "grading/put", "group": "grading", "status": "fail",
                       "duration_ms": 1, "message": "\u{1}\u{7f}é😀\"\\".repeat(100) + "\nsecond line",
                       "hint": null, "expected": null, "actual": null, "sent_hex": "",
                       "received_hex": "", "sent_bytes": 0, "received_bytes": 0,
                       "finding": "unexplained"}]
        }))
        .unwrap();
        let m = short_message(&doc.tests[0], &doc);
        assert!(m.len() <= MESSAGE_LIMIT, "{} bytes", m.len());
        assert!(m.starts_with("unexplained: ") && m.ends_with("..."), "{m}");
        assert!(!m.chars().any(char::is_control), "{m:?}");
        assert!(!m.contains("second line"));
    }
}
