//! What each thread of a process is blocked in, read from `/proc/PID/task/TID/syscall` (the
//! system call and its arguments), `/proc/PID/task/TID/stat` (running or sleeping),
//! `/proc/PID/fd` (which socket a descriptor is) and, for `poll` and friends, the arguments
//! that live in the process's memory (`/proc/PID/mem`: which descriptors, how long).
//!
//! Reading another process's `syscall` and `mem` needs the right to trace it: srpc-check has it
//! for the servers it starts (its own children, or root). Where it does not, [`threads`] says
//! so with `None` and the caller falls back to waiting.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use nix::libc;

pub use super::doing::{Doing, Thread};

/// Every thread of the processes `pids`, or None when any of them cannot be read (not
/// permitted, or not Linux). Processes that end while being read are left out.
pub fn threads(pids: &[u32]) -> Option<Vec<Thread>> {
    let mut out = Vec::new();
    for &pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue; // gone
        };
        let fds = socket_fds(pid);
        let mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok();
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<u32>().ok())
            else {
                continue;
            };
            let dir = task.path();
            let syscall = match std::fs::read_to_string(dir.join("syscall")) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return None,
                Err(_) => continue, // the thread ended
            };
            let running = state(&dir) == Some('R');
            let doing = if running {
                Doing::Running
            } else {
                classify(&syscall, &fds, &|addr, buf| {
                    mem.as_ref()
                        .is_some_and(|m| m.read_exact_at(buf, addr).is_ok())
                })
            };
            out.push(Thread { pid, tid, doing });
        }
    }
    Some(out)
}

/// A thread's state letter from its `stat` (R running, S sleeping, T stopped, Z zombie...).
fn state(task_dir: &std::path::Path) -> Option<char> {
    let stat = std::fs::read_to_string(task_dir.join("stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Has every thread of the processes `pids` stopped (by SIGSTOP), or ended?
pub fn all_stopped(pids: &[u32]) -> bool {
    pids.iter().all(|pid| {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return true; // gone
        };
        tasks
            .flatten()
            .all(|task| matches!(state(&task.path()), None | Some('T' | 't' | 'Z' | 'X')))
    })
}

/// The socket inodes behind process `pid`'s descriptors.
fn socket_fds(pid: u32) -> HashMap<i64, u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashMap::new();
    };
    dir.flatten()
        .filter_map(|fd| {
            let n = fd.file_name().to_str()?.parse().ok()?;
            let link = std::fs::read_link(fd.path()).ok()?;
            let inode = link
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()?;
            Some((n, inode))
        })
        .collect()
}

/// Reads `buf.len()` bytes of the thread's memory at an address; false when it cannot.
type Peek<'a> = dyn Fn(u64, &mut [u8]) -> bool + 'a;

/// Reads a thread's `syscall` line: "NR ARG1 ... ARG6 SP PC" in hex while it is blocked in a
/// call, "running", or "-1 SP PC" when it is blocked outside one.
pub fn classify(line: &str, fds: &HashMap<i64, u64>, peek: &Peek<'_>) -> Doing {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.first() == Some(&"running") || fields.is_empty() {
        return Doing::Running;
    }
    let Some(nr) = fields[0].parse::<i64>().ok() else {
        return Doing::Running;
    };
    if nr < 0 || fields.len() < 7 {
        return Doing::Other(nr);
    }
    let arg = |i: usize| -> u64 {
        u64::from_str_radix(fields[i].trim_start_matches("0x"), 16).unwrap_or(0)
    };
    let inode = |fd: u64| fds.get(&(fd as i64)).copied();
    let timespec = |addr: u64| -> Option<Duration> {
        // NULL: no limit. Unreadable: assume it may end any moment.
        if addr == 0 {
            return None;
        }
        let mut raw = [0u8; 16];
        if !peek(addr, &mut raw) {
            return Some(Duration::ZERO);
        }
        let secs = i64::from_ne_bytes(raw[..8].try_into().expect("8 bytes"));
        let nanos = i64::from_ne_bytes(raw[8..].try_into().expect("8 bytes"));
        Some(Duration::new(
            secs.max(0) as u64,
            nanos.clamp(0, 999_999_999) as u32,
        ))
    };
    let millis = |ms: u64| -> Option<Duration> {
        let ms = ms as u32 as i32;
        (ms >= 0).then(|| Duration::from_millis(ms as u64))
    };
    let pollfds = |addr: u64, n: u64| -> Vec<u64> {
        let n = n.min(64) as usize;
        let mut raw = vec![0u8; n * 8];
        if n == 0 || !peek(addr, &mut raw) {
            return Vec::new();
        }
        raw.chunks(8)
            .filter_map(|p| inode(i32::from_ne_bytes(p[..4].try_into().expect("4 bytes")) as u64))
            .collect()
    };
    match nr {
        n if n == libc::SYS_accept || n == libc::SYS_accept4 => Doing::Accept {
            inode: inode(arg(1)),
        },
        n if n == libc::SYS_read || n == libc::SYS_recvfrom || n == libc::SYS_recvmsg => {
            Doing::Read {
                inode: inode(arg(1)),
            }
        }
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        n if n == libc::SYS_poll => Doing::Poll {
            inodes: pollfds(arg(1), arg(2)),
            timeout: millis(arg(3)),
        },
        n if n == libc::SYS_ppoll => Doing::Poll {
            inodes: pollfds(arg(1), arg(2)),
            timeout: timespec(arg(3)),
        },
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        n if n == libc::SYS_select => Doing::Poll {
            inodes: Vec::new(),
            // A struct timeval: microseconds in its second half.
            timeout: timespec(arg(5)).map(|d| {
                Duration::new(d.as_secs(), 0) + Duration::from_micros(d.subsec_nanos() as u64)
            }),
        },
        n if n == libc::SYS_pselect6 => Doing::Poll {
            inodes: Vec::new(),
            timeout: timespec(arg(5)),
        },
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        n if n == libc::SYS_epoll_wait => Doing::Poll {
            inodes: Vec::new(),
            timeout: millis(arg(4)),
        },
        n if n == libc::SYS_epoll_pwait => Doing::Poll {
            inodes: Vec::new(),
            timeout: millis(arg(4)),
        },
        n if n == libc::SYS_futex => {
            // FUTEX_WAIT takes a relative timeout, FUTEX_WAIT_BITSET an absolute one (taken
            // as "may end any moment").
            let op = arg(2) & 0x7f;
            let timeout = match (op, arg(4)) {
                (_, 0) => None,
                (0, addr) => timespec(addr),
                _ => Some(Duration::ZERO),
            };
            Doing::Parked { timeout }
        }
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        n if n == libc::SYS_nanosleep => Doing::Parked {
            timeout: timespec(arg(1)).or(Some(Duration::ZERO)),
        },
        n if n == libc::SYS_clock_nanosleep => Doing::Parked {
            // TIMER_ABSTIME: an absolute time, taken as "may end any moment".
            timeout: if arg(2) & 1 == 1 {
                Some(Duration::ZERO)
            } else {
                timespec(arg(3)).or(Some(Duration::ZERO))
            },
        },
        n if n == libc::SYS_wait4 || n == libc::SYS_waitid || n == libc::SYS_rt_sigsuspend => {
            Doing::Parked { timeout: None }
        }
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        n if n == libc::SYS_pause => Doing::Parked { timeout: None },
        n => Doing::Other(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(nr: i64, args: [u64; 6]) -> String {
        let mut s = nr.to_string();
        for a in args {
            s.push_str(&format!(" 0x{a:x}"));
        }
        s + " 0x7ffd 0x7f00"
    }

    #[test]
    fn reads_what_a_thread_is_blocked_in() {
        let fds: HashMap<i64, u64> = [(3, 100), (4, 200)].into_iter().collect();
        let none = |_: u64, _: &mut [u8]| false;
        assert_eq!(classify("running", &fds, &none), Doing::Running);
        assert_eq!(classify("-1 0x7ffd 0x7f00", &fds, &none), Doing::Other(-1));
        assert_eq!(
            classify(
                &line(libc::SYS_accept4, [3, 0, 0, 0x80000, 0, 0]),
                &fds,
                &none
            ),
            Doing::Accept { inode: Some(100) }
        );
        assert_eq!(
            classify(
                &line(libc::SYS_recvfrom, [4, 0x1000, 8, 0, 0, 0]),
                &fds,
                &none
            ),
            Doing::Read { inode: Some(200) }
        );
        assert_eq!(
            classify(&line(libc::SYS_read, [0, 0x1000, 8, 0, 0, 0]), &fds, &none),
            Doing::Read { inode: None }
        );
        // FUTEX_WAIT_PRIVATE with no timeout: parked for good.
        assert_eq!(
            classify(
                &line(libc::SYS_futex, [0x1000, 0x80, 0, 0, 0, 0]),
                &fds,
                &none
            ),
            Doing::Parked { timeout: None }
        );
    }

    #[test]
    fn reads_poll_arguments_from_memory() {
        let fds: HashMap<i64, u64> = [(4, 200)].into_iter().collect();
        // One struct pollfd {fd 4, POLLIN} at 0x1000; a timespec of 2.5 s at 0x2000.
        let memory = |addr: u64, buf: &mut [u8]| {
            let bytes: Vec<u8> = match addr {
                0x1000 => [4i32.to_ne_bytes(), [1, 0, 0, 0]].concat(),
                0x2000 => [2i64.to_ne_bytes(), 500_000_000i64.to_ne_bytes()].concat(),
                _ => return false,
            };
            buf.copy_from_slice(&bytes[..buf.len()]);
            true
        };
        assert_eq!(
            classify(
                &line(libc::SYS_ppoll, [0x1000, 1, 0x2000, 0, 8, 0]),
                &fds,
                &memory
            ),
            Doing::Poll {
                inodes: vec![200],
                timeout: Some(Duration::from_millis(2500))
            }
        );
        #[cfg(target_arch = "x86_64")]
        {
            // poll(fds, 1, 5000): CPython's settimeout(5) before a recv.
            assert_eq!(
                classify(
                    &line(libc::SYS_poll, [0x1000, 1, 5000, 0, 0, 0]),
                    &fds,
                    &memory
                ),
                Doing::Poll {
                    inodes: vec![200],
                    timeout: Some(Duration::from_secs(5))
                }
            );
            // A timeout of -1 waits forever.
            assert_eq!(
                classify(
                    &line(libc::SYS_poll, [0x1000, 1, 0xffffffff, 0, 0, 0]),
                    &fds,
                    &memory
                ),
                Doing::Poll {
                    inodes: vec![200],
                    timeout: None
                }
            );
        }
        // Memory that cannot be read: unknown sockets, a timeout that may end any moment.
        let none = |_: u64, _: &mut [u8]| false;
        assert_eq!(
            classify(
                &line(libc::SYS_ppoll, [0x1000, 1, 0x2000, 0, 8, 0]),
                &fds,
                &none
            ),
            Doing::Poll {
                inodes: vec![],
                timeout: Some(Duration::ZERO)
            }
        );
    }
}
