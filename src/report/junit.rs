//! `--junit FILE`: JUnit XML for CI systems. One testsuite per group; a failure's message
//! starts with its finding's code, and its text carries the hint, expected and actual values.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::json::Doc;

pub fn render(doc: &Doc) -> String {
    let mut junit = Report::new("srpc-check");
    let mut suites: Vec<TestSuite> = Vec::new();
    for t in &doc.tests {
        let group = t.group.as_str();
        if suites.last().map(|s| s.name.as_str()) != Some(group) {
            suites.push(TestSuite::new(group));
        }
        let status = match t.status.as_str() {
            "pass" | "warn" => TestCaseStatus::success(),
            "fail" => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(match &t.finding {
                    Some(code) => format!("{code}: {}", t.message),
                    None => t.message.clone(),
                });
                let mut text = String::new();
                for (label, v) in [
                    ("likely cause", &t.hint),
                    ("expected", &t.expected),
                    ("actual", &t.actual),
                ] {
                    if let Some(v) = v {
                        text.push_str(&format!("{label}: {v}\n"));
                    }
                }
                s.set_description(text);
                s
            }
            _ => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(t.message.clone());
                s
            }
        };
        let mut case = TestCase::new(t.id.as_str(), status);
        case.set_classname(format!("srpc.{group}"));
        case.set_time(Duration::from_millis(t.duration_ms as u64));
        if t.status == "warn" {
            let code = t
                .finding
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default();
            case.set_system_out(format!("warning: {code}{}", t.message));
        }
        if let Some(e) = &t.server {
            case.set_system_err(super::human::server_event(
                e,
                "",
                super::human::subject(&t.group),
            ));
        }
        suites
            .last_mut()
            .expect("a suite per group")
            .add_test_case(case);
    }
    junit.add_test_suites(suites);
    junit.to_string().expect("JUnit XML serialises")
}
