//! Linux's own view of listeners (the kernel mode): the socket inodes a process's `/proc/PID/fd`
//! links name, matched against the socket tables of its network namespace (sock_diag where it
//! is this process's own).

use std::collections::HashMap;

use super::Held;
use crate::net::listeners;

/// The listeners of `root`'s network namespace whose inodes the `/proc/PID/fd` links of `pids`
/// name.
pub fn listening(root: u32, pids: &[u32]) -> Vec<Held> {
    let holder: HashMap<u64, u32> = pids
        .iter()
        .flat_map(|&pid| {
            listeners::socket_inodes(pid)
                .into_iter()
                .map(move |i| (i, pid))
        })
        .collect();
    if holder.is_empty() {
        return Vec::new();
    }
    listeners::listening(Some(root))
        .into_iter()
        .filter_map(|r| {
            holder.get(&r.inode).map(|&pid| Held {
                pid,
                local: r.local,
            })
        })
        .collect()
}
