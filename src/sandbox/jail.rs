//! The jail: applied by a fresh srpc-check process (`srpc-check __jail SPEC -- COMMAND...`)
//! that then replaces itself with the server's command. Running it as its own process keeps
//! the work between fork and exec trivial, and lets Landlock rules be built with ordinary code.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use landlock::{
    path_beneath_rules, Access, AccessFs, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, ABI,
};
use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use super::JailSpec;

/// Applies the limits and restrictions, then runs `command`. Returns only on failure.
pub fn exec(spec: &JailSpec, command: &[OsString]) -> String {
    // First, while the cgroup files are still writable (before Landlock and the user switch).
    if let Some(cgroup) = &spec.cgroup {
        if let Err(e) = cgroup.join() {
            return format!("cannot join the submission's cgroup: {e}");
        }
    }
    if let Err(e) = limits(spec) {
        return format!("cannot set resource limits: {e}");
    }
    match landlock(spec) {
        Ok(RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced) => {}
        Ok(RulesetStatus::NotEnforced) => {
            eprintln!("srpc-check: Landlock is not available here; file access is limited by the mounts alone")
        }
        Err(e) => return format!("cannot apply the Landlock rules: {e}"),
    }
    if let Some(uid) = spec.uid {
        let (u, g) = (Uid::from_raw(uid), Gid::from_raw(uid));
        if let Err(e) = setgroups(&[])
            .and_then(|()| setresgid(g, g, g))
            .and_then(|()| setresuid(u, u, u))
        {
            return format!("cannot switch to user {uid}: {e}");
        }
    }
    let Some((program, args)) = command.split_first() else {
        return "no command".into();
    };
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let err = Command::new(program)
        .args(args)
        .current_dir(&spec.scratch)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &spec.scratch)
        .env("TMPDIR", spec.writable.first().unwrap_or(&spec.scratch))
        .env("LANG", "C.UTF-8")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .exec();
    format!("cannot run {}: {err}", program.to_string_lossy())
}

fn limits(spec: &JailSpec) -> nix::Result<()> {
    let l = &spec.limits;
    // Without a cgroup, the fallback: each process's address space.
    if spec.cgroup.is_none() {
        setrlimit(Resource::RLIMIT_AS, l.memory, l.memory)?;
    }
    let cpu = l.cpu.as_secs().max(1);
    // SIGXCPU at the soft limit (a cause the report can name), SIGKILL a second later.
    setrlimit(Resource::RLIMIT_CPU, cpu, cpu + 1)?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    if spec.uid.is_some() && !spec.cgroup.as_ref().is_some_and(|c| c.pids) {
        setrlimit(Resource::RLIMIT_NPROC, l.pids, l.pids)?;
    }
    Ok(())
}

fn landlock(spec: &JailSpec) -> Result<RulesetStatus, landlock::RulesetError> {
    let abi = ABI::V6;
    let mut writable: Vec<PathBuf> = vec![spec.scratch.clone()];
    writable.extend(spec.writable.iter().cloned());
    let devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"]
        .into_iter()
        .map(PathBuf::from)
        .filter(|p| p.exists());
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))?
        .scope(Scope::Signal)?
        .scope(Scope::AbstractUnixSocket)?
        .create()?
        .add_rules(path_beneath_rules(
            readable_except(Path::new("/"), &spec.hidden),
            AccessFs::from_read(abi),
        ))?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))?
        .add_rules(path_beneath_rules(
            devices,
            AccessFs::from_file(abi) & !AccessFs::Execute,
        ))?
        .set_compatibility(landlock::CompatLevel::BestEffort)
        .restrict_self()?;
    Ok(status.ruleset)
}

/// Paths beneath `root` that cover everything except `hidden`: the entries of each folder on
/// the way to a hidden path, minus the hidden paths themselves. (Landlock only grants, so "all
/// but X" is spelled as the siblings of X and of each of its ancestors.)
pub fn readable_except(root: &Path, hidden: &[PathBuf]) -> Vec<PathBuf> {
    let hidden: Vec<PathBuf> = hidden
        .iter()
        .map(|h| h.canonicalize().unwrap_or_else(|_| h.clone()))
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if hidden.contains(&dir) {
            continue;
        }
        if !hidden.iter().any(|h| h.starts_with(&dir)) {
            out.push(dir);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_but_the_hidden_folders_is_listed() {
        let root = crate::test_dir("jail");
        for d in ["class/alice", "class/bob", "out", "tools"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("class/notes.txt"), "x").unwrap();
        let hidden = vec![root.join("class/bob"), root.join("out")];
        let mut got = readable_except(&root, &hidden);
        got.sort();
        let want: Vec<PathBuf> = ["class/alice", "class/notes.txt", "tools"]
            .iter()
            .map(|p| root.join(p))
            .collect();
        assert_eq!(got, want);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
