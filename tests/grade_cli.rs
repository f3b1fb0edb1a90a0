//! `srpc-check grade`: a class of fixture submissions (good, buggy and hostile), graded in
//! parallel, each in its own box; the outputs, the limits, the isolation, resuming, and that
//! nothing is left running.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::{json, Value};

/// Checks a Gradescope results.json: the fields the platform reads, and a score that adds up.
fn assert_gradescope(results: &Value) {
    let tests = results["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 55);
    let mut sum = 0.0;
    for t in tests {
        for field in ["name", "status", "output", "visibility"] {
            assert!(t[field].is_string(), "{field} in {t}");
        }
        assert!(["passed", "failed"].contains(&t["status"].as_str().unwrap()));
        sum += t["score"].as_f64().unwrap();
        assert!(t["score"].as_f64().unwrap() <= t["max_score"].as_f64().unwrap());
    }
    let score = results["score"].as_f64().unwrap();
    assert!((score - sum).abs() < 0.05, "{score} vs {sum}");
    assert!(results["output"].as_str().unwrap().starts_with("**Score: "));
}

#[test]
fn a_hostile_class_is_graded_in_parallel_and_contained() {
    let class = Class::new("hostile");
    let tok = format!("srpc-grade-test-{}-hostile", std::process::id());
    let victim = class.root.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    let good = class.add("good", json!({"bug": "none"}));
    std::fs::write(good.join("secret.txt"), "the-good-students-secret").unwrap();
    class.add("crashes", json!({"bug": "broken-pipe"}));
    class.add(
        "reader",
        json!({
            "bug": "none",
            "read": [good.join("secret.txt"), class.dir(), class.out(), "/proc/1/environ"],
            "env": ["SRPC_GRADER_SECRET"]
        }),
    );
    class.add(
        "writer",
        json!({"bug": "none", "write": [victim.join("escaped.txt"), good.join("pwned.txt")]}),
    );
    class.add("daemon", json!({"bug": "daemon"}));
    class.add("hog", json!({"bug": "allocate"}));
    class.add("never", json!({"bug": "never-listen"}));
    class.add("spin", json!({"bug": "spin"}));

    class
        .grade(
            &tok,
            // The spinner reaches its 2 s of CPU time, and the hog its 256 MiB, well within
            // the start-up limit even on a loaded machine, where 2 s of CPU can take several
            // seconds of wall-clock time: which limit stops them must not depend on the load.
            &[
                "--memory",
                "256M",
                "--cpu-time",
                "2s",
                "--start-timeout",
                "15s",
            ],
        )
        .success()
        .stdout(contains("8 submissions: 8 graded, 0 could not be graded"));
    assert_eq!(leftovers(&tok), Vec::<u32>::new(), "processes left behind");
    assert_eq!(stale_cgroups(), Vec::<String>::new(), "cgroups left behind");

    // Every one bound port 4444 in its own namespace, so each was graded on its merits.
    let score = |name: &str| {
        class.json(name, "submission.json")["score"]
            .as_f64()
            .unwrap()
    };
    let full = score("good");
    assert!(full > 90.0, "{full}");
    // (Not compared for equality: a busy machine may slow one case past its timeout.)
    for same in ["reader", "writer", "daemon"] {
        assert!(score(same) > 90.0, "{same}: {}", score(same));
        let grading = &class.json(same, "submission.json")["groups"][0];
        assert_eq!(
            (grading["passed"].as_u64(), grading["total"].as_u64()),
            (Some(3), Some(3))
        );
    }
    assert!(score("crashes") < full);

    // Files: nothing outside the scratch copy was written, nothing of others was read.
    assert!(!victim.join("escaped.txt").exists());
    assert!(!good.join("pwned.txt").exists());
    let writer = class.log("writer");
    assert_eq!(writer.matches(": denied (").count(), 2, "{writer}");
    let reader = class.log("reader");
    assert_eq!(reader.matches(": denied (").count(), 4, "{reader}");
    assert!(
        reader.contains("env SRPC_GRADER_SECRET: absent"),
        "{reader}"
    );
    assert!(!reader.contains("the-good-students-secret"), "{reader}");

    // Limits, in words a student understands.
    let hog = class.json("hog", "submission.json");
    assert!(hog["limit"]
        .as_str()
        .unwrap()
        .contains("more than 256 MiB of memory at start-up"));
    assert_eq!(hog["score"], 0.0);
    let spin = class.json("spin", "submission.json");
    assert!(spin["limit"]
        .as_str()
        .unwrap()
        .contains("more than 2s of CPU time at start-up"));
    let never = class.json("never", "submission.json");
    assert!(never["start_error"]
        .as_str()
        .unwrap()
        .contains("did not listen within 15s"));
    assert!(class.log("never").contains("loading the database"));

    // Per-submission outputs.
    for name in ["good", "crashes", "hog"] {
        assert_gradescope(&class.json(name, "results.json"));
        let report = class.json(name, "report.json");
        assert_eq!(report["tests"].as_array().unwrap().len(), 55);
        let junit = std::fs::read_to_string(class.out().join(name).join("junit.xml")).unwrap();
        assert!(junit.contains("<testsuite name=\"grading\""));
    }
    let crashes = class.json("crashes", "report.json");
    let event = crashes["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|t| t.get("server"))
        .expect("a crash recorded on a case");
    assert!(event["stderr_tail"]
        .as_str()
        .unwrap()
        .contains("BrokenPipeError"));
    let hog_results = class.json("hog", "results.json");
    assert!(hog_results["output"]
        .as_str()
        .unwrap()
        .contains("256 MiB of memory"));

    // The class files.
    let csv = std::fs::read_to_string(class.out().join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("submission,score,max_score,grading,protocol,state,fragment,concurrency,robust,findings,first_failure,duration_s"));
    assert_eq!(lines.count(), 8);
    assert!(csv.contains("\nhog,0,100,0/3,"));
    let html = std::fs::read_to_string(class.out().join("report.html")).unwrap();
    assert!(html.contains("Bugs in this class") && !html.contains("http"));
    // Servers that never listened are findings of their own, not 55 failures each.
    let row = |name: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .unwrap()
            .to_owned()
    };
    assert!(row("never").contains(",never-listens,"), "{}", row("never"));
    for name in ["hog", "spin"] {
        assert!(row(name).contains(",crash-at-start,"), "{}", row(name));
    }
    assert!(
        row("crashes").contains("crash-when-client-leaves"),
        "{}",
        row("crashes")
    );
}

/// A submission's folder name, output and traceback reach every class file as data: a formula
/// in the CSV is neutralised, HTML in the report is escaped, and Gradescope's Markdown keeps
/// backticks inside fences they cannot close.
#[test]
fn text_from_a_submission_is_data_in_every_class_file() {
    let class = Class::new("injection");
    let tok = format!("srpc-grade-test-{}-injection", std::process::id());
    let name = "=HYPERLINK(\"http:x\")";
    let nasty = "</pre><script>alert(1)</script> ```````` end";
    class.add(name, json!({"bug": "never-listen", "print": [nasty]}));
    class.grade(&tok, &["--start-timeout", "2s"]).success();
    let csv = std::fs::read_to_string(class.out().join("summary.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(row.starts_with("\"'=HYPERLINK("), "{row}");
    assert!(row.contains(",never-listens,"), "{row}");
    let html = std::fs::read_to_string(class.out().join("report.html")).unwrap();
    assert!(
        !html.contains("<script>alert"),
        "unescaped output in the HTML"
    );
    assert!(
        html.contains("&lt;/pre&gt;&lt;script&gt;alert(1)"),
        "the output is shown, escaped"
    );
    assert!(html.contains("=HYPERLINK(&quot;http:x&quot;)"));
    let results = class.json(name, "results.json");
    let mut seen = false;
    for t in results["tests"].as_array().unwrap() {
        let out = t["output"].as_str().unwrap();
        if let Some(at) = out.find(nasty) {
            seen = true;
            // The nearest fence above the output is longer than its run of 8 backticks.
            let fence = out[..at]
                .lines()
                .rev()
                .find(|l| l.starts_with("```"))
                .expect("a fence above the output");
            assert!(
                fence.len() > 8 && fence.chars().all(|c| c == '`'),
                "{fence}"
            );
        }
    }
    assert!(seen, "the server's output is in some test's output");
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}

#[test]
fn a_second_run_resumes_and_force_grades_again() {
    let class = Class::new("resume");
    let tok = format!("srpc-grade-test-{}-resume", std::process::id());
    class.add("a", json!({"bug": "none"}));
    class.add("b", json!({"bug": "hostname"}));
    class.grade(&tok, &[]).success();
    let first = class.json("b", "submission.json");

    // An interrupted run: b's results never got their completion mark.
    std::fs::remove_file(class.out().join("b").join("submission.json")).unwrap();
    let a_report = class.out().join("a").join("report.json");
    let stamp = std::fs::metadata(&a_report).unwrap().modified().unwrap();
    class
        .grade(&tok, &[])
        .success()
        .stderr(contains("1 of 2 submissions already graded"))
        .stderr(contains("graded b:"))
        .stderr(contains("graded a:").not());
    assert_eq!(
        std::fs::metadata(&a_report).unwrap().modified().unwrap(),
        stamp
    );
    let again = class.json("b", "submission.json");
    assert_eq!(again["submission"], first["submission"]);
    assert!(again["score"].as_f64().unwrap() > 90.0, "{again}");
    let csv = std::fs::read_to_string(class.out().join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");

    class
        .grade(&tok, &["--force"])
        .success()
        .stderr(contains("already graded").not())
        .stderr(contains("graded a:"));
    assert_ne!(
        std::fs::metadata(&a_report).unwrap().modified().unwrap(),
        stamp
    );
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}

#[test]
fn without_namespaces_it_grades_one_at_a_time_and_still_contains_files() {
    let class = Class::new("fallback");
    let tok = format!("srpc-grade-test-{}-fallback", std::process::id());
    let good = class.add("good", json!({"bug": "none"}));
    std::fs::write(good.join("secret.txt"), "fallback-secret").unwrap();
    class.add(
        "sneaky",
        json!({"bug": "none", "read": [good.join("secret.txt")], "write": [good.join("pwned.txt")]}),
    );
    let command = format!("python3 lab_server.py --port 0 --token {tok}");
    cmd()
        .env("SRPC_CHECK_NO_NAMESPACES", "1")
        .arg("grade")
        .arg(class.dir())
        .args(["--exec", &command, "--out"])
        .arg(class.out())
        .assert()
        .success()
        .stderr(contains("cannot make network namespaces here"))
        .stderr(contains("one submission at a time"));
    let log = class.log("sneaky");
    assert_eq!(
        log.matches(": denied (PermissionError)").count(),
        2,
        "{log}"
    );
    assert!(!good.join("pwned.txt").exists());
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}

#[test]
fn usage_errors_name_the_problem() {
    let class = Class::new("usage");
    class.add("a", json!({"bug": "none"}));
    let rubric = class.root.join("rubric.toml");
    std::fs::write(
        &rubric,
        "[[item]]\ngroup = \"grading\"\npoints = 50\n\n[[item]]\ncases = \"nothing/*\"\npoints = 50\n",
    )
    .unwrap();
    cmd()
        .arg("grade")
        .arg(class.dir())
        .args(["--exec", "true", "--out"])
        .arg(class.out())
        .arg("--rubric")
        .arg(&rubric)
        .assert()
        .code(2)
        .stderr(contains("line 5").and(contains("'nothing/*' matches no case")));
    cmd()
        .args(["grade", "/nonexistent/class", "--exec", "true", "--out"])
        .arg(class.out())
        .assert()
        .code(2)
        .stderr(contains("cannot open the class folder"));
    cmd()
        .args(["grade", "--print-rubric"])
        .assert()
        .success()
        .stdout(contains("[[item]]").and(contains("grading/*")));
    assert!(!class.out().join("a").exists());
}

#[test]
fn a_rubric_sets_points_and_visibility() {
    let class = Class::new("rubric");
    let tok = format!("srpc-grade-test-{}-rubric", std::process::id());
    class.add("a", json!({"bug": "none"}));
    let rubric = class.root.join("rubric.toml");
    std::fs::write(
        &rubric,
        "[[item]]\ncases = [\"grading/put\", \"grading/get-existing\"]\npoints = 8\n\n[[item]]\ngroup = \"robust\"\npoints = 2\nvisibility = \"after_due_date\"\n",
    )
    .unwrap();
    class
        .grade(&tok, &["--rubric", rubric.to_str().unwrap()])
        .success();
    let results = class.json("a", "results.json");
    assert_eq!(results["score"], 10.0);
    let tests = results["tests"].as_array().unwrap();
    let put = tests.iter().find(|t| t["name"] == "grading/put").unwrap();
    assert_eq!(
        (put["max_score"].as_f64(), put["visibility"].as_str()),
        (Some(4.0), Some("visible"))
    );
    let robust = tests
        .iter()
        .find(|t| t["name"] == "robust/short-header")
        .unwrap();
    assert_eq!(robust["visibility"], "after_due_date");
    let idle = tests
        .iter()
        .find(|t| t["name"] == "concurrency/idle-client")
        .unwrap();
    assert_eq!(
        (idle["max_score"].as_f64(), idle["status"].as_str()),
        (Some(0.0), Some("failed"))
    );
}

/// Makes a folder and everything in it usable by any user.
fn open_to_all(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(path, mode.clone()).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            open_to_all(&e.path());
        }
    }
}

#[test]
fn an_unprivileged_grader_boxes_through_user_namespaces() {
    let class = Class::new("userns");
    let tok = format!("srpc-grade-test-{}-userns", std::process::id());
    let victim = class.root.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    class.add("a", json!({"bug": "none"}));
    class.add(
        "b",
        json!({"bug": "none", "write": [victim.join("escaped.txt")]}),
    );
    std::fs::create_dir_all(class.out()).unwrap();
    open_to_all(&class.root);
    let command = format!("python3 lab_server.py --port 4444 --token {tok}");
    // As root, drop to nobody first: the grader then has neither root nor its own user IDs.
    let mut c = if nix::unistd::Uid::effective().is_root() {
        let mut c = assert_cmd::Command::new("setpriv");
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("srpc-check"));
        c
    } else {
        cmd()
    };
    c.arg("grade")
        .arg(class.dir())
        .args(["--exec", &command, "--out"])
        .arg(class.out())
        .args(["--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("2 submissions: 2 graded"))
        .stderr(contains("cannot make network namespaces").not());
    assert!(class.log("b").contains(": denied ("), "{}", class.log("b"));
    assert!(!victim.join("escaped.txt").exists());
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}

#[test]
fn an_interrupted_grade_stops_every_box_and_resumes() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let class = Class::new("sigint");
    let tok = format!("srpc-grade-test-{}-sigint", std::process::id());
    // Sequential servers that wait 5 s on an idle client, which srpc-check (with a timeout of
    // 6 s) waits out: each submission takes over 10 s and, two at a time, the class over 20 s,
    // however fast the machine. The interrupt comes within 10 s, so it surely finds the class
    // running, however slow the machine.
    for name in ["a", "b", "c", "d"] {
        class.add(name, json!({"bug": "daemon", "timeout": 5}));
    }
    let command = format!("python3 lab_server.py --port 4444 --token {tok}");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("srpc-check"))
        .arg("grade")
        .arg(class.dir())
        .args(["--exec", &command, "--out"])
        .arg(class.out())
        .args(["--jobs", "2", "--timeout", "6s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupted once the first servers (and their daemons) run, or after 10 s.
    let started = Instant::now();
    while leftovers_peek(&tok) < 3 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the class ended before it was interrupted"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(stale_cgroups(), Vec::<String>::new(), "cgroups left behind");
    assert_eq!(leftovers(&tok), Vec::<u32>::new(), "processes left behind");
    // The next run grades what was not finished, and only that.
    class
        .grade(&tok, &[])
        .success()
        .stdout(contains("4 submissions: 4 graded"));
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}

/// How many processes carry `token`, without touching them.
fn leftovers_peek(token: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(token))
        })
        .count()
}

#[test]
fn the_wall_clock_limit_names_the_case_it_stopped_before() {
    let class = Class::new("wall");
    let tok = format!("srpc-grade-test-{}-wall", std::process::id());
    // A single-threaded server that waits 1.9 s on an idle client (within srpc-check's 2 s, so
    // it is waited for) spends 3.8 s in the concurrency group alone: past a 2 s limit.
    class.add("a", json!({"bug": "none", "timeout": 1.9}));
    class.grade(&tok, &["--wall-time", "2s"]).success();
    let graded = class.json("a", "submission.json");
    let limit = graded["limit"].as_str().expect("a limit was hit");
    assert!(
        limit.contains("wall-clock limit of 2s for the whole submission, before "),
        "{limit}"
    );
    let report = class.json("a", "report.json");
    let stopped = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "not_run")
        .expect("cases after the limit are not run");
    assert!(limit.ends_with(&format!("before {} ran", stopped["id"].as_str().unwrap())));
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}

#[test]
fn client_exec_adds_the_client_cases_with_their_share_of_the_points() {
    let class = Class::new("client");
    let tok = format!("srpc-grade-test-{}-client", std::process::id());
    for (name, client_bug) in [("good", "none"), ("header", "header-single-recv")] {
        let dir = class.add(name, json!({"bug": "none", "client_bug": client_bug}));
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lab_client.py"),
            dir.join("lab_client.py"),
        )
        .unwrap();
    }
    let client = format!("python3 lab_client.py --token {tok}");
    class.grade(&tok, &["--client-exec", &client]).success();
    assert_eq!(leftovers(&tok), Vec::<u32>::new());

    let good = class.json("good", "report.json");
    let client_tests: Vec<&Value> = good["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["group"] == "client")
        .collect();
    assert_eq!(client_tests.len(), 15);
    assert!(client_tests.iter().all(|t| t["status"] == "pass"), "{good}");

    // The same server; the default rubric gives the client 15 points, one a case, and the
    // header bug fails 8 of them.
    let score = |name: &str| {
        class.json(name, "submission.json")["score"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(class.json("good", "submission.json")["max_score"], 100.0);
    let lost = score("good") - score("header");
    assert!((lost - 8.0).abs() < 1e-9, "{lost}");
    let report = class.json("header", "report.json");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "client-header-single-recv")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(finding["location"]["file"], "lab_client.py");
    assert_eq!(finding["location"]["text"], "header = conn.recv(8)");
    let results = class.json("header", "results.json");
    let split = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "client/header-split-1")
        .unwrap();
    assert_eq!(split["status"], "failed");
    let info = class.json_at("grade.json");
    assert_eq!(info["client_command"], client.as_str());
    // The class summary gains a column for the client group.
    let csv = std::fs::read_to_string(class.out().join("summary.csv")).unwrap();
    assert!(
        csv.starts_with("submission,score,max_score,grading,protocol,state,fragment,concurrency,robust,client,findings,"),
        "{csv}"
    );
    assert!(csv.contains(",7/15,"), "{csv}");
    let html = std::fs::read_to_string(class.out().join("report.html")).unwrap();
    assert!(
        html.contains("client command <code>python3 lab_client.py"),
        "{html}"
    );
}
