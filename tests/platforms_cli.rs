//! One submission per container, as grading platforms run it: `--gradescope`, `--classroom`,
//! and the shipped examples (Gradescope's run_autograder, the Classroom workflow).

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use common::*;
use predicates::str::contains;
use serde_json::Value;

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("platform-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn gradescope_results_score_the_run_with_the_rubric() {
    let dir = scratch("gradescope");
    let results = dir.join("results.json");
    cmd()
        .args(["--target", "builtin", "--gradescope"])
        .arg(&results)
        .assert()
        .success();
    let r = read_json(&results);
    assert_eq!(r["score"], 100.0);
    let tests = r["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 55);
    let put = tests.iter().find(|t| t["name"] == "grading/put").unwrap();
    assert_eq!(
        (put["score"].as_f64(), put["max_score"].as_f64()),
        (Some(20.0), Some(20.0))
    );
    assert_eq!(put["status"], "passed");
    assert_eq!(put["visibility"], "visible");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn classroom_result_goes_to_github_output_as_base64_json() {
    let dir = scratch("classroom");
    let output = dir.join("github_output");
    std::fs::write(&output, "earlier=1\n").unwrap();
    let assert = cmd()
        .env("GITHUB_OUTPUT", &output)
        .args([
            "--target",
            "builtin",
            "--only",
            "grading/*,robust/short-header",
        ])
        .arg("--classroom")
        .assert()
        .success()
        .stdout(contains("lab autograder cases: 3/3"));
    drop(assert);
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.starts_with("earlier=1\n"), "appends: {text}");
    let encoded = text
        .lines()
        .find_map(|l| l.strip_prefix("result="))
        .expect("a result= line");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let r: Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(r["version"], 1);
    assert_eq!(r["status"], "pass");
    // 60 for the grading group, and robust/short-header's share of 5 points over 19 cases
    // (500 hundredths over 19 cases: the first 6 get 27, the rest 26).
    assert_eq!(r["max_score"], 60.27);
    let tests = r["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 4);
    for t in tests {
        assert_eq!(t["status"], "pass");
        assert!(t["name"].is_string() && t["score"].is_number() && t["execution_time"].is_string());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn classroom_without_github_output_prints_the_result_and_moves_the_report_to_stderr() {
    let out = cmd()
        .env_remove("GITHUB_OUTPUT")
        .args(["--target", "builtin", "--only", "grading/*", "--classroom"])
        .assert()
        .success()
        .stderr(contains("lab autograder cases: 3/3"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("result="));
}

#[test]
fn a_server_that_never_starts_still_gets_gradescope_results() {
    let dir = scratch("never");
    let results = dir.join("results.json");
    cmd()
        .args([
            "--exec",
            "echo 'no module named srpc' >&2; exit 3",
            "--gradescope",
        ])
        .arg(&results)
        .assert()
        .code(1)
        .stdout(contains("exited (exit status 3) before it listened"));
    let r = read_json(&results);
    assert_eq!(r["score"], 0.0);
    let output = r["output"].as_str().unwrap();
    assert!(
        output.contains("never started") && output.contains("no module named srpc"),
        "{output}"
    );
    assert!(r["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "failed"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A server that fails every case with 36 KB of HTML, backticks and formulas in every reply
/// and in its output: the Classroom result stays far under 64 KiB (its reporter reads it from
/// one environment string, at most 128 KiB), and Gradescope's Markdown keeps that text inside
/// fences it cannot close.
#[test]
fn results_of_a_server_that_fails_everything_stay_small_and_keep_its_text_as_data() {
    let dir = scratch("hostile");
    let output = dir.join("github_output");
    let results = dir.join("results.json");
    cmd()
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .env("GITHUB_OUTPUT", &output)
        .args([
            "--exec",
            "python3 hostile_server.py",
            "--classroom",
            "--gradescope",
        ])
        .arg(&results)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&output).unwrap();
    let encoded = text
        .lines()
        .find_map(|l| l.strip_prefix("result="))
        .expect("a result= line");
    assert!(encoded.len() < 64 * 1024, "{} bytes", encoded.len());
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let r: Value = serde_json::from_slice(&decoded).unwrap();
    let tests = r["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 55);
    for t in tests {
        assert_eq!(t["status"], "fail", "{t:#}");
        let message = t["message"].as_str().unwrap();
        assert!(message.len() <= 200 && !message.contains('\n'), "{message}");
        assert!(!message.is_empty());
    }
    let g = read_json(&results);
    assert_eq!(g["output_format"], "md");
    for t in g["tests"].as_array().unwrap() {
        let out = t["output"].as_str().unwrap();
        assert!(out.contains("**Finding"), "{out}");
        assert_fenced(out, "</pre><script>");
    }
    assert!(g["output"].as_str().unwrap().contains("### Findings"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every occurrence of `needle` in the Markdown `md` lies inside a fenced block whose fence is
/// longer than any run of backticks in that block.
fn assert_fenced(md: &str, needle: &str) {
    let mut fence: Option<&str> = None;
    let mut block = String::new();
    for line in md.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match fence {
            None if ticks >= 3 && line.trim_start_matches('`').is_empty() => {
                fence = Some(line);
                block.clear();
            }
            None => assert!(!line.contains(needle), "outside a fence: {line}"),
            Some(f) if line == f => {
                let longest = block.split(|c| c != '`').map(str::len).max().unwrap_or(0);
                assert!(
                    f.len() > longest,
                    "fence {f} inside a block with {longest} backticks"
                );
                fence = None;
            }
            Some(_) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(fence.is_none(), "an unclosed fence");
}

/// Runs the shipped run_autograder with `submission` as the student's files, in a box of its
/// own (the sample binds port 4444 on this host's name).
fn run_autograder(test: &str, submission: Option<&str>) -> Value {
    run_autograder_with(test, submission, &[])
}

/// [`run_autograder`] with settings in its environment.
fn run_autograder_with(test: &str, submission: Option<&str>, env: &[(&str, &str)]) -> Value {
    let root = scratch(test);
    std::fs::create_dir_all(root.join("submission")).unwrap();
    if let Some(file) = submission {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(file),
            root.join("submission/srpc_lab.py"),
        )
        .unwrap();
    }
    let r = run_autograder_in(&root, env);
    std::fs::remove_dir_all(&root).unwrap();
    r
}

#[test]
fn gradescope_run_autograder_grades_the_sample_submission() {
    let r = run_autograder("autograder", Some("examples/sample-submission/srpc_lab.py"));
    assert_eq!(r["score"], 100.0, "{r}");
    assert_eq!(r["tests"].as_array().unwrap().len(), 55);
}

#[test]
fn gradescope_run_autograder_grades_the_client_too_when_told_how_to_run_it() {
    let r = run_autograder_with(
        "autograder-client",
        Some("examples/sample-submission/srpc_lab.py"),
        &[("SRPC_CLIENT_COMMAND", "python3 srpc_lab.py CLIENT")],
    );
    assert_eq!(r["score"], 100.0, "{r}");
    let tests = r["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 70);
    let client: Vec<&Value> = tests
        .iter()
        .filter(|t| t["name"].as_str().unwrap().starts_with("client/"))
        .collect();
    assert_eq!(client.len(), 15);
    let points: f64 = client
        .iter()
        .map(|t| t["max_score"].as_f64().unwrap())
        .sum();
    assert!((points - 15.0).abs() < 1e-9, "{points}");
}

#[test]
fn gradescope_run_autograder_scores_a_missing_server_zero() {
    let r = run_autograder("autograder-empty", None);
    assert_eq!(r["score"], 0.0);
    assert!(r["output"].as_str().unwrap().contains("srpc_lab.py"), "{r}");
}

#[test]
fn the_classroom_workflow_feeds_the_reporter_the_step_it_runs() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/classroom/classroom.yml"
    ))
    .unwrap();
    // The reporter reads <RUNNER>_RESULTS for each runner id; the step must carry that id and
    // write its result with --classroom.
    assert!(text.contains("id: srpc"));
    assert!(text.contains("SRPC_RESULTS: \"${{ steps.srpc.outputs.result }}\""));
    assert!(text.contains("runners: srpc"));
    // The client is graded in the same run when the workflow says how to run it.
    assert!(
        text.contains("${SRPC_CLIENT_COMMAND:+--client-exec \"$SRPC_CLIENT_COMMAND\"}"),
        "{text}"
    );
    assert!(text.contains("--classroom"));
    assert!(text.contains("autograding-grading-reporter@v1"));
    // It installs the wheel (seconds), never compiles srpc-check on a push.
    assert!(text.contains("pipx install \"$SRPC_CHECK_SPEC\""), "{text}");
    assert!(!text.contains("cargo"), "{text}");
}

#[test]
fn the_gradescope_setup_installs_a_wheel_and_compiles_nothing() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/gradescope/setup.sh"
    ))
    .unwrap();
    assert!(
        text.contains("srpc_check-*.whl"),
        "a wheel placed beside it"
    );
    assert!(text.contains("pip\" install"), "{text}");
    assert!(text.contains("srpc-check${SRPC_CHECK_VERSION:+==$SRPC_CHECK_VERSION}"));
    for never in ["cargo", "rustup", "build-essential"] {
        assert!(!text.contains(never), "{never}");
    }
    // It runs: `bash -n` finds no syntax error. (scripts/check-wheels.sh, in CI, runs it with
    // a real wheel.)
    let ok = std::process::Command::new("bash")
        .args([
            "-n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gradescope/setup.sh"),
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
