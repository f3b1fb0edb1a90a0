//! One box per submission: fresh network, mount, PID, UTS and IPC namespaces (and a user
//! namespace when srpc-check is not root), entered by the grading worker before it does
//! anything else.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Gid, Uid};

/// How boxes can be made here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// srpc-check is root: namespaces directly, and the server runs as an unprivileged user.
    Root,
    /// Through a user namespace (srpc-check is not root).
    User,
    /// Neither works; why.
    Unavailable(String),
}

impl Mode {
    pub fn boxed(&self) -> bool {
        !matches!(self, Mode::Unavailable(_))
    }
}

const BOX: CloneFlags = CloneFlags::CLONE_NEWNET
    .union(CloneFlags::CLONE_NEWNS)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC);

/// Tries to make a box (in a short-lived child) and says which way works.
pub fn probe() -> Mode {
    if let Some(why) = disabled() {
        return Mode::Unavailable(why);
    }
    let root = Uid::effective().is_root();
    let attempt = |mode: Mode| {
        let mut cmd = Command::new("/bin/true");
        enter_on_spawn(&mut cmd, &mode);
        match cmd.status() {
            Ok(s) if s.success() => Ok(mode),
            Ok(s) => Err(format!("a test process ended with {s}")),
            Err(e) => Err(e.to_string()),
        }
    };
    let first = if root {
        attempt(Mode::Root)
    } else {
        Err("not root".into())
    };
    match first {
        Ok(m) => m,
        Err(as_root) => match attempt(Mode::User) {
            Ok(m) => m,
            Err(as_user) => Mode::Unavailable(format!("{as_root}; user namespaces: {as_user}")),
        },
    }
}

/// Why namespaces must not be used, when SRPC_CHECK_NO_NAMESPACES says so.
pub fn disabled() -> Option<String> {
    std::env::var_os("SRPC_CHECK_NO_NAMESPACES")
        .is_some_and(|v| !v.is_empty())
        .then(|| "SRPC_CHECK_NO_NAMESPACES is set".into())
}

/// The maps that make this process root of a new user namespace (its own user and group
/// mapped to 0), prepared ahead so that [`UserMaps::enter`] allocates nothing.
struct UserMaps {
    uid: String,
    gid: String,
}

impl UserMaps {
    fn for_me() -> UserMaps {
        UserMaps {
            uid: format!("0 {} 1\n", Uid::effective()),
            gid: format!("0 {} 1\n", Gid::effective()),
        }
    }

    /// Enters a new user namespace and writes its maps. Only system calls, so it may run
    /// between fork and exec.
    fn enter(&self) -> nix::Result<()> {
        unshare(CloneFlags::CLONE_NEWUSER)?;
        for (path, text) in [
            (c"/proc/self/setgroups", "deny".as_bytes()),
            (c"/proc/self/uid_map", self.uid.as_bytes()),
            (c"/proc/self/gid_map", self.gid.as_bytes()),
        ] {
            let fd = nix::fcntl::open(
                path,
                nix::fcntl::OFlag::O_WRONLY,
                nix::sys::stat::Mode::empty(),
            )?;
            nix::unistd::write(&fd, text)?;
        }
        Ok(())
    }
}

/// Makes `cmd` start in a fresh box. Its first child becomes PID 1 of the new PID namespace
/// (see [`become_init`]).
pub fn enter_on_spawn(cmd: &mut Command, mode: &Mode) {
    let mode = mode.clone();
    // Prepared before fork: nothing allocates between fork and exec.
    let maps = UserMaps::for_me();
    // SAFETY: only async-signal-safe system calls run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid()?;
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            match mode {
                Mode::Root => unshare(BOX)?,
                Mode::User => {
                    maps.enter()?;
                    unshare(BOX)?;
                }
                Mode::Unavailable(_) => {}
            }
            Ok(())
        });
    }
}

/// In a freshly boxed process: forks once; the child is PID 1 of the new PID namespace and
/// returns to do the work, while this process waits and exits as the child did. When PID 1
/// exits, the kernel kills everything else in the namespace. Call before any thread starts.
pub fn become_init() -> Result<(), String> {
    // SAFETY: called while the process has a single thread.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| e.to_string())?;
            Ok(())
        }
        ForkResult::Parent { child } => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => std::process::exit(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => std::process::exit(128 + sig as i32),
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    eprintln!("srpc-check: lost the grading worker: {e}");
                    std::process::exit(70)
                }
            }
        },
    }
}

/// What the box's filesystem and network look like, set up by PID 1 before the server runs.
pub struct Layout<'a> {
    /// The submission's own folder (read before the class folder is hidden).
    pub submission: &'a Path,
    /// Where its copy goes, inside the private /tmp.
    pub scratch: &'a Path,
    /// Covered by empty read-only mounts: the class folder, the output folder.
    pub hide: &'a [PathBuf],
    /// Owner of the scratch copy (the unprivileged user the server runs as).
    pub owner: Option<u32>,
    /// Most bytes copied from the submission.
    pub copy_limit: u64,
}

/// Private mounts, a fresh /proc, a private /tmp holding the scratch copy, the hidden
/// folders covered, /etc/hosts naming this host, and the loopback up.
pub fn set_up(layout: &Layout<'_>) -> Result<(), String> {
    // Held open across the mounts below, which may cover the path it was opened by.
    let source = std::fs::File::open(layout.submission)
        .map_err(|e| format!("cannot open {}: {e}", layout.submission.display()))?;
    let none: Option<&str> = None;
    let m = |src: Option<&str>, target: &Path, fstype: Option<&str>, flags, data: Option<&str>| {
        mount(src, target, fstype, flags, data)
            .map_err(|e| format!("mount on {}: {e}", target.display()))
    };
    m(
        none,
        Path::new("/"),
        none,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        none,
    )?;
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    m(
        Some("proc"),
        Path::new("/proc"),
        Some("proc"),
        nosuid | MsFlags::MS_NOEXEC,
        none,
    )?;
    m(
        Some("tmpfs"),
        Path::new("/tmp"),
        Some("tmpfs"),
        nosuid,
        Some("mode=1777,size=512m"),
    )?;
    if Path::new("/dev/shm").is_dir() {
        m(
            Some("tmpfs"),
            Path::new("/dev/shm"),
            Some("tmpfs"),
            nosuid,
            Some("mode=1777,size=64m"),
        )?;
    }
    let mut budget = layout.copy_limit;
    let source_path = PathBuf::from(format!("/proc/self/fd/{}", source.as_raw_fd()));
    copy_tree(&source_path, layout.scratch, layout.owner, &mut budget)
        .map_err(|e| format!("copying {}: {e}", layout.submission.display()))?;
    drop(source);
    for path in layout.hide {
        if path.is_dir() {
            m(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                nosuid | MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC,
                Some("mode=0555,size=4k"),
            )?;
        }
    }
    hosts(Path::new("/tmp/.srpc-check"))?;
    loopback_up().map_err(|e| format!("cannot bring the loopback up: {e}"))?;
    Ok(())
}

/// `srpc-check __box -- COMMAND...` (hidden): COMMAND in its own network, mount and UTS
/// namespaces, with the loopback up and an /etc/hosts naming this host. For
/// tests and scripts that need port 4444 itself (a single run, as on a grading platform).
/// Returns only on failure.
pub fn exec_in_net_box(command: &[std::ffi::OsString]) -> String {
    if let Err(e) = enter_net_box() {
        return e;
    }
    let Some((program, args)) = command.split_first() else {
        return "no command".into();
    };
    let err = Command::new(program).args(args).exec();
    format!("cannot run {}: {err}", program.to_string_lossy())
}

/// Moves this process into its own network, mount and UTS namespaces (through a user
/// namespace when it is not root), with the loopback up and an /etc/hosts that names this host
/// on 127.0.1.1: a private network where port 4444 is free and `socket.gethostname()`,
/// `localhost` and 127.0.1.1 all reach this machine's own loopback. The process must have only
/// one thread.
pub fn enter_net_box() -> Result<(), String> {
    let flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS;
    let entered = if Uid::effective().is_root() {
        unshare(flags)
    } else {
        UserMaps::for_me().enter().and_then(|()| unshare(flags))
    };
    if let Err(e) = entered {
        return Err(format!("cannot make namespaces: {e}"));
    }
    let none: Option<&str> = None;
    // The hosts file is written to the shared temporary folder only long enough to be
    // bind-mounted; the mount keeps it alive after it is removed.
    let staging = std::env::temp_dir().join(format!("srpc-check-box-{}", std::process::id()));
    // The loopback first: once in the new network, this process has no other.
    loopback_up().map_err(|e| format!("loopback: {e}"))?;
    let mounted = mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("mount: {e}"))
        .and_then(|()| hosts(&staging));
    let _ = std::fs::remove_dir_all(&staging);
    if let Err(e) = mounted {
        // In the private network already; only the host's name may not reach it.
        eprintln!("srpc-check: this host's name is not on the private loopback ({e}); socket.gethostname() may not reach it");
    }
    Ok(())
}

/// /etc/hosts for the box: localhost, and this host's name on 127.0.1.1 (as Debian writes it),
/// so a server that binds `socket.gethostname()` finds its address on the box's loopback.
/// The file is written into `dir` and bind-mounted from there.
fn hosts(dir: &Path) -> Result<(), String> {
    let name = nix::unistd::gethostname()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into());
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join("hosts");
    std::fs::write(
        &file,
        format!(
            "127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        ),
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    let bind = || {
        mount(
            Some(&file),
            "/etc/hosts",
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    bind()
        .or_else(|_| {
            // Already a box's /etc/hosts, whose file is gone (a box inside a box): the mount
            // point no longer resolves. Take that mount away (in this mount namespace only)
            // and bind over the file beneath.
            nix::mount::umount2("/etc/hosts", nix::mount::MntFlags::MNT_DETACH)?;
            bind()
        })
        .map_err(|e| format!("mount on /etc/hosts: {e}"))
}

nix::ioctl_read_bad!(get_flags, nix::libc::SIOCGIFFLAGS, nix::libc::ifreq);
nix::ioctl_write_ptr_bad!(set_flags, nix::libc::SIOCSIFFLAGS, nix::libc::ifreq);

/// `ip link set lo up`, by ioctl.
fn loopback_up() -> nix::Result<()> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: nix::libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as nix::libc::c_char;
    }
    // SAFETY: `req` names an interface and outlives both calls.
    unsafe {
        get_flags(sock.as_raw_fd(), &mut req)?;
        req.ifr_ifru.ifru_flags |= nix::libc::IFF_UP as nix::libc::c_short;
        set_flags(sock.as_raw_fd(), &req)?;
    }
    Ok(())
}

/// Copies a folder: directories, regular files and symbolic links (as links), at most
/// `budget` bytes in all; other kinds of file are left out.
pub fn copy_tree(
    from: &Path,
    to: &Path,
    owner: Option<u32>,
    budget: &mut u64,
) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    chown(to, owner)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest, owner, budget)?;
        } else if kind.is_file() {
            let len = entry.metadata()?.len();
            if len > *budget {
                return Err(std::io::Error::other(
                    "the submission is larger than the copy limit",
                ));
            }
            *budget -= len;
            std::fs::copy(entry.path(), &dest)?;
            chown(&dest, owner)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        }
    }
    Ok(())
}

fn chown(path: &Path, owner: Option<u32>) -> std::io::Result<()> {
    match owner {
        Some(id) => std::os::unix::fs::lchown(path, Some(id), Some(id)),
        None => Ok(()),
    }
}
