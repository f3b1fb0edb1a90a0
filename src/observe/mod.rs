//! Verdicts by observation: for a server srpc-check runs itself, the kernel shows what the
//! server is doing, so a missing reply is judged from that instead of by waiting out a timeout.
//!
//! While a connection waits for a reply, [`Watch::look`] reads each thread of the server's
//! process tree ([`proc`]: blocked in `accept`, in a `recv` with no timeout, in a `poll` with a
//! timeout of T, running) and what the kernel holds for the connection (sock_diag: accepted yet
//! or still in the accept queue, and whether the server has read every byte sent). [`judge`]
//! turns that into one of:
//!
//! - [`Seen::Busy`]: something may still happen; keep waiting (the timeout stays the bound);
//! - [`Seen::Never`]: nothing can happen: every thread is blocked with no timeout, and no
//!   thread will ever get to this connection or send anything on it;
//! - [`Seen::Within`]: nothing can happen before the earliest timeout T of a blocked thread
//!   (CPython's `settimeout`). The rule on T: if T is longer than `--timeout`, the reply cannot
//!   come within the timeout and the verdict is given now, naming T; if it is not, the wait is
//!   stretched to T plus `--timeout`, so the server's own timeout always expires first, on an
//!   idle machine and on a loaded one alike.
//!
//! A conclusion counts only when two looks a few milliseconds apart agree, on the threads and
//! on the connection's byte counts. Where `/proc` cannot be read (a remote target, no right
//! to trace the server, the portable mode of [`crate::host`]: macOS, or
//! `SRPC_CHECK_PORTABLE=1`), nothing is concluded and the timeouts decide; [`Watch::observed`]
//! says which, for the report.
//!
//! Races are forced rather than hoped for: [`Watch::pause`] holds the server still while a
//! client leaves, so the server meets a client that has completely gone, every time.

pub mod doing;
#[cfg(target_os = "linux")]
pub mod proc;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use doing::{Doing, Thread};

/// Every thread of the processes `pids`, or None where they cannot be read: not permitted, or a
/// portable run ([`crate::host`]) that has no /proc to read them from.
fn threads(pids: &[u32]) -> Option<Vec<Thread>> {
    if crate::host::portable() {
        return None;
    }
    #[cfg(target_os = "linux")]
    return proc::threads(pids);
    #[cfg(not(target_os = "linux"))]
    return {
        let _ = pids;
        None
    };
}

/// Has every process of `pids` stopped (by SIGSTOP), or ended? On Linux, every thread of each;
/// elsewhere, as the process table shows it.
fn all_stopped(pids: &[u32]) -> bool {
    #[cfg(target_os = "linux")]
    if !crate::host::portable() {
        return proc::all_stopped(pids);
    }
    let table = crate::host::processes();
    pids.iter().all(|pid| {
        table
            .iter()
            .find(|p| p.pid == *pid)
            .is_none_or(|p| p.state != crate::host::State::Live)
    })
}

/// What the server's threads and our connection show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Something may still happen.
    Busy,
    /// Nothing will ever happen on this connection, and why, in words.
    Never(String),
    /// Nothing can happen before this long; why, in words.
    Within(Duration, String),
}

/// The server's end of our connection, as the kernel shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ours {
    /// 0 while it waits in the accept queue.
    pub inode: u64,
    /// The server has read every byte sent on it.
    pub read_all: bool,
    /// Bytes sent on it so far.
    pub sent: u64,
}

/// Decides from one look. `listeners` are the server's listening sockets' inodes.
pub fn judge(threads: &[Thread], ours: Ours, listeners: &[u64]) -> Seen {
    if threads.is_empty()
        || threads
            .iter()
            .any(|t| matches!(t.doing, Doing::Running | Doing::Other(_)))
    {
        return Seen::Busy;
    }
    let wake = threads.iter().filter_map(|t| t.doing.wakes_within()).min();
    if wake == Some(Duration::ZERO) {
        return Seen::Busy;
    }
    let on = |t: &Thread, inode: u64| match &t.doing {
        Doing::Read { inode: i } | Doing::Accept { inode: i } => *i == Some(inode),
        Doing::Poll { inodes, .. } => inodes.contains(&inode),
        _ => false,
    };
    let what = if ours.inode == 0 {
        // Not accepted yet: does any thread stand ready to accept it?
        let accepting = threads.iter().any(|t| {
            matches!(t.doing, Doing::Accept { .. })
                || matches!(&t.doing, Doing::Poll { inodes, .. } if inodes.is_empty() || inodes.iter().any(|i| listeners.contains(i)))
        });
        if accepting {
            return Seen::Busy;
        }
        let busy_with = threads
            .iter()
            .find_map(|t| match &t.doing {
                Doing::Read { inode: Some(_) } => {
                    Some("is blocked in recv() on another connection")
                }
                Doing::Poll { .. } => Some("waits for another connection to send"),
                _ => None,
            })
            .unwrap_or("is blocked elsewhere");
        format!(
            "the server {busy_with} and has not accepted this one (it waits in the listen queue)"
        )
    } else {
        if !ours.read_all {
            return Seen::Busy;
        }
        let sent = crate::words::count(ours.sent as usize, "byte");
        if threads.iter().any(|t| on(t, ours.inode)) {
            format!(
                "the server has read all {sent} sent on this connection and waits to receive more"
            )
        } else {
            format!("the server has read all {sent} sent on this connection and no thread is serving it any more")
        }
    };
    match wake {
        None => Seen::Never(format!("{what}, with no timeout")),
        Some(t) => Seen::Within(t, what),
    }
}

/// How long [`Watch::settle`] waits for a server whose threads it cannot read.
pub const UNSEEN_SETTLE: Duration = Duration::from_millis(100);

/// Two looks this far apart must agree before a conclusion counts.
pub const CONFIRM: Duration = Duration::from_millis(5);

/// The watch over one run's server: which process tree to look at (it changes when the
/// server is restarted) and what was seen, shared by every connection of the run.
#[derive(Debug, Clone, Default)]
pub struct Watch(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// The server's root process (0: none, nothing to observe).
    root: AtomicU32,
    /// A look at the server succeeded at least once.
    observed: AtomicBool,
    /// A look failed for want of rights: stop trying.
    refused: AtomicBool,
    /// Waits that ended because a timeout expired.
    expired: AtomicU32,
}

impl Watch {
    /// A watch on nothing yet (a remote target): every wait runs to its timeout.
    pub fn new() -> Watch {
        Watch::default()
    }

    /// Watch this process tree from now on (None: stop watching).
    /// Whether its threads can be read is tried at once, so the report can say whether
    /// verdicts were observed even when no wait needed a look.
    pub fn set_root(&self, pid: Option<u32>) {
        self.0.root.store(pid.unwrap_or(0), Ordering::Relaxed);
        if let Some(pid) = pid {
            match threads(&crate::server::supervisor::alive_tree(pid)) {
                Some(_) => self.0.observed.store(true, Ordering::Relaxed),
                None => self.0.refused.store(true, Ordering::Relaxed),
            }
        }
    }

    /// Were verdicts judged by observation (the server's threads could be read)?
    pub fn observed(&self) -> bool {
        self.0.observed.load(Ordering::Relaxed)
    }

    /// Is there a server to look at?
    pub fn active(&self) -> bool {
        self.0.root.load(Ordering::Relaxed) != 0 && !self.0.refused.load(Ordering::Relaxed)
    }

    /// Counts a wait that ended because its timeout expired.
    pub fn expired(&self) {
        self.0.expired.fetch_add(1, Ordering::Relaxed);
    }

    /// How many waits ended because their timeout expired.
    pub fn timeouts_expired(&self) -> u32 {
        self.0.expired.load(Ordering::Relaxed)
    }

    /// Holds the server still (SIGSTOP to every process of its tree) until the returned guard
    /// is dropped, so that what a client does meanwhile is complete before the server can act
    /// on it: a race that depends on who is first is then decided the same way every time.
    /// None when there is no server to hold, or it did not stop within `within`.
    pub fn pause(&self, within: Duration) -> Option<Paused> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        // Needs no look at the threads: stopping works wherever signals do.
        let root = self.0.root.load(Ordering::Relaxed);
        if root == 0 {
            return None;
        }
        let deadline = std::time::Instant::now() + within;
        let mut paused = Paused { pids: Vec::new() };
        loop {
            // A process forked while the others were being stopped is stopped on the next round.
            let new: Vec<u32> = crate::server::supervisor::alive_tree(root)
                .into_iter()
                .filter(|p| !paused.pids.contains(p))
                .collect();
            for &pid in &new {
                match kill(Pid::from_raw(pid as i32), Signal::SIGSTOP) {
                    Ok(()) => paused.pids.push(pid),
                    Err(nix::errno::Errno::ESRCH) => {} // ended meanwhile
                    Err(_) => return None,              // not ours to stop: let go of the rest
                }
            }
            if new.is_empty() && all_stopped(&paused.pids) {
                return (!paused.pids.is_empty()).then_some(paused);
            }
            if std::time::Instant::now() > deadline {
                return None; // dropping `paused` lets go of what was stopped
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Waits, up to `within`, until the server is at rest: no thread is running and none of
    /// its listeners holds a connection it has not accepted, in two looks a few milliseconds
    /// apart that agree. So a client that left has been dealt with before the next one comes.
    /// False when that was not seen (nothing to watch, or still busy at the end). A server
    /// that runs but cannot be looked at (a portable run) gets a moment, [`UNSEEN_SETTLE`] at
    /// most, instead.
    pub fn settle(&self, within: Duration) -> bool {
        if self.0.root.load(Ordering::Relaxed) != 0 && !self.active() {
            std::thread::sleep(within.min(UNSEEN_SETTLE));
            return false;
        }
        let deadline = std::time::Instant::now() + within;
        let mut last: Option<(Vec<Thread>, std::time::Instant)> = None;
        while self.active() && std::time::Instant::now() < deadline {
            let root = self.0.root.load(Ordering::Relaxed);
            let pids = crate::server::supervisor::alive_tree(root);
            let Some(mut threads) = threads(&pids) else {
                return false;
            };
            threads.sort_by_key(|t| (t.pid, t.tid));
            let ours: Vec<u64> = pids
                .iter()
                .flat_map(|&p| crate::net::listeners::socket_inodes(p))
                .collect();
            let waiting = crate::net::listeners::listening(Some(root))
                .iter()
                .any(|r| r.rx_queue > 0 && ours.contains(&r.inode));
            let at_rest = !waiting && threads.iter().all(|t| t.doing != Doing::Running);
            let now = std::time::Instant::now();
            match &last {
                Some((before, at)) if at_rest && *before == threads => {
                    if now - *at >= CONFIRM {
                        return true;
                    }
                }
                _ => last = at_rest.then_some((threads, now)),
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    /// One look at the server and the connection `client` -> `server` after `sent` bytes.
    /// Returns what was seen with a fingerprint of the state, for comparing two looks.
    pub fn look(&self, client: SocketAddr, server: SocketAddr, sent: u64) -> Option<(Seen, u64)> {
        let root = self.0.root.load(Ordering::Relaxed);
        if root == 0 || self.0.refused.load(Ordering::Relaxed) {
            return None;
        }
        let side = crate::net::listeners::server_side(client, server)?;
        let pids = crate::server::supervisor::alive_tree(root);
        let Some(mut threads) = threads(&pids) else {
            self.0.refused.store(true, Ordering::Relaxed);
            return None;
        };
        self.0.observed.store(true, Ordering::Relaxed);
        threads.sort_by_key(|t| (t.pid, t.tid));
        // The listeners matter only while the connection waits to be accepted: the socket
        // tables are read then, not on every look.
        let listeners: Vec<u64> = if side.inode == 0 {
            crate::net::listeners::listening(Some(root))
                .into_iter()
                .map(|r| r.inode)
                .collect()
        } else {
            Vec::new()
        };
        let ours = Ours {
            inode: side.inode,
            read_all: side.has_read(sent),
            sent,
        };
        let seen = judge(&threads, ours, &listeners);
        let fingerprint = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            threads.hash(&mut h);
            (side.unread, side.received, side.inode).hash(&mut h);
            h.finish()
        };
        Some((seen, fingerprint))
    }
}

/// A server held still by [`Watch::pause`]; dropping it lets the server go on (SIGCONT).
#[derive(Debug)]
pub struct Paused {
    pids: Vec<u32>,
}

impl Drop for Paused {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        for &pid in &self.pids {
            let _ = kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGCONT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(doing: Doing) -> Thread {
        Thread {
            pid: 1,
            tid: 1,
            doing,
        }
    }

    const LISTENER: u64 = 10;
    const IDLE: u64 = 20;
    const OURS: u64 = 30;

    fn queued() -> Ours {
        Ours {
            inode: 0,
            read_all: false,
            sent: 40,
        }
    }

    fn accepted(read_all: bool) -> Ours {
        Ours {
            inode: OURS,
            read_all,
            sent: 40,
        }
    }

    #[test]
    fn a_sequential_server_blocked_on_an_idle_client_never_gets_to_us() {
        let threads = [t(Doing::Read { inode: Some(IDLE) })];
        assert!(
            matches!(judge(&threads, queued(), &[LISTENER]), Seen::Never(w) if w.contains("another connection"))
        );
    }

    #[test]
    fn a_sequential_server_with_a_timeout_gets_to_us_after_it() {
        let threads = [t(Doing::Poll {
            inodes: vec![IDLE],
            timeout: Some(Duration::from_secs(2)),
        })];
        assert!(matches!(
            judge(&threads, queued(), &[LISTENER]),
            Seen::Within(d, _) if d == Duration::from_secs(2)
        ));
    }

    #[test]
    fn a_threaded_server_accepting_will_serve_us() {
        let threads = [
            t(Doing::Accept {
                inode: Some(LISTENER),
            }),
            t(Doing::Read { inode: Some(IDLE) }),
        ];
        assert_eq!(judge(&threads, queued(), &[LISTENER]), Seen::Busy);
        // Python's settimeout on the listener: a poll on it.
        let polling = [t(Doing::Poll {
            inodes: vec![LISTENER],
            timeout: Some(Duration::from_secs(1)),
        })];
        assert_eq!(judge(&polling, queued(), &[LISTENER]), Seen::Busy);
    }

    #[test]
    fn waiting_for_bytes_never_sent_is_seen_at_once() {
        // One thread or many: the one reading ours has read all of it and waits for more.
        for threads in [
            vec![t(Doing::Read { inode: Some(OURS) })],
            vec![
                t(Doing::Accept {
                    inode: Some(LISTENER),
                }),
                t(Doing::Read { inode: Some(OURS) }),
                t(Doing::Parked { timeout: None }),
            ],
        ] {
            assert!(matches!(
                judge(&threads, accepted(true), &[LISTENER]),
                Seen::Never(w) if w.contains("read all 40 bytes") && w.contains("no timeout")
            ));
            // Not everything read yet: it may still answer.
            assert_eq!(judge(&threads, accepted(false), &[LISTENER]), Seen::Busy);
        }
    }

    #[test]
    fn anything_running_or_about_to_wake_keeps_the_wait() {
        let blocked = t(Doing::Read { inode: Some(OURS) });
        for other in [
            Doing::Running,
            Doing::Other(1),
            Doing::Parked {
                timeout: Some(Duration::ZERO),
            },
        ] {
            assert_eq!(
                judge(&[blocked.clone(), t(other)], accepted(true), &[]),
                Seen::Busy
            );
        }
        // A helper asleep for an hour: nothing happens before then.
        assert!(matches!(
            judge(
                &[blocked, t(Doing::Parked { timeout: Some(Duration::from_secs(3600)) })],
                accepted(true),
                &[]
            ),
            Seen::Within(d, _) if d == Duration::from_secs(3600)
        ));
        assert_eq!(judge(&[], accepted(true), &[]), Seen::Busy);
    }
}
