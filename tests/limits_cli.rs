//! Limits per submission (`grade --memory`, `--pids`): a cgroup for each submission, so memory
//! is counted over all its processes and its scratch files, and a correct server's threads are
//! not punished for the address space they reserve. Where no cgroup can be made, the fallback
//! limits each process's address space, and says so.

mod common;

use common::*;
use serde_json::json;

/// Whether this test process may make cgroups (root, on a machine with a memory hierarchy).
fn cgroups_here() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let mounted = std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines().any(|l| {
            l.contains(" - cgroup2 ") || (l.contains(" - cgroup ") && l.contains("memory"))
        })
    });
    root && mounted
}

/// The peak memory column of a summary.csv row, in MiB.
fn peak_mib(csv_text: &str, name: &str) -> f64 {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "peak_memory_mib")
        .expect("a peak_memory_mib column");
    let row = reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[0] == name)
        .unwrap();
    row[at].parse().unwrap_or_else(|_| panic!("{row:?}"))
}

#[test]
fn memory_is_limited_per_submission_and_threads_are_not_punished() {
    if !cgroups_here() {
        eprintln!("skipped: making cgroups needs root and a cgroup memory hierarchy");
        return;
    }
    let class = Class::new("cgroups");
    let tok = format!("srpc-limits-test-{}-cgroups", std::process::id());
    class.add("good", json!({"bug": "none"}));
    // 8 children of 32 MiB each: 256 MiB together, each far under the limit alone.
    class.add("children", json!({"bug": "none", "children": [8, 32]}));
    // A correct server with a pool of 64 threads: 512 MiB of stacks reserved, little used.
    class.add("threads", json!({"bug": "none", "threads": 64}));
    // 200 MiB written to its own (tmpfs) folder.
    class.add("fills", json!({"bug": "none", "fill": 200}));
    let out = class
        .grade(&tok, &["--memory", "128M"])
        .success()
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8_lossy(&out);
    assert!(!stderr.contains("cannot make cgroups"), "{stderr}");

    let sub = |name: &str| class.json(name, "submission.json");
    let report = |name: &str| class.json(name, "report.json");
    let codes = |name: &str| -> Vec<String> {
        report(name)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };

    // The children together exceed the limit: stopped, and said so.
    let limit = sub("children")["limit"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        limit.contains("(with the processes it started) used more than 128 MiB of memory"),
        "{limit}"
    );
    assert!(codes("children").contains(&"memory-limit".to_string()));
    // The threaded server passes as the good one does.
    assert_eq!(sub("threads")["score"], sub("good")["score"]);
    assert!(!codes("threads").contains(&"memory-limit".to_string()));
    assert!(class.log("threads").contains("started 64 threads"));
    // Filling the scratch folder is held by the same limit.
    let fills = sub("fills");
    assert!(
        fills["limit"]
            .as_str()
            .unwrap_or_default()
            .contains("used more than 128 MiB of memory"),
        "{fills:#}"
    );
    assert!(!class.log("fills").contains("wrote 200 MiB"));

    // Peak memory is recorded, and no submission's exceeds the limit.
    let csv = std::fs::read_to_string(class.out().join("summary.csv")).unwrap();
    for name in ["good", "children", "threads", "fills"] {
        let peak = peak_mib(&csv, name);
        assert!(peak > 1.0 && peak <= 128.0, "{name}: {peak} MiB");
    }
    let html = std::fs::read_to_string(class.out().join("report.html")).unwrap();
    assert!(html.contains("peak memory"));
    assert!(html.contains("<code>memory-limit</code>"));

    assert_eq!(leftovers(&tok), Vec::<u32>::new());
    assert_eq!(stale_cgroups(), Vec::<String>::new());
}

#[test]
fn without_cgroups_the_fallback_limits_each_process_and_says_so() {
    let class = Class::new("no-cgroups");
    let tok = format!("srpc-limits-test-{}-fallback", std::process::id());
    class.add("threads", json!({"bug": "none", "threads": 64}));
    let out = common::cmd()
        .env("SRPC_CHECK_NO_CGROUPS", "1")
        .arg("grade")
        .arg(class.dir())
        .args([
            "--exec",
            &format!("python3 lab_server.py --port 4444 --token {tok}"),
            "--out",
        ])
        .arg(class.out())
        .args(["--memory", "256M", "--jobs", "1"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8_lossy(&out);
    assert_eq!(
        stderr.matches("cannot make cgroups here").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("address space"), "{stderr}");
    // Each process's address space: 64 thread stacks do not fit in 256 MiB of it.
    assert!(
        class.log("threads").contains("can't start new thread"),
        "{}",
        class.log("threads")
    );
    let csv = std::fs::read_to_string(class.out().join("summary.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(row.contains("crash-at-start"), "{row}");
    assert_eq!(leftovers(&tok), Vec::<u32>::new());
}
