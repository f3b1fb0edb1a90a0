//! The command line explains itself: every command's help ends with examples and its exit codes,
//! and mistakes get a usage error that says what to do.

mod common;

use common::*;
use predicates::prelude::*;

const COMMANDS: [&[&str]; 8] = [
    &[],
    &["call"],
    &["client"],
    &["grade"],
    &["bench"],
    &["fuzz"],
    &["list"],
    &["explain"],
];

fn help(command: &[&str], flag: &str) -> String {
    let out = cmd().args(command).arg(flag).output().unwrap();
    assert!(out.status.success(), "{command:?} {flag}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_command_helps_with_examples_and_exit_codes() {
    for command in COMMANDS {
        let long = help(command, "--help");
        let short = help(command, "-h");
        assert_eq!(
            long.lines().next(),
            short.lines().next(),
            "{command:?}: -h and --help start alike"
        );
        for text in [&long, &short] {
            let examples = text
                .find("Examples:")
                .unwrap_or_else(|| panic!("{command:?}: {text}"));
            let codes = text
                .find("Exit codes:")
                .unwrap_or_else(|| panic!("{command:?}: {text}"));
            assert!(examples < codes, "{command:?}");
            assert!(text.contains("  0  "), "{command:?}: {text}");
            let example = format!("srpc-check {}", command.join(" "));
            assert!(text[examples..].contains(example.trim_end()), "{command:?}");
        }
    }
}

#[test]
fn grade_shows_its_required_arguments_and_bench_promises_no_restarts() {
    let grade = help(&["grade"], "--help");
    assert!(
        grade.contains("Usage: srpc-check grade <DIR> --exec <COMMAND> --out <OUT>"),
        "{grade}"
    );
    // Listed as required under Arguments too.
    assert!(grade.contains("\n  <DIR>  The class folder"), "{grade}");
    assert!(!grade.contains("[DIR]"), "{grade}");
    let bench = help(&["bench"], "--help");
    assert!(!bench.contains("restart"), "{bench}");
}

#[test]
fn a_rubric_without_an_output_that_scores_is_a_usage_error() {
    cmd()
        .args(["--target", "builtin", "--rubric", "rubric.toml"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--gradescope").and(predicate::str::contains("--classroom")),
        );
}

#[test]
fn an_address_that_refuses_says_how_to_let_srpc_check_start_the_server() {
    let port = closed_port();
    let addr = format!("127.0.0.1:{port}");
    let out = cmd().args(["--target", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--exec '"), "{err}");
    assert_eq!(
        err.matches(&addr).count(),
        1,
        "the address is said once: {err}"
    );
}

#[test]
fn grade_makes_no_out_folder_when_it_refuses_to_start() {
    let dir = tempdir("no-out");
    let out = dir.join("out");
    cmd()
        .args([
            "grade",
            dir.join("missing").to_str().unwrap(),
            "--exec",
            "true",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    assert!(!out.exists());
}
