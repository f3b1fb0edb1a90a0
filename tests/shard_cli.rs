//! A class graded as 3 shards and merged gives what one run over the whole class gives:
//! the same rows and scores in summary.csv (timings aside), the same submission folders.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

const COMMAND: &str = "python3 lab_server.py --port 4444";

fn grade(dir: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let seed = if extra.contains(&"--seed") {
        &[][..]
    } else {
        &["--seed", "7"][..]
    };
    cmd()
        .arg("grade")
        .arg(dir)
        .args(["--exec", COMMAND, "--out"])
        .arg(out)
        .args(["--jobs", "2"])
        .args(seed)
        .args(extra)
        .assert()
}

/// summary.csv's rows without the columns that measure time and memory.
fn rows(out: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let keep: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(*h, "duration_s" | "peak_memory_mib"))
        .map(|(i, _)| i)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            keep.iter().map(|&i| r[i].to_owned()).collect()
        })
        .collect()
}

fn folders(out: &Path) -> Vec<(String, Vec<String>)> {
    let mut found: Vec<(String, Vec<String>)> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let mut files: Vec<String> = std::fs::read_dir(e.path())
                .unwrap()
                .flatten()
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            (e.file_name().to_string_lossy().into_owned(), files)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn three_shards_merged_are_one_run() {
    let class = Class::new("shards");
    let bugs = [
        "none",
        "one-shot",
        "broken-pipe",
        "be-error",
        "none",
        "hang",
        "none",
    ];
    for (i, bug) in bugs.iter().enumerate() {
        class.add(&format!("student-{i}-{bug}"), json!({ "bug": bug }));
    }
    let whole = class.root.join("whole");
    grade(&class.dir(), &whole, &[]).success();

    let shards: Vec<PathBuf> = (1..=3)
        .map(|k| class.root.join(format!("shard-{k}")))
        .collect();
    let mut graded = 0;
    for (k, shard) in shards.iter().enumerate() {
        grade(
            &class.dir(),
            shard,
            &["--partition", &format!("hash:{}/3", k + 1)],
        )
        .success();
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shard.join("grade.json")).unwrap())
                .unwrap();
        assert_eq!(info["shard"], json!([k + 1, 3]));
        graded += info["submissions"].as_array().unwrap().len();
        assert_eq!(
            rows(shard).len(),
            info["submissions"].as_array().unwrap().len()
        );
    }
    assert_eq!(graded, bugs.len(), "every submission in exactly one shard");

    let merged = class.root.join("merged");
    let mut merge = cmd();
    merge
        .args(["grade", "--merge"])
        .args(&shards)
        .arg("--out")
        .arg(&merged);
    merge.assert().success();
    assert_eq!(rows(&merged), rows(&whole));
    assert_eq!(folders(&merged), folders(&whole));
    let html = std::fs::read_to_string(merged.join("report.html")).unwrap();
    for i in 0..bugs.len() {
        assert!(html.contains(&format!("student-{i}-")), "{i}");
    }

    // A missing shard, or shards graded differently, are refused before anything is written.
    let refused = class.root.join("refused");
    cmd()
        .args(["grade", "--merge"])
        .args(&shards[..2])
        .arg("--out")
        .arg(&refused)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("shard 3 of 3 is missing"));
    assert!(!refused.exists());
    let other_seed = class.root.join("other-seed");
    grade(
        &class.dir(),
        &other_seed,
        &["--partition", "hash:3/3", "--seed", "8"],
    )
    .success();
    cmd()
        .args(["grade", "--merge"])
        .args(&shards[..2])
        .arg(&other_seed)
        .arg("--out")
        .arg(&refused)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--seed"));
}
