//! GitHub Classroom's autograding result: the JSON object its grading reporter reads
//! (`version`, `status`, `max_score`, one entry per test), base64-encoded, as the `result`
//! output of a step.

use base64::Engine;
use serde::Serialize;

use super::json::{self, Doc};
use crate::grade::score::Score;

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

/// Characters of one test's message at most: the code and one line.
const MESSAGE_LIMIT: usize = 200;

/// A failing test's message: its finding's code and one line (the finding's title, with where
/// it lives; or, for an unexplained failure, the test's own message), at most
/// [`MESSAGE_LIMIT`] characters whatever the server sent.
fn short_message(t: &json::Test, doc: &Doc) -> String {
    let line = match t.finding.as_deref().and_then(|c| doc.finding(c)) {
        Some(f) if f.code != "unexplained" => match &f.location {
            Some(l) => format!("{}: {} ({})", f.code, f.title, super::location_label(l)),
            None => format!("{}: {}", f.code, f.title),
        },
        Some(f) => format!("{}: {}", f.code, t.message),
        None => t.message.clone(),
    };
    let line = line.lines().next().unwrap_or_default();
    if line.chars().count() > MESSAGE_LIMIT {
        format!(
            "{}...",
            line.chars().take(MESSAGE_LIMIT - 3).collect::<String>()
        )
    } else {
        line.to_owned()
    }
}

/// The JSON object, before encoding. Each test carries a short message (see [`short_message`]), so
/// the whole result stays a few KiB for the suite's 55 cases, far under what the grading
/// reporter can read from its environment (one string, at most 128 KiB).
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
