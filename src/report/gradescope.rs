//! Gradescope's `results.json`: a score, an overall output, and one test per case with its
//! score, maximum, status, output and visibility.

use serde::Serialize;

use super::json::Doc;
use crate::grade::score::Score;

#[derive(Serialize)]
struct Results<'a> {
    score: f64,
    execution_time: f64,
    output: &'a str,
    output_format: &'static str,
    visibility: &'static str,
    stdout_visibility: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    number: String,
    score: f64,
    max_score: f64,
    status: &'static str,
    output: String,
    visibility: &'static str,
}

/// `output` is the submission-level text (a summary, or why the server could not be run).
pub fn render(doc: &Doc, score: &Score<'_>, output: &str) -> String {
    let tests = score
        .tests
        .iter()
        .enumerate()
        .map(|(n, s)| Test {
            name: s.test.id.clone(),
            number: format!("{}", n + 1),
            score: s.earned,
            max_score: s.max,
            status: if s.test.passed() { "passed" } else { "failed" },
            output: if s.test.passed() {
                s.test.message.clone()
            } else {
                super::failure_text(s.test)
            },
            visibility: s.visibility.name(),
        })
        .collect();
    let results = Results {
        score: score.score,
        execution_time: doc.duration_ms as f64 / 1000.0,
        output,
        output_format: "text",
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    };
    serde_json::to_string_pretty(&results).expect("results serialise") + "\n"
}
