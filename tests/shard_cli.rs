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

/// A folder of commands the examples call: srpc-check itself, and a `sudo` that just runs its
/// arguments (the test already runs as the user it needs).
fn bin_dir(root: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("srpc-check"),
        bin.join("srpc-check"),
    )
    .unwrap();
    std::fs::write(bin.join("sudo"), "#!/bin/sh\nexec \"$@\"\n").unwrap();
    std::fs::set_permissions(bin.join("sudo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/sharded")
            .join(name),
    )
    .unwrap()
}

/// Runs `script` with bash in `dir`, the example's commands first on PATH.
fn bash(dir: &Path, bin: &Path, script: &str, env: &[(&str, String)]) {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let status = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

/// The text between `from` and `to` in `text`.
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from:?}")) + from.len();
    let end = start
        + text[start..]
            .find(to)
            .unwrap_or_else(|| panic!("no {to:?}"));
    &text[start..end]
}

#[test]
fn the_shipped_examples_grade_their_shards_and_merge_into_one_run() {
    let class = Class::new("examples");
    for (i, bug) in ["none", "one-shot", "broken-pipe", "none"]
        .iter()
        .enumerate()
    {
        class.add(&format!("s{i}-{bug}"), json!({ "bug": bug }));
    }
    let whole = class.root.join("whole");
    grade(&class.dir(), &whole, &["--seed", "2026"]).success();
    let want = rows(&whole);
    let bin = bin_dir(&class.root);
    let command = ("SRPC_COMMAND", COMMAND.to_owned());

    // GitHub Actions: the matrix's grade step for each shard, then the merge job's step.
    let gha_dir = class.root.join("gha");
    std::fs::create_dir_all(&gha_dir).unwrap();
    std::os::unix::fs::symlink(class.dir(), gha_dir.join("submissions")).unwrap();
    let gha = example("github-actions.yml");
    assert!(gha.contains("shard: [1, 2, 3]") && gha.contains("SHARDS: \"3\""));
    let step = between(&gha, "of ${{ env.SHARDS }}\n", "      - uses:");
    let step = step.split_once("run: |\n").expect("a run block").1;
    for k in 1..=3 {
        let script = step.replace("${{ matrix.shard }}", &k.to_string());
        let env = [
            command.clone(),
            ("SHARDS", "3".into()),
            ("SEED", "2026".into()),
        ];
        bash(&gha_dir, &bin, &script, &env);
    }
    let merge = between(&gha, "- name: Merge the shards\n", "\n");
    let merge = merge.trim().strip_prefix("run: ").unwrap();
    bash(&gha_dir, &bin, merge, &[]);
    assert_eq!(rows(&gha_dir.join("results")), want, "GitHub Actions");

    // Kubernetes: each pod's command with its JOB_COMPLETION_INDEX, the volume at `root`.
    let k8s = example("k8s-indexed-job.yaml");
    assert!(k8s.contains("completions: 3") && k8s.contains("completionMode: Indexed"));
    let args = between(&k8s, "- >-\n", "          volumeMounts:");
    let pod: String = args.split_whitespace().collect::<Vec<_>>().join(" ");
    let pod = pod
        .strip_prefix("pip install --quiet srpc-check && ")
        .expect("the pod installs srpc-check first");
    let root = class.root.join("k8s");
    std::fs::create_dir_all(root.join("shards")).unwrap();
    let volume = |text: &str| {
        text.replace("/class/shards", root.join("shards").to_str().unwrap())
            .replace("/class/results", root.join("results").to_str().unwrap())
            .replace("/class/submissions", class.dir().to_str().unwrap())
    };
    let pod = volume(pod).replace("'python3 srpc_lab.py SERVER'", &format!("'{COMMAND}'"));
    for index in 0..3 {
        bash(
            &root,
            &bin,
            &pod,
            &[("JOB_COMPLETION_INDEX", index.to_string())],
        );
    }
    let merge = volume(between(&k8s, "# Then, once:  ", "\n"));
    bash(&root, &bin, &merge, &[]);
    assert_eq!(rows(&root.join("results")), want, "Kubernetes");

    // Slurm: the array's script for each task id, then the merge it names.
    let slurm_dir = class.root.join("slurm");
    std::fs::create_dir_all(&slurm_dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sharded/slurm-array.sh");
    let slurm = example("slurm-array.sh");
    assert!(slurm.contains("#SBATCH --array=1-3"));
    for id in 1..=3 {
        let env = [
            command.clone(),
            ("CLASS", class.dir().to_str().unwrap().to_owned()),
            ("SLURM_ARRAY_TASK_ID", id.to_string()),
            ("SLURM_ARRAY_TASK_MIN", "1".into()),
        ];
        bash(
            &slurm_dir,
            &bin,
            &format!("bash {}", script.display()),
            &env,
        );
    }
    let merge = between(&slurm, "--wrap '", "'");
    bash(&slurm_dir, &bin, merge, &[]);
    assert_eq!(rows(&slurm_dir.join("results")), want, "Slurm");
}
