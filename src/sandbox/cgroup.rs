//! Limits per submission: a cgroup for each, beneath the one srpc-check runs in.
//!
//! `--memory` is the cgroup's memory limit, which counts what the submission really uses:
//! resident memory, the page cache and the tmpfs pages it writes, summed over every process it
//! starts. `--pids` bounds how many processes and threads it may have at once. Both hold
//! however the submission forks, and neither punishes a correct server for the address space
//! its threads reserve (which a per-process RLIMIT_AS does).
//!
//! cgroup v2 is used where it is mounted with the memory controller, otherwise the v1
//! `memory` and `pids` hierarchies. In v2 a cgroup that holds processes cannot hand
//! controllers to children, so srpc-check first moves itself into a leaf of its own. The run
//! gets one parent cgroup (`srpc-check-PID`), each submission a child of it (`sub-N`),
//! removed when the submission is done.
//!
//! The kernel's files are used directly: a dozen reads and writes, with the v1/v2 differences
//! (which file holds the OOM-kill count, the peak, the swap limit) kept in one place.
//!
//! The server joins its cgroup itself, in the jail, before it runs the student's command, so
//! nothing it starts can escape the limit. When the kernel's OOM killer stops a process in
//! the cgroup, the count in `memory.oom_control` (v1) or `memory.events` (v2) says so.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Set (to anything) to grade without cgroups, as where none can be made.
pub const NO_CGROUPS_ENV: &str = "SRPC_CHECK_NO_CGROUPS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    V1,
    V2,
}

/// What a submission's processes need of its cgroup: where to join it and where the kernel
/// counts OOM kills.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CgroupSpec {
    pub version: Version,
    /// The `cgroup.procs` files to write to, one per hierarchy (v1: memory and pids).
    pub procs: Vec<PathBuf>,
    /// `memory.oom_control` (v1) or `memory.events` (v2).
    pub events: PathBuf,
    /// Whether the process count is limited by the cgroup (otherwise RLIMIT_NPROC does it).
    pub pids: bool,
}

impl CgroupSpec {
    /// Moves the calling process (and so everything it starts later) into the cgroup.
    pub fn join(&self) -> io::Result<()> {
        for procs in &self.procs {
            std::fs::write(procs, "0\n")
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", procs.display())))?;
        }
        Ok(())
    }

    /// How many processes the kernel's OOM killer has stopped in the cgroup so far.
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(&self.events)
            .ok()
            .and_then(|text| field(&text, "oom_kill"))
            .unwrap_or(0)
    }
}

/// `name N` in a flat-keyed cgroup file.
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

/// Every cgroup this run made and has not removed yet, so an interrupted run removes them too
/// (an exit on a signal runs no destructors). None once that removal has begun: no cgroup may
/// be made after it.
static MADE: Mutex<Option<Vec<PathBuf>>> = Mutex::new(Some(Vec::new()));

/// Stops what is left in every cgroup this run made, and removes them, children first.
fn remove_all() {
    let mut dirs = MADE
        .lock()
        .map(|mut m| m.take().unwrap_or_default())
        .unwrap_or_default();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    let deadline = Instant::now() + Duration::from_secs(5);
    for dir in dirs {
        empty_and_remove(&dir, deadline);
    }
}

/// SIGKILL (by PID) to each process still in the cgroup at `dir` until it is empty or
/// `deadline` passes, then removes it.
fn empty_and_remove(dir: &Path, deadline: Instant) {
    let procs = dir.join("cgroup.procs");
    loop {
        let pids: Vec<i32> = std::fs::read_to_string(&procs)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir(dir);
    if let Ok(mut m) = MADE.lock() {
        if let Some(made) = m.as_mut() {
            made.retain(|d| d != dir);
        }
    }
}

/// What each submission's cgroup allows.
#[derive(Debug, Clone, Copy)]
pub struct CgroupLimits {
    /// Bytes of memory (resident, page cache, tmpfs) for all its processes together.
    pub memory: u64,
    /// Processes and threads at once.
    pub pids: u64,
}

/// This run's parent cgroup(s), beneath srpc-check's own: removed when dropped.
#[derive(Debug)]
pub struct Cgroups {
    version: Version,
    /// v1: the memory hierarchy's, then (if mounted) the pids hierarchy's; v2: one.
    run: Vec<PathBuf>,
    pids: bool,
}

/// One submission's cgroup. [`Submission::remove`] (or dropping it) stops anything left in it
/// and removes it.
#[derive(Debug)]
pub struct Submission {
    version: Version,
    dirs: Vec<PathBuf>,
    pids: bool,
}

/// A line of /proc/self/mountinfo that mounts a cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// The hierarchy's path that is mounted (usually "/").
    root: String,
    point: PathBuf,
    /// "cgroup" or "cgroup2".
    fstype: String,
    /// The super options: for v1, the controllers.
    options: String,
}

fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split(' ').collect();
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let _source = r.next()?;
            let options = r.next().unwrap_or("");
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(Mount {
                root: unescape(fields.get(3)?),
                point: PathBuf::from(unescape(fields.get(4)?)),
                fstype: fstype.into(),
                options: options.into(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// srpc-check's own cgroup in the hierarchy that has `controller` (v1), or in the unified
/// hierarchy (`controller` None), from /proc/self/cgroup.
fn own_path(proc_cgroup: &str, controller: Option<&str>) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = match controller {
            Some(c) => controllers.split(',').any(|x| x == c),
            None => id == "0" && controllers.is_empty(),
        };
        matches.then(|| path.to_owned())
    })
}

/// Where the cgroup at `path` (as /proc/self/cgroup names it) is, under a mount.
fn dir_of(mount: &Mount, path: &str) -> Option<PathBuf> {
    let rel = if mount.root == "/" {
        path
    } else {
        path.strip_prefix(mount.root.as_str())?
    };
    Some(mount.point.join(rel.trim_start_matches('/')))
}

/// Where srpc-check can make cgroups, read from the kernel's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    V1 {
        memory: PathBuf,
        pids: Option<PathBuf>,
    },
    V2 {
        own: PathBuf,
    },
}

fn plan(mountinfo: &str, proc_cgroup: &str) -> Result<Plan, String> {
    let mounts = mounts(mountinfo);
    let v1 = |controller: &str| {
        let m = mounts
            .iter()
            .find(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == controller))?;
        dir_of(m, &own_path(proc_cgroup, Some(controller))?)
    };
    if let Some(memory) = v1("memory") {
        return Ok(Plan::V1 {
            memory,
            pids: v1("pids"),
        });
    }
    let unified = mounts
        .iter()
        .find(|m| m.fstype == "cgroup2")
        .ok_or("no cgroup hierarchy with the memory controller is mounted")?;
    let own = own_path(proc_cgroup, None)
        .and_then(|p| dir_of(unified, &p))
        .ok_or("srpc-check's own cgroup is not under the mounted cgroup2 hierarchy")?;
    Ok(Plan::V2 { own })
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Removes the `srpc-check-PID-self` leaves under `own` whose srpc-check has exited.
fn remove_stale_leaves(own: &Path) {
    let Ok(entries) = std::fs::read_dir(own) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("srpc-check-")
            .and_then(|rest| rest.strip_suffix("-self"));
        if let Some(pid) = pid {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

/// Makes the cgroup at `path` (if it is not there yet) and remembers it for removal; none is
/// made once an interrupted run has begun removing them.
fn mkdir(path: &Path) -> Result<(), String> {
    crate::server::supervisor::at_interrupt(remove_all);
    let mut made = MADE
        .lock()
        .map_err(|_| "srpc-check is stopping".to_string())?;
    let Some(made) = made.as_mut() else {
        return Err("srpc-check is stopping".into());
    };
    match std::fs::create_dir(path) {
        Ok(()) => {
            made.push(path.to_owned());
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create the cgroup {}: {e}", path.display())),
    }
}

impl Cgroups {
    /// Makes this run's parent cgroup beneath srpc-check's own; the error says why none can
    /// be made here (no cgroup filesystem, no permission, no memory controller).
    pub fn new() -> Result<Cgroups, String> {
        if std::env::var_os(NO_CGROUPS_ENV).is_some() {
            return Err(format!("{NO_CGROUPS_ENV} is set"));
        }
        let read =
            |p: &str| std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"));
        let plan = plan(&read("/proc/self/mountinfo")?, &read("/proc/self/cgroup")?)?;
        let name = format!("srpc-check-{}", std::process::id());
        match plan {
            Plan::V1 { memory, pids } => {
                let mut run = vec![memory.join(&name)];
                run.extend(pids.as_ref().map(|p| p.join(&name)));
                for (i, dir) in run.iter().enumerate() {
                    if let Err(e) = mkdir(dir) {
                        for made in &run[..i] {
                            empty_and_remove(made, Instant::now());
                        }
                        return Err(e);
                    }
                }
                Ok(Cgroups {
                    version: Version::V1,
                    pids: pids.is_some(),
                    run,
                })
            }
            Plan::V2 { own } => Cgroups::v2(&own, &name, std::process::id()),
        }
    }

    /// The v2 set-up beneath `own`: srpc-check (`pid`) moves into a leaf of its own, `own`
    /// hands the memory and pids controllers down, and the run's cgroup `name` hands them on.
    fn v2(own: &Path, name: &str, pid: u32) -> Result<Cgroups, String> {
        let controllers = std::fs::read_to_string(own.join("cgroup.controllers"))
            .map_err(|e| format!("cannot read {}: {e}", own.display()))?;
        let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
        if !has("memory") {
            return Err(format!(
                "the memory controller is not delegated to {}",
                own.display()
            ));
        }
        // No internal processes: srpc-check moves into a leaf of its own before its cgroup
        // can hand controllers to the run's.
        // The leaf holds srpc-check itself until it exits, so it is not one of the cgroups
        // removed at the end; leaves of earlier runs, empty now, are removed here.
        remove_stale_leaves(own);
        let leaf = own.join(format!("{name}-self"));
        if let Err(e) = std::fs::create_dir(&leaf) {
            if e.kind() != io::ErrorKind::AlreadyExists {
                return Err(format!("cannot create the cgroup {}: {e}", leaf.display()));
            }
        }
        write(&leaf.join("cgroup.procs"), &format!("{pid}\n"))?;
        let wanted = if has("pids") {
            "+memory +pids"
        } else {
            "+memory"
        };
        write(&own.join("cgroup.subtree_control"), wanted).map_err(|e| {
            format!(
                "{e} (other processes share srpc-check's cgroup; run it in a cgroup of its own)"
            )
        })?;
        let run = own.join(name);
        mkdir(&run)?;
        write(&run.join("cgroup.subtree_control"), wanted)?;
        Ok(Cgroups {
            version: Version::V2,
            pids: has("pids"),
            run: vec![run],
        })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// A cgroup for the submission numbered `n`, with `limits`.
    pub fn submission(&self, n: usize, limits: CgroupLimits) -> Result<Submission, String> {
        let dirs: Vec<PathBuf> = self
            .run
            .iter()
            .map(|r| r.join(format!("sub-{n}")))
            .collect();
        let sub = Submission {
            version: self.version,
            dirs,
            pids: self.pids,
        };
        for dir in &sub.dirs {
            mkdir(dir)?;
        }
        let memory = &sub.dirs[0];
        let bytes = limits.memory.to_string();
        match self.version {
            Version::V1 => {
                write(&memory.join("memory.limit_in_bytes"), &bytes)?;
                // With swap accounting, the same limit for memory and swap together.
                let memsw = memory.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &bytes)?;
                }
                if let Some(pids) = sub.dirs.get(1) {
                    write(&pids.join("pids.max"), &limits.pids.to_string())?;
                }
            }
            Version::V2 => {
                write(&memory.join("memory.max"), &bytes)?;
                for (file, value) in [("memory.swap.max", "0"), ("memory.oom.group", "1")] {
                    let path = memory.join(file);
                    if path.exists() {
                        write(&path, value)?;
                    }
                }
                if self.pids {
                    write(&memory.join("pids.max"), &limits.pids.to_string())?;
                }
            }
        }
        Ok(sub)
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in &self.run {
            empty_and_remove(dir, deadline);
        }
    }
}

impl Submission {
    /// What the submission's jail and worker need.
    pub fn spec(&self) -> CgroupSpec {
        let memory = &self.dirs[0];
        CgroupSpec {
            version: self.version,
            procs: self.dirs.iter().map(|d| d.join("cgroup.procs")).collect(),
            events: memory.join(match self.version {
                Version::V1 => "memory.oom_control",
                Version::V2 => "memory.events",
            }),
            pids: self.pids,
        }
    }

    /// The most memory its processes used together, in bytes (None where the kernel does not
    /// keep it: cgroup v2 before Linux 5.19).
    pub fn peak_memory(&self) -> Option<u64> {
        let file = match self.version {
            Version::V1 => "memory.max_usage_in_bytes",
            Version::V2 => "memory.peak",
        };
        std::fs::read_to_string(self.dirs[0].join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops whatever is still in the cgroup (each process by its PID: all of them are the
    /// submission's), waits for it to empty, and removes it.
    pub fn remove(mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in std::mem::take(&mut self.dirs) {
            empty_and_remove(&dir, deadline);
        }
    }
}

impl Drop for Submission {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO_V1: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
42 31 0:39 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const CGROUP_V1: &str = "\
8:pids:/
4:memory:/jobs/abc
0::/
";

    #[test]
    fn v1_hierarchies_are_found_where_srpc_check_runs() {
        assert_eq!(
            plan(MOUNTINFO_V1, CGROUP_V1),
            Ok(Plan::V1 {
                memory: PathBuf::from("/sys/fs/cgroup/memory/jobs/abc"),
                pids: Some(PathBuf::from("/sys/fs/cgroup/pids")),
            })
        );
    }

    #[test]
    fn a_pure_v2_machine_uses_the_unified_hierarchy() {
        let mountinfo = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let cgroup = "0::/user.slice/user-1000.slice/session-3.scope\n";
        assert_eq!(
            plan(mountinfo, cgroup),
            Ok(Plan::V2 {
                own: PathBuf::from("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope"),
            })
        );
        // A container whose cgroup namespace root is mounted: the path is relative to it.
        let mountinfo = "30 23 0:26 /docker/x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            plan(mountinfo, "0::/docker/x/grader\n"),
            Ok(Plan::V2 {
                own: PathBuf::from("/sys/fs/cgroup/grader"),
            })
        );
    }

    #[test]
    fn without_a_cgroup_filesystem_the_reason_is_given() {
        let err = plan("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "0::/\n").unwrap_err();
        assert!(err.contains("no cgroup hierarchy"), "{err}");
    }

    /// The v2 set-up cannot run on a machine whose memory controller is on v1; its sequence of
    /// files is checked on a plain folder laid out like a delegated cgroup.
    #[test]
    fn the_v2_set_up_moves_itself_to_a_leaf_and_delegates_memory_and_pids() {
        let own = crate::test_dir("cgroup-v2");
        std::fs::write(own.join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
        let cgroups = Cgroups::v2(&own, "srpc-check-7", 7).unwrap();
        let read = |p: &str| std::fs::read_to_string(own.join(p)).unwrap();
        assert_eq!(read("srpc-check-7-self/cgroup.procs"), "7\n");
        assert_eq!(read("cgroup.subtree_control"), "+memory +pids");
        assert_eq!(read("srpc-check-7/cgroup.subtree_control"), "+memory +pids");
        // A submission: its limits, and where its processes join and its OOM kills show.
        std::fs::create_dir_all(own.join("srpc-check-7/sub-3")).unwrap();
        std::fs::write(own.join("srpc-check-7/sub-3/memory.swap.max"), "max").unwrap();
        let sub = cgroups
            .submission(
                3,
                CgroupLimits {
                    memory: 256 << 20,
                    pids: 128,
                },
            )
            .unwrap();
        assert_eq!(read("srpc-check-7/sub-3/memory.max"), "268435456");
        assert_eq!(read("srpc-check-7/sub-3/memory.swap.max"), "0");
        assert_eq!(read("srpc-check-7/sub-3/pids.max"), "128");
        let spec = sub.spec();
        assert_eq!(spec.procs, [own.join("srpc-check-7/sub-3/cgroup.procs")]);
        std::fs::write(&spec.events, "oom 1\noom_kill 1\n").unwrap();
        assert_eq!(spec.oom_kills(), 1);
        std::fs::write(own.join("srpc-check-7/sub-3/memory.peak"), "1048576\n").unwrap();
        assert_eq!(sub.peak_memory(), Some(1 << 20));
        drop(sub);
        drop(cgroups);
        // Without the memory controller delegated, the reason is given.
        std::fs::write(own.join("cgroup.controllers"), "cpu pids\n").unwrap();
        let err = Cgroups::v2(&own, "srpc-check-8", 8).unwrap_err();
        assert!(err.contains("memory controller is not delegated"), "{err}");
        std::fs::remove_dir_all(&own).unwrap();
    }

    #[test]
    fn oom_kills_are_read_from_either_version_s_file() {
        assert_eq!(
            field("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"),
            Some(3)
        );
        assert_eq!(
            field(
                "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 1\n",
                "oom_kill"
            ),
            Some(2)
        );
        assert_eq!(field("oom 1\n", "oom_kill"), None);
    }
}
