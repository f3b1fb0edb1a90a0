//! srpc-check against Python servers written the way students write them, each with one bug:
//! the bug fails its own group (and grading, where the lab's autograder would fail it too), and
//! the report names the likely cause.

mod common;

use common::*;

/// Checks a fixture: which groups fail, one failing case and a phrase of its hint, and the case
/// after which the server went down (if it did).
fn expect(bug: &str, groups: &[&str], case: &str, hint: &str, down_after: Option<&str>) {
    let fixture = Fixture::start(bug);
    let (code, report) = check_json(&fixture.addr.to_string(), &[]);
    assert_eq!(code, 1, "{bug}: a failing run exits 1");
    let want: std::collections::BTreeSet<String> = groups.iter().map(|g| g.to_string()).collect();
    assert_eq!(
        failing_groups(&report),
        want,
        "{bug}: failing groups; report: {report:#}"
    );
    let t = test_by_id(&report, case);
    assert_eq!(t["status"], "fail", "{bug}: {case} should fail: {t:#}");
    let text = format!("{} {}", t["message"], t["hint"]);
    assert!(
        text.contains(hint),
        "{bug}: {case} should say {hint:?}, said {text}"
    );
    assert_eq!(
        report["target_down_after"].as_str(),
        down_after,
        "{bug}: target_down_after"
    );
    if down_after.is_some() {
        assert!(report["summary"]["not_run"].as_u64().unwrap() > 0);
    }
}

#[test]
fn a_correct_student_server_passes_everything() {
    let fixture = Fixture::start("none");
    let (code, report) = check_json(&fixture.addr.to_string(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(
        report["summary"]["passed"],
        report["tests"].as_array().unwrap().len()
    );
}

#[test]
fn single_recv() {
    expect(
        "single-recv",
        &["fragment"],
        "fragment/header-split-3",
        "reads the header with a single recv()",
        None,
    );
}

#[test]
fn single_recv_4096() {
    expect(
        "recv-4096",
        &["fragment"],
        "fragment/payload-split",
        "reads the payload with a single recv()",
        None,
    );
}

#[test]
fn state_that_does_not_persist() {
    expect(
        "no-persist",
        &["grading", "state"],
        "state/persistence",
        "dictionary created inside",
        None,
    );
}

#[test]
fn missing_key_answered_with_error() {
    expect(
        "missing-error",
        &["grading"],
        "grading/get-missing",
        "answered with ERROR",
        None,
    );
}

#[test]
fn missing_key_error_is_accepted_by_the_flag() {
    let fixture = Fixture::start("missing-error");
    let (code, report) = check_json(&fixture.addr.to_string(), &["--allow-missing-error"]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn value_stored_as_a_string() {
    expect(
        "str-value",
        &["grading", "state"],
        "state/integers",
        "came back as a string",
        None,
    );
}

#[test]
fn double_encoded_reply() {
    expect(
        "double-encode",
        &["grading", "protocol"],
        "protocol/reply-json",
        "json.dumps twice",
        None,
    );
}

#[test]
fn big_endian_header() {
    expect(
        "big-endian",
        &["grading", "protocol"],
        "protocol/reply-header",
        "big-endian",
        None,
    );
}

#[test]
fn reply_without_header() {
    expect(
        "no-header",
        &["grading", "protocol"],
        "protocol/reply-header",
        "no 8-byte header",
        None,
    );
}

#[test]
fn length_counting_characters() {
    expect(
        "char-length",
        &["protocol"],
        "protocol/reply-length-non-ascii",
        "counts characters",
        None,
    );
}

#[test]
fn length_too_long() {
    expect(
        "length-plus-one",
        &["protocol"],
        "protocol/reply-length",
        "off by one",
        None,
    );
}

#[test]
fn no_close_after_reply() {
    expect(
        "no-close",
        &["protocol"],
        "protocol/close-after-reply",
        "never closes the connection",
        None,
    );
}

#[test]
fn status_in_the_wrong_case() {
    expect(
        "status-case",
        &["grading", "protocol"],
        "protocol/status-spelling",
        "case-sensitive",
        None,
    );
}

#[test]
fn put_merges_instead_of_replacing() {
    expect("merge", &["state"], "state/overwrite", "merge", None);
}

#[test]
fn sequential_server_blocked_by_an_idle_client() {
    expect(
        "sequential",
        &["concurrency"],
        "concurrency/idle-client",
        "one connection at a time",
        None,
    );
}

#[test]
fn crash_on_unknown_func() {
    expect(
        "crash-unknown",
        &["protocol"],
        "protocol/unknown-func",
        "stopped answering",
        Some("protocol/unknown-func"),
    );
}

#[test]
fn crash_on_an_empty_connection() {
    expect(
        "crash-empty",
        &["robust"],
        "robust/empty-connection",
        "connection that sent nothing",
        Some("robust/empty-connection"),
    );
}
