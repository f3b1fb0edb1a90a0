//! Gradescope's `results.json`: a score, an overall output that leads with the findings, and
//! one test per case with its score, maximum, status, output (naming its finding) and
//! visibility. Everything is Markdown (`output_format: "md"`); text from the submission goes
//! in fenced blocks that it cannot close.

use serde::Serialize;

use super::json::Doc;
use crate::outcome::score::Score;

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
            output: if s.test.passed() && s.test.finding.is_none() {
                s.test.message.clone()
            } else {
                super::failure_markdown(s.test, doc)
            },
            visibility: s.visibility.name(),
        })
        .collect();
    let results = Results {
        score: score.score,
        execution_time: doc.duration_ms as f64 / 1000.0,
        output,
        output_format: "md",
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    };
    serde_json::to_string_pretty(&results).expect("results serialise") + "\n"
}
