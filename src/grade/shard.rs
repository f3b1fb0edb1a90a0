//! A class graded across machines: `--partition hash:K/N` grades the submissions whose name
//! hashes to shard K of N (cargo-nextest's convention), and `--merge` builds one class's
//! summary.csv and report.html from the shards' OUT folders.
//!
//! The hash is FNV-1a (64-bit) of the submission's folder name, modulo N: it depends on the name
//! alone, so adding a submission moves no other. Each OUT records how it was graded in
//! `grade.json` (command, seed, rubric, shard, submissions), which the merge checks and reads.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::results;
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::outcome::class::Row;
use crate::outcome::rubric::Rubric;

/// Where a shard's number K comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardIndex {
    /// Given: 1 to N.
    Given(u32),
    /// A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`, 0 to N-1.
    Kubernetes,
    /// A Slurm job array: `SLURM_ARRAY_TASK_ID`, counted from `SLURM_ARRAY_TASK_MIN`.
    Slurm,
}

/// `--partition hash:K/N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub index: ShardIndex,
    pub count: u32,
}

/// The environment variable a Kubernetes Indexed Job sets in each pod.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// The environment variables a Slurm job array sets in each task.
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";

impl Partition {
    /// Parses `hash:K/N`, where K is 1..=N, `k8s` or `slurm`.
    pub fn parse(text: &str) -> std::result::Result<Partition, String> {
        let usage = || {
            format!("{text:?}: give hash:K/N, with K from 1 to N (or k8s, or slurm, to read it from {K8S_INDEX} or {SLURM_ID}), e.g. hash:2/3")
        };
        let rest = text.strip_prefix("hash:").ok_or_else(usage)?;
        let (k, n) = rest.split_once('/').ok_or_else(usage)?;
        let count: u32 = n.parse().map_err(|_| usage())?;
        if count == 0 {
            return Err(usage());
        }
        let index = match k {
            "k8s" => ShardIndex::Kubernetes,
            "slurm" => ShardIndex::Slurm,
            _ => {
                let k: u32 = k.parse().map_err(|_| usage())?;
                if k == 0 || k > count {
                    return Err(usage());
                }
                ShardIndex::Given(k)
            }
        };
        Ok(Partition { index, count })
    }

    /// This shard's number, 1 to N, reading the environment when asked to.
    pub fn shard(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<u32> {
        let read = |name: &str| -> Result<i64> {
            let value = env(name).ok_or_else(|| {
                Error::Usage(format!(
                    "--partition asks for {name}, which is not set here"
                ))
            })?;
            value
                .trim()
                .parse()
                .map_err(|_| Error::Usage(format!("{name} is {value:?}, not a number")))
        };
        let k = match self.index {
            ShardIndex::Given(k) => i64::from(k),
            ShardIndex::Kubernetes => read(K8S_INDEX)? + 1,
            ShardIndex::Slurm => {
                let min = if env(SLURM_MIN).is_some() {
                    read(SLURM_MIN)?
                } else {
                    0
                };
                read(SLURM_ID)? - min + 1
            }
        };
        if k < 1 || k > i64::from(self.count) {
            return Err(Error::Usage(format!(
                "this is shard {k}, but there are {} (shards are 1 to {})",
                self.count, self.count
            )));
        }
        Ok(k as u32)
    }
}

/// The shard (1 to `count`) a submission belongs to.
pub fn shard_of(name: &str, count: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(count)) as u32 + 1
}

/// How an OUT folder was graded: `OUT/grade.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeInfo {
    pub tool: String,
    pub version: String,
    pub command: String,
    /// The protocol the servers were checked in (`--protocol`).
    #[serde(default = "crate::protocol::default_name")]
    pub protocol: String,
    /// `--client-exec`: the client command, when the client cases were run too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_command: Option<String>,
    pub seed: u64,
    /// The rubric's TOML text.
    pub rubric: String,
    /// `[K, N]` for a shard.
    pub shard: Option<[u32; 2]>,
    /// Every submission this OUT grades, by name.
    pub submissions: Vec<String>,
}

pub const INFO_FILE: &str = "grade.json";

impl GradeInfo {
    pub fn read(out: &Path) -> Result<GradeInfo> {
        let path = out.join(INFO_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Usage(format!(
                "{} is not the OUT folder of a grade ({}: {e})",
                out.display(),
                path.display()
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))
    }
}

/// The class files' rows for `names` in OUT: a submission in `ungraded` (name, why) is shown as
/// not graded, else by its results in OUT, else as not graded for want of them.
pub fn rows_of(out: &Path, names: &[String], ungraded: &[(String, String)]) -> Vec<Row> {
    names
        .iter()
        .map(|name| {
            let why = ungraded.iter().find(|(n, _)| n == name).map(|(_, r)| r);
            match (why, results::read_submission(&out.join(name))) {
                (None, Some((g, doc))) => Row::Graded(Box::new(g), Box::new(doc)),
                (why, _) => Row::Ungraded {
                    submission: name.clone(),
                    reason: why
                        .cloned()
                        .unwrap_or_else(|| "its results are missing".into()),
                },
            }
        })
        .collect()
}

/// Why submissions were not graded, from an OUT folder's summary.csv.
fn ungraded_reasons(out: &Path) -> Vec<(String, String)> {
    let Ok(mut reader) = csv::Reader::from_path(out.join("summary.csv")) else {
        return Vec::new();
    };
    let Ok(header) = reader.headers().cloned() else {
        return Vec::new();
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(sub), Some(note)) = (column("submission"), column("note")) else {
        return Vec::new();
    };
    reader
        .records()
        .flatten()
        .filter_map(|r| {
            let reason = r.get(note)?.strip_prefix("not graded: ")?;
            Some((r.get(sub)?.to_owned(), reason.to_owned()))
        })
        .collect()
}

/// `grade --merge SHARD... --out OUT`: the shards' submission folders copied into OUT, and the
/// class files written from them, as one run over the whole class would.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<u8> {
    let infos: Vec<GradeInfo> = shards
        .iter()
        .map(|s| GradeInfo::read(s))
        .collect::<Result<_>>()?;
    let first = &infos[0];
    for (info, dir) in infos.iter().zip(shards) {
        let differs = |what: &str| {
            Error::Usage(format!(
                "{} was graded with another {what} than {}; shards must be graded alike",
                dir.display(),
                shards[0].display()
            ))
        };
        if info.command != first.command {
            return Err(differs("--exec"));
        }
        if info.protocol != first.protocol {
            return Err(differs("--protocol"));
        }
        if info.client_command != first.client_command {
            return Err(differs("--client-exec"));
        }
        if info.seed != first.seed {
            return Err(differs("--seed"));
        }
        if info.rubric != first.rubric {
            return Err(differs("rubric"));
        }
    }
    let count = match first.shard {
        Some([_, n]) => n,
        None => {
            return Err(Error::Usage(format!(
                "{} was not graded with --partition",
                shards[0].display()
            )))
        }
    };
    let mut seen = vec![None::<&Path>; count as usize];
    for (info, dir) in infos.iter().zip(shards) {
        let Some([k, n]) = info.shard else {
            return Err(Error::Usage(format!(
                "{} was not graded with --partition",
                dir.display()
            )));
        };
        if n != count {
            return Err(Error::Usage(format!(
                "{} is a shard of {n}, {} of {count}",
                dir.display(),
                shards[0].display()
            )));
        }
        if let Some(other) = seen[k as usize - 1].replace(dir) {
            return Err(Error::Usage(format!(
                "{} and {} are both shard {k} of {count}",
                other.display(),
                dir.display()
            )));
        }
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(Error::Usage(format!(
            "shard {} of {count} is missing: give every shard's OUT folder",
            missing + 1
        )));
    }
    let protocol = crate::protocol::by_name(&first.protocol).ok_or_else(|| {
        Error::Usage(format!(
            "{} was graded in protocol '{}', which this srpc-check does not know",
            shards[0].display(),
            first.protocol
        ))
    })?;
    let cases = crate::grade::case_keys(protocol, first.client_command.is_some());
    let rubric = Rubric::parse(&first.rubric, INFO_FILE, &cases).map_err(Error::Usage)?;
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io(format!("cannot create {}", out.display()), e))?;
    let mut rows = Vec::new();
    let mut names = Vec::new();
    for (info, dir) in infos.iter().zip(shards) {
        for name in &info.submissions {
            let from = dir.join(name);
            if from.is_dir() {
                copy_dir(&from, &out.join(name))?;
            }
        }
        rows.extend(rows_of(dir, &info.submissions, &ungraded_reasons(dir)));
        names.extend(info.submissions.iter().cloned());
    }
    rows.sort_by(|a, b| a.name().cmp(b.name()));
    names.sort();
    let info = GradeInfo {
        shard: None,
        submissions: names,
        ..first.clone()
    };
    finish_class(out, &rows, &rubric, &info, Some(shards.len()))
}

/// Writes the class files (summary.csv, report.html, grade.json) of a class, a shard of one,
/// or (`merged` from that many shards) a merge, says so on stdout, and returns the exit code:
/// 0 when every submission was graded, 1 when some could not be.
pub fn finish_class(
    out: &Path,
    rows: &[Row],
    rubric: &Rubric,
    info: &GradeInfo,
    merged: Option<usize>,
) -> Result<u8> {
    let write = crate::report::write_file;
    write(
        &out.join("summary.csv"),
        &crate::report::csv::summary_csv(rows),
    )?;
    write(
        &out.join("report.html"),
        &crate::report::html::render(rows, rubric, &info.command, info.client_command.as_deref()),
    )?;
    write(
        &out.join(INFO_FILE),
        &(serde_json::to_string_pretty(info).expect("serialises") + "\n"),
    )?;
    let bad = rows
        .iter()
        .filter(|r| matches!(r, Row::Ungraded { .. }))
        .count();
    let what = match merged {
        None => format!("{} submissions:", rows.len()),
        Some(shards) => format!("{shards} shards merged: {} submissions,", rows.len()),
    };
    crate::report::write_stdout(&format!(
        "{what} {} graded, {} could not be graded. Results in {} (summary.csv, report.html)\n",
        rows.len() - bad,
        bad,
        out.display()
    ))?;
    Ok(if bad == 0 { EXIT_OK } else { EXIT_FAILED })
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let io = |e| {
        Error::io(
            format!("cannot copy {} to {}", from.display(), to.display()),
            e,
        )
    };
    std::fs::create_dir_all(to).map_err(io)?;
    for entry in std::fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        let kind = entry.file_type().map_err(io)?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_say_what_they_need() {
        assert_eq!(
            Partition::parse("hash:2/3").unwrap(),
            Partition {
                index: ShardIndex::Given(2),
                count: 3
            }
        );
        assert_eq!(
            Partition::parse("hash:k8s/4").unwrap().index,
            ShardIndex::Kubernetes
        );
        for bad in [
            "hash:0/3",
            "hash:4/3",
            "hash:1/0",
            "count:1/3",
            "hash:1",
            "hash:x/2",
        ] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let k8s = Partition::parse("hash:k8s/3").unwrap();
        assert_eq!(k8s.shard(&env(&[(K8S_INDEX, "0")])).unwrap(), 1);
        assert_eq!(k8s.shard(&env(&[(K8S_INDEX, "2")])).unwrap(), 3);
        assert!(k8s.shard(&env(&[(K8S_INDEX, "3")])).is_err());
        assert!(k8s.shard(&env(&[])).is_err());
        let slurm = Partition::parse("hash:slurm/3").unwrap();
        assert_eq!(
            slurm
                .shard(&env(&[(SLURM_ID, "1"), (SLURM_MIN, "1")]))
                .unwrap(),
            1
        );
        assert_eq!(slurm.shard(&env(&[(SLURM_ID, "2")])).unwrap(), 3);
    }

    #[test]
    fn a_name_keeps_its_shard_whatever_else_is_in_the_class() {
        // FNV-1a 64 of the name, modulo N, plus one: fixed values, so a change is noticed.
        assert_eq!(shard_of("", 7), (0xcbf2_9ce4_8422_2325u64 % 7) as u32 + 1);
        let names: Vec<String> = (0..300).map(|i| format!("student-{i:03}")).collect();
        let mut counts = [0; 3];
        for name in &names {
            let k = shard_of(name, 3);
            assert!((1..=3).contains(&k));
            counts[k as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c > 70), "{counts:?}");
    }
}
