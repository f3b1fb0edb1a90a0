//! GitHub Classroom's autograding result: the JSON object its grading reporter reads
//! (`version`, `status`, `max_score`, one entry per test), base64-encoded, as the `result`
//! output of a step.

use base64::Engine;
use serde::Serialize;

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

/// The JSON object, before encoding.
pub fn json(score: &Score<'_>) -> String {
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
                    super::failure_text(s.test)
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
pub fn encoded(score: &Score<'_>) -> String {
    base64::engine::general_purpose::STANDARD.encode(json(score))
}
