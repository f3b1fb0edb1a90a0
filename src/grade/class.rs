//! The orchestrator: finds the submissions, runs a worker per submission `--jobs` at a time,
//! each in its own box, writes each one's results as it finishes, then the class files.

use std::collections::{BTreeSet, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use super::results;
use super::worker::{WorkerResult, WorkerSpec};
use crate::error::{Error, Result};
use crate::outcome::rubric::Rubric;
use crate::sandbox::cgroup::{CgroupLimits, Cgroups};
use crate::sandbox::namespaces::{self, Mode};
use crate::sandbox::Limits;
use crate::server::supervisor;

/// The first unprivileged user ID the servers run as (one per job slot, when root).
const FIRST_UID: u32 = 61_000;
/// How long past its own limits a worker may run before the orchestrator kills it.
const BACKSTOP: Duration = Duration::from_secs(60);

pub struct GradeOptions {
    pub dir: PathBuf,
    pub command: String,
    /// `--client-exec`: the client command, whose cases run after the server's.
    /// The protocol the servers are checked in (`--protocol`).
    pub protocol: String,
    pub client_command: Option<String>,
    pub out: PathBuf,
    pub jobs: usize,
    pub rubric: Rubric,
    pub force: bool,
    pub limits: Limits,
    pub start_timeout: Duration,
    pub timeout: Duration,
    pub split_pause: Duration,
    pub seed: u64,
    /// The rubric's TOML text, recorded in OUT/grade.json.
    pub rubric_text: String,
    /// Grade only shard K of N: `(K, N)`.
    pub shard: Option<(u32, u32)>,
}

enum Done {
    Graded(String, f64, f64, Duration),
    Ungraded(String, String),
}

pub fn run(opts: GradeOptions) -> Result<u8> {
    let dir = opts.dir.canonicalize().map_err(|e| {
        Error::Usage(format!(
            "cannot open the class folder {}: {e}",
            opts.dir.display()
        ))
    })?;
    // OUT is made only once the command is known to be usable.
    let out = std::path::absolute(&opts.out)
        .map_err(|e| Error::io(format!("cannot open {}", opts.out.display()), e))?;
    let out = out.canonicalize().unwrap_or(out);
    if dir.starts_with(&out) {
        return Err(Error::Usage(format!(
            "the class folder {} is inside the output folder {}",
            dir.display(),
            out.display()
        )));
    }
    let mut subs = submissions(&dir, &out)?;
    if let Some((k, n)) = opts.shard {
        subs.retain(|name| super::shard::shard_of(name, n) == k);
        eprintln!(
            "srpc-check: shard {k} of {n}: {} submissions of the class",
            subs.len()
        );
    }
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::io(format!("cannot create {}", out.display()), e))?;
    let mode = namespaces::probe();
    let mut jobs = opts.jobs.max(1);
    if let Mode::Unavailable(why) = &mode {
        eprintln!(
            "srpc-check: cannot make network namespaces here ({why}); grading one submission at a time on the shared loopback, with resource limits and Landlock only"
        );
        jobs = 1;
    }
    let todo: Vec<String> = subs
        .iter()
        .filter(|name| opts.force || results::read_submission(&out.join(name)).is_none())
        .cloned()
        .collect();
    if todo.len() < subs.len() {
        eprintln!(
            "srpc-check: {} of {} submissions already graded in {} are kept (--force grades them again)",
            subs.len() - todo.len(),
            subs.len(),
            out.display()
        );
    }
    let cgroups = match Cgroups::new() {
        Ok(c) => Some(c),
        Err(why) => {
            eprintln!(
                "srpc-check: cannot make cgroups here ({why}); --memory limits each process's address space instead of the whole submission, and --pids the processes of the user each server runs as"
            );
            None
        }
    };
    let scratch_root = std::env::temp_dir().join(format!("srpc-grade-{}", std::process::id()));
    let ctx = Ctx {
        opts: &opts,
        dir: &dir,
        out: &out,
        mode: &mode,
        scratch_root: &scratch_root,
        cgroups: cgroups.as_ref(),
        next_cgroup: AtomicUsize::new(0),
    };
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let pb = indicatif::ProgressBar::new(todo.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} graded, {elapsed} so far, ~{eta} left  running: {msg}",
            )
            .expect("valid progress template"),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let queue = Mutex::new(todo.iter().cloned().collect::<VecDeque<_>>());
    let running = Mutex::new(BTreeSet::new());
    let (tx, rx) = mpsc::channel();
    let mut ungraded: Vec<(String, String)> = Vec::new();
    std::thread::scope(|s| {
        for slot in 0..jobs.min(todo.len()) {
            let (tx, queue, running, ctx, bar) = (tx.clone(), &queue, &running, &ctx, &bar);
            s.spawn(move || loop {
                let Some(name) = queue.lock().expect("queue").pop_front() else {
                    break;
                };
                let show = |running: &BTreeSet<String>| {
                    bar.set_message(running.iter().cloned().collect::<Vec<_>>().join(", "))
                };
                {
                    let mut r = running.lock().expect("running");
                    r.insert(name.clone());
                    show(&r);
                }
                let done = ctx.grade_one(&name, slot as u32);
                {
                    let mut r = running.lock().expect("running");
                    r.remove(&name);
                    show(&r);
                }
                if tx.send(done).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for done in rx {
            bar.inc(1);
            let line = match &done {
                Done::Graded(name, score, max, took) => {
                    format!("graded {name}: {score}/{max} in {:.1}s", took.as_secs_f64())
                }
                Done::Ungraded(name, why) => format!("could not grade {name}: {why}"),
            };
            if tty {
                bar.println(line);
            } else {
                eprintln!("{line}");
            }
            if let Done::Ungraded(name, why) = done {
                ungraded.push((name, why));
            }
        }
    });
    bar.finish_and_clear();
    // Interrupted: the boxes were stopped, so what they left is no class result to write.
    supervisor::wait_if_interrupted();
    let _ = std::fs::remove_dir_all(&scratch_root);
    let rows = super::shard::rows_of(&out, &subs, &ungraded);
    let info = super::shard::GradeInfo {
        tool: "srpc-check".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: opts.command.clone(),
        protocol: opts.protocol.clone(),
        client_command: opts.client_command.clone(),
        seed: opts.seed,
        rubric: opts.rubric_text.clone(),
        shard: opts.shard.map(|(k, n)| [k, n]),
        submissions: subs.clone(),
    };
    super::shard::finish_class(&out, &rows, &opts.rubric, &info, None)
}

/// The subfolders of the class folder, by name; hidden ones and the output folder are not
/// submissions.
fn submissions(dir: &Path, out: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Usage(format!(
            "cannot read the class folder {}: {e}",
            dir.display()
        ))
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.path() != out)
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "{} has no submissions: each submission is a subfolder",
            dir.display()
        )));
    }
    Ok(names)
}

struct Ctx<'a> {
    opts: &'a GradeOptions,
    dir: &'a Path,
    out: &'a Path,
    mode: &'a Mode,
    scratch_root: &'a Path,
    /// This run's parent cgroup, where one could be made.
    cgroups: Option<&'a Cgroups>,
    /// Numbers the submissions' cgroups.
    next_cgroup: AtomicUsize,
}

impl Ctx<'_> {
    fn grade_one(&self, name: &str, slot: u32) -> Done {
        let started = Instant::now();
        let dest = self.out.join(name);
        match self.run_worker(name, slot, &dest) {
            Ok((r, peak_memory)) => {
                let took = started.elapsed();
                match results::write_submission(
                    &dest,
                    &r.doc,
                    &self.opts.rubric,
                    &r.server_log,
                    crate::outcome::class::Notes {
                        limit: r.limit,
                        start_error: r.start_error,
                        peak_memory,
                    },
                    took.as_millis() as u64,
                ) {
                    Ok(g) => Done::Graded(name.into(), g.score, g.max_score, took),
                    Err(e) => Done::Ungraded(name.into(), format!("cannot write its results: {e}")),
                }
            }
            Err(why) => Done::Ungraded(name.into(), why),
        }
    }

    fn run_worker(
        &self,
        name: &str,
        slot: u32,
        dest: &Path,
    ) -> std::result::Result<(WorkerResult, Option<u64>), String> {
        let opts = self.opts;
        let boxed = self.mode.boxed();
        // Made before the worker starts, removed (with anything left in it) when it is done.
        let cgroup = match self.cgroups {
            Some(c) => {
                let n = self.next_cgroup.fetch_add(1, Ordering::Relaxed);
                let limits = CgroupLimits {
                    memory: opts.limits.memory,
                    pids: opts.limits.pids,
                };
                Some(c.submission(n, limits)?)
            }
            None => None,
        };
        let _ = std::fs::remove_file(dest.join("submission.json"));
        std::fs::create_dir_all(dest)
            .map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
        let spec = WorkerSpec {
            name: name.into(),
            submission: self.dir.join(name),
            command: opts.command.clone(),
            protocol: opts.protocol.clone(),
            client_command: opts.client_command.clone(),
            boxed,
            hide: vec![self.dir.to_path_buf(), self.out.to_path_buf()],
            scratch: if boxed {
                Path::new("/tmp").join(name)
            } else {
                self.scratch_root.join(name)
            },
            uid: (*self.mode == Mode::Root).then_some(FIRST_UID + slot),
            limits: opts.limits.clone(),
            cgroup: cgroup.as_ref().map(|c| c.spec()),
            start_timeout: opts.start_timeout,
            timeout: opts.timeout,
            split_pause: opts.split_pause,
            seed: opts.seed,
        };
        let result_path = dest.join(".worker-result.json");
        let stderr_path = dest.join(".worker-stderr.txt");
        let open = |p: &Path| {
            std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
        };
        let mut cmd = Command::new("/proc/self/exe");
        // The worker shares a user with the server in a user namespace: it carries none of the
        // grader's environment (tokens, for one).
        cmd.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("LANG", "C.UTF-8")
            .arg("__grade-worker")
            .arg(serde_json::to_string(&spec).expect("spec serialises"))
            .stdin(Stdio::null())
            .stdout(open(&result_path)?)
            .stderr(open(&stderr_path)?);
        namespaces::enter_on_spawn(&mut cmd, self.mode);
        let mut child = supervisor::spawn_tracked(&mut cmd)
            .map_err(|e| format!("cannot start its grading worker: {e}"))?;
        let limit = opts.limits.wall + opts.start_timeout + BACKSTOP;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > limit => {
                    supervisor::kill_tracked(&mut child);
                    return Err(format!(
                        "its grading worker was still running after {}, and was stopped",
                        humantime::format_duration(Duration::from_secs(limit.as_secs()))
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("lost its grading worker: {e}")),
            }
        };
        supervisor::untrack(child.id());
        let text = std::fs::read_to_string(&result_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let _ = std::fs::remove_file(&result_path);
        let _ = std::fs::remove_file(&stderr_path);
        if !boxed {
            let _ = std::fs::remove_dir_all(self.scratch_root.join(name));
        }
        let peak = cgroup.as_ref().and_then(|c| c.peak_memory());
        if let Some(c) = cgroup {
            c.remove();
        }
        let result = serde_json::from_str(&text).map_err(|_| {
            format!(
                "its grading worker failed ({}): {}",
                supervisor::describe(status),
                supervisor::tail(stderr.trim(), 2000)
            )
        })?;
        Ok((result, peak))
    }
}
