//! Points for one run: each test of a report against the rubric.

use super::rubric::{Rubric, Visibility};
use crate::outcome::doc::{Doc, Test};

/// One test with what it was worth and what it earned.
#[derive(Debug, Clone)]
pub struct Scored<'d> {
    pub test: &'d Test,
    pub max: f64,
    pub earned: f64,
    pub visibility: Visibility,
}

#[derive(Debug, Clone)]
pub struct Score<'d> {
    pub score: f64,
    pub max_score: f64,
    pub tests: Vec<Scored<'d>>,
}

/// A pass (or a pass with a warning) earns the case's points; anything else earns nothing.
pub fn score<'d>(doc: &'d Doc, rubric: &Rubric) -> Score<'d> {
    let tests: Vec<Scored<'d>> = doc
        .tests
        .iter()
        .map(|t| {
            let (max, visibility) = rubric
                .weight(&t.id)
                .map_or((0.0, Visibility::Visible), |w| (w.points, w.visibility));
            Scored {
                test: t,
                max,
                earned: if t.passed() { max } else { 0.0 },
                visibility,
            }
        })
        .collect();
    Score {
        score: round(tests.iter().map(|t| t.earned).sum()),
        max_score: round(tests.iter().map(|t| t.max).sum()),
        tests,
    }
}

/// Points as people write them: at most two decimals.
pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::doc::Test;
    use crate::suite;

    pub fn test(id: &str, status: &str) -> Test {
        Test {
            id: id.into(),
            group: id.split('/').next().unwrap().into(),
            status: status.into(),
            duration_ms: 1,
            message: String::new(),
            hint: None,
            expected: None,
            actual: None,
            sent_hex: String::new(),
            received_hex: String::new(),
            sent_bytes: 0,
            received_bytes: 0,
            reproducer: None,
            server: None,
            finding: None,
        }
    }

    #[test]
    fn passes_and_warnings_earn_their_points() {
        let cases = suite::keys(&crate::protocol::srpc::cases::all());
        let text = "[[item]]\ngroup = \"grading\"\npoints = 9\n";
        let rubric = Rubric::parse(text, "r", &cases).unwrap();
        let doc: Doc = serde_json::from_value(serde_json::json!({
            "tool": "srpc-check", "version": "0", "target": "t", "addr": "127.0.0.1:1",
            "seed": 1, "summary": {"passed": 0, "failed": 0, "warned": 0, "skipped": 0, "not_run": 0},
            "target_down_after": null, "answers_no_request_after": null, "restarts": 0,
            "big_endian_probe": null, "left_out": 0, "duration_ms": 1, "tests": []
        }))
        .unwrap();
        let doc = Doc {
            tests: vec![
                test("grading/put", "pass"),
                test("grading/get-existing", "warn"),
                test("grading/get-missing", "fail"),
                test("robust/short-header", "pass"),
            ],
            ..doc
        };
        let s = score(&doc, &rubric);
        assert_eq!((s.score, s.max_score), (6.0, 9.0));
        assert_eq!(s.tests[3].max, 0.0);
    }
}
