//! The listeners as a library reads them on any system (the portable mode): the `listeners`
//! crate, which reads the socket tables of macOS (libproc), Windows and Linux.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::Held;

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
