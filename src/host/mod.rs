//! What this machine lets srpc-check see of the programs it runs, and how.
//!
//! Two modes, chosen once per run:
//!
//! - **kernel** (Linux): the process table and each process's command line and folder from
//!   `/proc`, listeners by socket inode and sock_diag, a server's threads read for verdicts by
//!   observation ([`crate::observe`]), srpc-check the subreaper of what it starts, network
//!   namespaces for `client --exec` and `grade`.
//! - **portable** (macOS and every other system, or Linux with `SRPC_CHECK_PORTABLE=1`): the
//!   process table, command lines and folders from `sysinfo`, listeners from the `listeners`
//!   crate (the socket tables of macOS, Windows and Linux), no observation (a missing reply is
//!   judged by its timeout, as before observation existed), no namespaces (a client gets a port
//!   of this machine's loopback). The server still runs in its own process group, and stopping
//!   it walks its tree and signals that group until nothing is left.
//!
//! The same calls ([`processes`], [`program`], [`listening`]) answer in both modes, so the
//! supervisor, the watch and the client checker have one code path each. The test suite runs
//! the fixture corpus in both modes and asserts the same verdicts.

#[cfg(target_os = "linux")]
mod kernel;
mod portable;

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
    match mode() {
        #[cfg(target_os = "linux")]
        Mode::Kernel => kernel::processes(),
        _ => portable::processes(),
    }
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
    match mode() {
        #[cfg(target_os = "linux")]
        Mode::Kernel => kernel::program(pid),
        _ => portable::program(pid),
    }
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

    #[test]
    fn both_modes_see_this_process_and_its_parent() {
        let me = std::process::id();
        let parent = portable::processes()
            .into_iter()
            .find(|p| p.pid == me)
            .expect("the portable table holds this process");
        assert_eq!(parent.state, State::Live);
        #[cfg(target_os = "linux")]
        {
            let kernel = kernel::processes().into_iter().find(|p| p.pid == me);
            assert_eq!(kernel, Some(parent));
            let (k, p) = (kernel::program(me).unwrap(), portable::program(me).unwrap());
            assert_eq!(k.argv, p.argv);
            assert_eq!(k.cwd, p.cwd);
            assert_eq!(k.cwd, std::env::current_dir().ok());
        }
    }

    #[cfg(unix)]
    #[test]
    fn both_modes_see_a_stopped_child_and_its_group() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        let of = |table: Vec<Proc>| table.into_iter().find(|p| p.pid == pid);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::SIGSTOP,
        )
        .unwrap();
        let mut seen = None;
        for _ in 0..500 {
            seen = of(portable::processes());
            if seen.is_some_and(|p| p.state == State::Stopped) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        #[cfg(target_os = "linux")]
        let kernel = of(kernel::processes());
        let _ = child.kill();
        let _ = child.wait();
        let want = Proc {
            pid,
            ppid: std::process::id(),
            pgid: pid,
            state: State::Stopped,
        };
        assert_eq!(seen, Some(want));
        #[cfg(target_os = "linux")]
        assert_eq!(kernel, Some(want));
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
