//! The process table and the listeners as libraries read them on any system: `sysinfo` for
//! processes (libproc on macOS, /proc on Linux, the Tool Help API on Windows), `listeners` for
//! the TCP sockets they listen on.

use std::collections::HashSet;
use std::net::SocketAddr;

use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

use super::{Held, Proc, ProgramInfo, State};

fn table(pids: ProcessesToUpdate<'_>, what: ProcessRefreshKind) -> System {
    // Read and let go: no file of another process stays open between looks.
    sysinfo::set_open_files_limit(0);
    let mut system = System::new();
    system.refresh_processes_specifics(pids, true, what);
    system
}

/// Every process with its parent and state.
pub fn processes() -> Vec<Proc> {
    let system = table(ProcessesToUpdate::All, ProcessRefreshKind::nothing());
    system
        .processes()
        .iter()
        // Linux's threads appear as tasks of their process, not as processes.
        .filter(|(_, p)| p.thread_kind() != Some(sysinfo::ThreadKind::Userland))
        .map(|(pid, p)| Proc {
            pid: pid.as_u32(),
            ppid: p.parent().map_or(0, |pp| pp.as_u32()),
            pgid: group(pid.as_u32()),
            state: match p.status() {
                ProcessStatus::Zombie | ProcessStatus::Dead => State::Zombie,
                ProcessStatus::Stop | ProcessStatus::Tracing => State::Stopped,
                _ => State::Live,
            },
        })
        .collect()
}

#[cfg(unix)]
fn group(pid: u32) -> u32 {
    nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid as i32)))
        .map_or(0, |g| g.as_raw() as u32)
}

#[cfg(not(unix))]
fn group(_: u32) -> u32 {
    0
}

/// Its command line, executable and folder.
pub fn program(pid: u32) -> Option<ProgramInfo> {
    let id = sysinfo::Pid::from_u32(pid);
    let system = table(
        ProcessesToUpdate::Some(&[id]),
        ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::Always)
            .with_exe(UpdateKind::Always)
            .with_cwd(UpdateKind::Always),
    );
    let p = system.process(id)?;
    Some(ProgramInfo {
        argv: p
            .cmd()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        exe: p.exe().map(|e| e.to_path_buf()),
        cwd: p.cwd().map(|c| c.to_path_buf()),
    })
}

/// Every listening TCP socket that a process holds.
pub fn every_listener() -> Vec<SocketAddr> {
    listeners::get_all()
        .map(|all| {
            all.into_iter()
                .filter(|l| l.protocol == listeners::Protocol::TCP)
                .map(|l| l.socket)
                .collect()
        })
        .unwrap_or_default()
}

/// The listening TCP sockets that `pids` hold.
pub fn listening(pids: &[u32]) -> Vec<Held> {
    let pids: HashSet<u32> = pids.iter().copied().collect();
    let Ok(all) = listeners::get_all() else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|l| l.protocol == listeners::Protocol::TCP && pids.contains(&l.process.pid))
        .map(|l| Held {
            pid: l.process.pid,
            local: l.socket,
        })
        .collect()
}
