//! macOS's process table, from libproc and sysctl in libSystem (there is no /proc): the
//! process list and each process's parent, group and state (`proc_pidinfo` with
//! `PROC_PIDTBSDINFO`), its executable (`proc_pidpath`), its folder (`PROC_PIDVNODEPATHINFO`)
//! and its command line (`KERN_PROCARGS2`).

use std::ffi::{c_int, c_void, CStr};
use std::mem::{size_of, zeroed};
use std::path::PathBuf;

use super::{Proc, ProgramInfo, State};

/// The most srpc-check reads of one process's arguments and environment, whatever the system's
/// `KERN_ARGMAX` says.
const ARGS_CAP: usize = 1 << 20;

/// Every process with its parent, group and state.
pub fn processes() -> Vec<Proc> {
    // SAFETY: a null buffer asks for the count only.
    let count = unsafe { libc::proc_listallpids(std::ptr::null_mut(), 0) };
    if count <= 0 {
        return Vec::new();
    }
    // Room for the processes started between the two calls.
    let room = count as usize + 64;
    let mut pids: Vec<c_int> = vec![0; room];
    // SAFETY: the buffer holds `room` pids and its size in bytes is passed.
    let got = unsafe {
        libc::proc_listallpids(
            pids.as_mut_ptr().cast::<c_void>(),
            (room * size_of::<c_int>()) as c_int,
        )
    };
    pids.truncate(got.clamp(0, room as c_int) as usize);
    pids.into_iter()
        .filter(|&p| p > 0)
        .filter_map(bsd_info)
        .collect()
}

/// `proc_pidinfo` of one `flavor` into its struct `T`: None unless the whole struct came back.
///
/// # Safety
/// `T` must be the plain-data struct that `flavor` fills (all-zero bytes a valid value).
unsafe fn pid_info<T>(pid: c_int, flavor: c_int) -> Option<T> {
    let mut info: T = unsafe { zeroed() };
    let size = size_of::<T>() as c_int;
    // SAFETY: proc_pidinfo writes at most `size` bytes into `info`.
    let wrote =
        unsafe { libc::proc_pidinfo(pid, flavor, 0, (&mut info as *mut T).cast::<c_void>(), size) };
    (wrote == size).then_some(info)
}

fn bsd_info(pid: c_int) -> Option<Proc> {
    // SAFETY: PROC_PIDTBSDINFO fills a proc_bsdinfo.
    let info: libc::proc_bsdinfo = unsafe { pid_info(pid, libc::PROC_PIDTBSDINFO) }?;
    Some(Proc {
        pid: pid as u32,
        ppid: info.pbi_ppid,
        pgid: info.pbi_pgid,
        state: match info.pbi_status {
            libc::SZOMB => State::Zombie,
            libc::SSTOP => State::Stopped,
            _ => State::Live,
        },
        started: info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec,
    })
}

/// Its command line, executable and folder.
pub fn program(pid: u32) -> Option<ProgramInfo> {
    let pid = c_int::try_from(pid).ok()?;
    let argv = arguments(pid)?;
    Some(ProgramInfo {
        argv,
        exe: executable(pid),
        cwd: folder(pid),
    })
}

fn executable(pid: c_int) -> Option<PathBuf> {
    let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
    // SAFETY: the buffer's size is passed.
    let n = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast::<c_void>(), buf.len() as u32) };
    (n > 0).then(|| {
        buf.truncate(n as usize);
        PathBuf::from(String::from_utf8_lossy(&buf).into_owned())
    })
}

fn folder(pid: c_int) -> Option<PathBuf> {
    // SAFETY: PROC_PIDVNODEPATHINFO fills a proc_vnodepathinfo.
    let info: libc::proc_vnodepathinfo = unsafe { pid_info(pid, libc::PROC_PIDVNODEPATHINFO) }?;
    // SAFETY: vip_path is MAXPATHLEN bytes (as 32 rows of 32), NUL-terminated by the kernel;
    // read as one array of that size.
    let path: &[u8; 1024] = unsafe { &*(&info.pvi_cdir.vip_path as *const _ as *const [u8; 1024]) };
    let path = CStr::from_bytes_until_nul(path).ok()?;
    (!path.is_empty()).then(|| PathBuf::from(path.to_string_lossy().into_owned()))
}

/// `KERN_PROCARGS2`: the argument count, the executable's path, then the arguments (and the
/// environment, which is not read), each NUL-terminated.
fn arguments(pid: c_int) -> Option<Vec<String>> {
    let mut argmax: c_int = 0;
    let mut len = size_of::<c_int>();
    let mut mib = [libc::CTL_KERN, libc::KERN_ARGMAX];
    // SAFETY: sysctl writes one int into argmax.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            2,
            (&mut argmax as *mut c_int).cast::<c_void>(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || argmax <= 0 {
        return None;
    }
    let mut buf = vec![0u8; (argmax as usize).min(ARGS_CAP)];
    let mut len = buf.len();
    let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid];
    // SAFETY: sysctl writes at most `len` bytes and sets `len` to what it wrote.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(len);
    super::procargs::parse(&buf)
}
