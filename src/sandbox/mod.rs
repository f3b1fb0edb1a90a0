//! What a submission's server may do, when `srpc-check grade` runs untrusted code.
//!
//! Two layers, each in its own file:
//! - [`namespaces`]: a box per submission. The grading worker starts in fresh network, mount,
//!   PID, UTS and IPC namespaces (plus a user namespace when srpc-check is not root). It is
//!   PID 1 there, so when it exits every process the submission left behind dies with it,
//!   whatever it did with `setsid()` or SIGTERM. Its loopback is its own, so every submission
//!   can bind port 4444 at once, and the checks run inside the same namespace. The class folder
//!   and the output folder are covered by empty read-only mounts; the submission runs from a
//!   private copy of its own folder in a private `/tmp`.
//! - [`cgroup`]: limits per submission. Each gets a cgroup beneath srpc-check's own, with the
//!   memory limit (resident memory, page cache and tmpfs pages of all its processes together)
//!   and a pids limit; the kernel's OOM-kill count says when the memory limit stopped it.
//! - [`jail`]: the last step before the server's command runs: joining the submission's
//!   cgroup, resource limits (CPU time and core files; address space and processes only where
//!   no cgroup could be made), Landlock (write only beneath the scratch copy; no read of the
//!   class or output folders; no signals out of the box), a fresh environment without the
//!   grader's variables, and, when srpc-check runs as root, an unprivileged user.
//!
//! Where namespaces cannot be made (no root and no user namespaces), grading falls back to one
//! submission at a time on the shared loopback, with the jail alone.

#[cfg(target_os = "linux")]
pub mod cgroup;
#[cfg(target_os = "linux")]
pub mod jail;
#[cfg(target_os = "linux")]
pub mod namespaces;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the grader allows one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// Memory of the whole submission, in bytes (its cgroup's limit; without a cgroup, the
    /// address space of each process).
    pub memory: u64,
    /// Processes and threads of the whole submission at once.
    #[serde(default = "default_pids")]
    pub pids: u64,
    /// CPU time of each process.
    pub cpu: Duration,
    /// Wall-clock time for the whole submission: start-up, every case and every restart.
    pub wall: Duration,
}

fn default_pids() -> u64 {
    128
}

/// Everything the jail needs to run one server command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JailSpec {
    pub limits: Limits,
    /// The scratch copy: the only place the server may write.
    pub scratch: PathBuf,
    /// Also writable (a private /tmp inside the box).
    pub writable: Vec<PathBuf>,
    /// Never readable: the class folder, the output folder, other scratch copies.
    pub hidden: Vec<PathBuf>,
    /// Run as this user and group (when srpc-check is root).
    pub uid: Option<u32>,
    /// The submission's cgroup, which the server joins before it runs; None where no cgroup
    /// could be made (then rlimits bound each process).
    #[cfg(target_os = "linux")]
    #[serde(default)]
    pub cgroup: Option<cgroup::CgroupSpec>,
}

/// Words a student understands for a limit that stopped their server, from how it ended and
/// what it printed. `oom_killed`: the kernel's OOM killer stopped a process of the submission
/// (its cgroup's memory limit). `when` is "at start-up" or "during grading/put".
pub fn limit_hit(
    limits: &Limits,
    status: &str,
    output: &str,
    oom_killed: bool,
    when: &str,
) -> Option<String> {
    if oom_killed {
        return Some(format!(
            "your server (with the processes it started) used more than {} of memory {when}, and was stopped",
            bytes(limits.memory)
        ));
    }
    let memory = output.contains("MemoryError")
        || output.contains("Cannot allocate memory")
        || output.contains("std::bad_alloc");
    if memory {
        return Some(format!(
            "your server used more than {} of memory {when} (the grader's memory limit), and stopped",
            bytes(limits.memory)
        ));
    }
    // `sh -c` reports a child killed by signal 24 as exit status 152.
    if status.contains("SIGXCPU") || status == "exit status 152" {
        return Some(format!(
            "your server used more than {} of CPU time {when} (the grader's CPU-time limit), and was stopped",
            humantime::format_duration(limits.cpu)
        ));
    }
    None
}

/// 1 GiB, 512 MiB, 1000 bytes.
pub fn bytes(n: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if n >= GIB && n.is_multiple_of(GIB) {
        format!("{} GiB", n / GIB)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// "1G", "512M", "1GiB", "1000000" as bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (try 1G, 512M)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}': unknown unit (try 1G, 512M)")),
    };
    n.checked_mul(mult)
        .filter(|v| *v >= 16 << 20)
        .ok_or_else(|| format!("'{s}': give at least 16M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_print() {
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert!(parse_bytes("1x").is_err());
        assert!(parse_bytes("1K").is_err());
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(256 << 20), "256 MiB");
    }

    #[test]
    fn limits_are_named_in_plain_words() {
        let limits = Limits {
            memory: 1 << 30,
            pids: 128,
            cpu: Duration::from_secs(30),
            wall: Duration::from_secs(120),
        };
        let m = limit_hit(
            &limits,
            "exit status 1",
            "Traceback...\nMemoryError\n",
            false,
            "at start-up",
        )
        .unwrap();
        assert!(m.contains("more than 1 GiB of memory at start-up"), "{m}");
        let c = limit_hit(
            &limits,
            "signal 24 (SIGXCPU)",
            "",
            false,
            "during grading/put",
        )
        .unwrap();
        assert!(c.contains("30s of CPU time during grading/put"), "{c}");
        assert!(limit_hit(&limits, "exit status 152", "", false, "at start-up").is_some());
        assert!(limit_hit(&limits, "exit status 1", "KeyError", false, "at start-up").is_none());
        let o = limit_hit(
            &limits,
            "signal 9 (SIGKILL)",
            "",
            true,
            "during state/floats",
        )
        .unwrap();
        assert_eq!(o, "your server (with the processes it started) used more than 1 GiB of memory during state/floats, and was stopped");
    }
}
