//! What a server's threads are doing, in the terms a verdict needs. Read on Linux by
//! [`super::proc`]; elsewhere nothing reads them and waits run to their timeouts.

use std::time::Duration;

/// What one thread is doing, as far as deciding a verdict goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Doing {
    /// Running or runnable: anything may still happen.
    Running,
    /// Blocked in `accept` on the listening socket with this inode.
    Accept { inode: Option<u64> },
    /// Blocked reading (`read`, `recvfrom`, `recvmsg`) with no timeout, from the socket with
    /// this inode (None: not a socket, or unknown).
    Read { inode: Option<u64> },
    /// Waiting for readiness (`poll`, `ppoll`, `select`, `epoll_wait`) on these sockets (empty:
    /// unknown), for at most `timeout` (None: forever). A CPython socket with `settimeout(t)`
    /// waits here, with `t`, before each `recv` and `accept`.
    Poll {
        inodes: Vec<u64>,
        timeout: Option<Duration>,
    },
    /// Parked until another thread, a child or a signal wakes it (`futex`, `wait4`, `pause`),
    /// or asleep, for at most `timeout` (None: with no limit of its own).
    Parked { timeout: Option<Duration> },
    /// Blocked in some other system call (a write to a full socket, a disk read...).
    Other(i64),
}

impl Doing {
    /// The longest it can stay like this without help from outside (None: forever).
    pub fn wakes_within(&self) -> Option<Duration> {
        match self {
            Doing::Poll { timeout, .. } | Doing::Parked { timeout } => *timeout,
            Doing::Running | Doing::Other(_) => Some(Duration::ZERO),
            Doing::Accept { .. } | Doing::Read { .. } => None,
        }
    }
}

/// One thread of the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thread {
    pub pid: u32,
    pub tid: u32,
    pub doing: Doing,
}
