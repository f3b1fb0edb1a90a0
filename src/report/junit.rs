//! `--junit FILE`: JUnit XML for CI systems. One testsuite per group; a failure carries the
//! message, and its text the hint, expected and actual values.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::RunReport;
use crate::suite::Status;

pub fn render(report: &RunReport) -> String {
    let mut junit = Report::new("srpc-check");
    let mut suites: Vec<TestSuite> = Vec::new();
    for o in &report.outcomes {
        let group = o.group.name();
        if suites.last().map(|s| s.name.as_str()) != Some(group) {
            suites.push(TestSuite::new(group));
        }
        let status = match o.status {
            Status::Pass | Status::Warn => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(o.message.clone());
                let mut text = String::new();
                for (label, v) in [
                    ("likely cause", &o.hint),
                    ("expected", &o.expected),
                    ("actual", &o.actual),
                ] {
                    if let Some(v) = v {
                        text.push_str(&format!("{label}: {v}\n"));
                    }
                }
                s.set_description(text);
                s
            }
            Status::Skip | Status::NotRun => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(o.message.clone());
                s
            }
        };
        let mut case = TestCase::new(o.id, status);
        case.set_classname(format!("srpc.{group}"));
        case.set_time(o.duration);
        if o.status == Status::Warn {
            case.set_system_out(format!("warning: {}", o.message));
        }
        if let Some(e) = &o.server {
            case.set_system_err(super::human::server_event(e, ""));
        }
        suites
            .last_mut()
            .expect("a suite per group")
            .add_test_case(case);
    }
    junit.add_test_suites(suites);
    junit.to_string().expect("JUnit XML serialises")
}
