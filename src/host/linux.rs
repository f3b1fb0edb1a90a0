//! Linux's process table: `/proc`, read the same way in both modes (it shows what runs, not
//! what a program is doing: that is [`crate::observe`]'s, and only the kernel mode's).

use super::{Proc, ProgramInfo, State};

/// Every process's parent and state, from /proc/PID/stat.
pub fn processes() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut fields = rest.split(' ');
            let state = match fields.next()? {
                "Z" | "X" => State::Zombie,
                "T" | "t" => State::Stopped,
                _ => State::Live,
            };
            let ppid = fields.next()?.parse().ok()?;
            let pgid = fields.next()?.parse().ok()?;
            // Field 22, starttime: the 17th after pgrp.
            let started = fields.nth(16)?.parse().ok()?;
            Some(Proc {
                pid,
                ppid,
                pgid,
                state,
                started,
            })
        })
        .collect()
}

/// `/proc/PID/cmdline`, `exe` and `cwd`.
pub fn program(pid: u32) -> Option<ProgramInfo> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(ProgramInfo {
        argv,
        exe: std::fs::read_link(format!("/proc/{pid}/exe")).ok(),
        cwd: std::fs::read_link(format!("/proc/{pid}/cwd")).ok(),
    })
}
