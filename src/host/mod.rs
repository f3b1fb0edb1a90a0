//! What this machine lets srpc-check see of the programs it runs, and how.
//!
//! Two modes, chosen once per run:
//!
//! - **kernel** (Linux): listeners by socket inode and sock_diag, a server's threads read for
//!   verdicts by observation ([`crate::observe`]), srpc-check the subreaper of what it starts,
//!   network namespaces for `client --exec` and `grade`.
//! - **portable** (macOS, or Linux with `SRPC_CHECK_PORTABLE=1`): listeners from the
//!   `listeners` crate (the socket tables of macOS, Windows and Linux), no observation (a
//!   missing reply is judged by its timeout, as before observation existed), no namespaces (a
//!   client gets a port of this machine's loopback). The server still runs in its own process
//!   group, and stopping it walks its tree and signals that group until nothing is left.
//!
//! The process table (every process's parent, group and state; a process's command line,
//! executable and folder) is the system's in both modes: `/proc` on Linux ([`linux`]), libproc
//! and sysctl on macOS ([`macos`], libSystem only, so the binary links nothing else).
//!
//! The same calls ([`processes`], [`program`], [`listening`]) answer in both modes, so the
//! supervisor, the watch and the client checker have one code path each. The test suite runs
//! the fixture corpus in both modes and asserts the same verdicts.

#[cfg(target_os = "linux")]
mod kernel;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
mod portable;
#[cfg(any(target_os = "macos", test))]
mod procargs;

#[cfg(target_os = "linux")]
use linux as system;
#[cfg(target_os = "macos")]
use macos as system;

/// Systems without a process table srpc-check reads: it sees no process (the server's own
/// group is still signalled when it stops).
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod system {
    pub fn processes() -> Vec<super::Proc> {
        Vec::new()
    }
    pub fn program(_: u32) -> Option<super::ProgramInfo> {
        None
    }
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;

/// The environment variable that makes a Linux run portable: `SRPC_CHECK_PORTABLE=1`.
pub const PORTABLE_ENV: &str = "SRPC_CHECK_PORTABLE";

/// How srpc-check sees the programs it runs on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Linux's own views: /proc, sock_diag, namespaces.
    Kernel,
    /// What a library can read on any system.
    Portable,
}

/// The mode of this run: portable off Linux, or when `SRPC_CHECK_PORTABLE` is set to anything
/// but empty or `0`.
pub fn mode() -> Mode {
    static MODE: LazyLock<Mode> = LazyLock::new(|| {
        if cfg!(target_os = "linux") && !portable_requested() {
            Mode::Kernel
        } else {
            Mode::Portable
        }
    });
    *MODE
}

fn portable_requested() -> bool {
    std::env::var_os(PORTABLE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Is this run portable?
pub fn portable() -> bool {
    mode() == Mode::Portable
}

/// Why this run is portable, in words (None on Linux's kernel mode).
pub fn why_portable() -> Option<&'static str> {
    match mode() {
        Mode::Kernel => None,
        Mode::Portable if cfg!(target_os = "linux") => Some("SRPC_CHECK_PORTABLE is set"),
        Mode::Portable if cfg!(target_os = "macos") => Some("this machine runs macOS"),
        Mode::Portable if cfg!(windows) => Some("this machine runs Windows"),
        Mode::Portable => Some("this machine does not run Linux"),
    }
}

/// What a report says, once, about verdicts on a portable machine.
pub fn note() -> Option<String> {
    why_portable().map(|why| {
        format!(
            "{why}: srpc-check cannot see what your server is doing here, so a missing reply is judged by waiting out --timeout. Verdicts are slower and less certain than on Linux; a case that times out here may pass on the grader's Linux machine, or the other way round"
        )
    })
}

/// One process of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    /// Its process group (0 when that cannot be read).
    pub pgid: u32,
    pub state: State,
    /// When it started, in the system's own unit: with the PID, it names one process, and a
    /// PID used again names another.
    pub started: u64,
}

/// What a process is doing, as far as the table tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Stopped by a signal (SIGSTOP).
    Stopped,
    /// Ended and not yet reaped.
    Zombie,
    /// Anything else: running or asleep.
    Live,
}

/// Every process of this machine that srpc-check can see, with its parent and state.
pub fn processes() -> Vec<Proc> {
    system::processes()
}

/// What a process runs, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInfo {
    /// Its command line: the program and its arguments.
    pub argv: Vec<String>,
    /// The file it executes, when that can be read.
    pub exe: Option<PathBuf>,
    /// Its current folder, when that can be read.
    pub cwd: Option<PathBuf>,
}

/// The command line, executable and folder of process `pid` (None when it is gone or cannot be
/// read).
pub fn program(pid: u32) -> Option<ProgramInfo> {
    system::program(pid)
}

/// A listening TCP socket and the process that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub pid: u32,
    pub local: SocketAddr,
}

/// The listening TCP sockets that the processes `pids` hold. `root` is the first of them (the
/// kernel mode reads the socket tables of its network namespace).
pub fn listening(root: u32, pids: &[u32]) -> Vec<Held> {
    match mode() {
        #[cfg(target_os = "linux")]
        Mode::Kernel => kernel::listening(root, pids),
        _ => {
            let _ = root;
            portable::listening(pids)
        }
    }
}

/// Every listening TCP socket of this machine (the portable lookup: every process's).
pub fn every_listener() -> Vec<SocketAddr> {
    portable::every_listener()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_table_holds_this_process_its_command_line_and_folder() {
        let me = std::process::id();
        let this = processes()
            .into_iter()
            .find(|p| p.pid == me)
            .expect("the table holds this process");
        assert_eq!(this.state, State::Live);
        assert_eq!(this.ppid, std::os::unix::process::parent_id());
        let program = program(me).unwrap();
        let args: Vec<String> = std::env::args().collect();
        assert_eq!(program.argv, args);
        assert_eq!(program.cwd, std::env::current_dir().ok());
        assert_eq!(program.exe, std::env::current_exe().ok());
    }

    #[cfg(unix)]
    #[test]
    fn the_table_shows_a_stopped_child_and_its_group() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::SIGSTOP,
        )
        .unwrap();
        let mut seen = None;
        for _ in 0..500 {
            seen = processes().into_iter().find(|p| p.pid == pid);
            if seen.is_some_and(|p| p.state == State::Stopped) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        let seen = seen.expect("the table holds the child");
        assert_eq!(
            (seen.pid, seen.ppid, seen.pgid, seen.state),
            (pid, std::process::id(), pid, State::Stopped)
        );
        let me = processes()
            .into_iter()
            .find(|p| p.pid == std::process::id())
            .unwrap();
        assert!(
            seen.started >= me.started && seen.started > 0,
            "{seen:?} {me:?}"
        );
    }

    #[test]
    fn both_modes_find_a_listener_by_its_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let me = std::process::id();
        let want = Held {
            pid: me,
            local: addr,
        };
        assert!(portable::listening(&[me]).contains(&want));
        #[cfg(target_os = "linux")]
        assert!(kernel::listening(me, &[me]).contains(&want));
        // Another process's list does not hold it.
        assert!(!portable::listening(&[1]).contains(&want));
    }
}
