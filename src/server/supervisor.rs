//! `--exec`: a server that srpc-check runs itself, watches, restarts and stops.
//!
//! The command runs through `sh -c` in its own session (so in its own process group), with
//! stdin from /dev/null and stdout and stderr in one pipe whose last [`OUTPUT_LIMIT`] bytes are
//! kept. srpc-check makes itself a child subreaper, so every process the server starts stays a
//! descendant of srpc-check even after its parent dies or it calls `setsid()`. Stopping walks
//! that tree in /proc: SIGTERM to all of it, a grace period, then SIGKILL, repeated until
//! nothing is left. A process forked mid-sweep is reparented to srpc-check when its parent dies,
//! so the next pass finds it: the sweep cannot miss. The same sweep runs on Ctrl-C, SIGTERM,
//! SIGHUP and panics (see [`install_cleanup`]); the server's first process also gets SIGKILL
//! from the kernel if srpc-check itself is killed outright.
//!
//! Where the server listens is read from the kernel, never probed: the listening sockets in its
//! network namespace whose inodes the tree's `/proc/PID/fd` links name. A readiness probe that
//! connects and closes would itself be a test case, and it kills fragile servers.
//!
//! In the portable mode ([`crate::host`]: macOS, or Linux with `SRPC_CHECK_PORTABLE=1`) the
//! same code runs on what the system offers there: no subreaper and no parent-death signal, so
//! the tree is the server's descendants, every process still in its process group, and every
//! process once seen in the tree that still runs (the same PID and start time: a helper that
//! called `setsid()` and lost its parent); the process table comes from libproc on macOS, and
//! the listeners from the `listeners` crate. What the server starts and hides before
//! srpc-check first looks (a double fork within milliseconds) is the one thing that can get
//! away there.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

use super::{Control, EventKind, ServerEvent};
use crate::host::State;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

pub use super::output::{Output, OUTPUT_LIMIT};
/// Bytes of output attached to one event in the reports.
pub const TAIL_LIMIT: usize = 4 * 1024;
/// How long a server has to stop after SIGTERM before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_millis(500);
/// How long the SIGKILL sweep keeps trying before it reports what it could not stop.
const SWEEP_LIMIT: Duration = Duration::from_secs(5);
/// How often /proc is read while waiting.
const POLL: Duration = Duration::from_millis(5);

/// How to run the server (or, for `srpc-check client`, the client program).
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// Run through `sh -c`.
    pub command: String,
    /// Where it runs (the current directory when None).
    pub dir: Option<PathBuf>,
    /// How long it may take to listen.
    pub start_timeout: Duration,
    /// Addresses `--target` named: wait for a listener on one of these. Empty: take whatever
    /// the server's process tree listens on.
    pub expect: Vec<SocketAddr>,
    /// A program and its arguments that run `/bin/sh -c COMMAND` for us (the grader's jail);
    /// empty to run the shell directly.
    pub wrapper: Vec<std::ffi::OsString>,
    /// Environment variables set besides PYTHONUNBUFFERED=1.
    pub env: Vec<(String, String)>,
    /// Bytes of output kept [default: OUTPUT_LIMIT].
    pub output_limit: Option<usize>,
}

/// The last `limit` bytes of `text`, cut at a line start where one is near.
pub fn tail(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    match text[start..].find('\n') {
        Some(nl) if nl < limit / 2 => &text[start + nl + 1..],
        _ => &text[start..],
    }
}

/// Why the server could not be started.
#[derive(Debug)]
pub enum StartError {
    Spawn(std::io::Error),
    /// It exited before it listened.
    Exited {
        status: String,
        output: String,
    },
    /// It did not listen within the start-up limit (it was stopped).
    NotListening {
        waited: Duration,
        output: String,
    },
}

impl StartError {
    /// What the report says of a server that ran but never listened (None: it could not be run).
    pub fn failure(&self) -> Option<super::StartFailure> {
        match self {
            StartError::Spawn(_) => None,
            StartError::Exited { status, output } => Some(super::StartFailure {
                exited: true,
                status: Some(status.clone()),
                output: output.clone(),
            }),
            StartError::NotListening { output, .. } => Some(super::StartFailure {
                exited: false,
                status: None,
                output: output.clone(),
            }),
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |f: &mut std::fmt::Formatter<'_>, output: &str| {
            if output.trim().is_empty() {
                f.write_str("\n(it printed nothing)")
            } else {
                write!(
                    f,
                    "\nits output ended with:\n{}",
                    tail(output, TAIL_LIMIT).trim_end()
                )
            }
        };
        match self {
            StartError::Spawn(e) => write!(f, "cannot run the server command: {e}"),
            StartError::Exited { status, output } => {
                write!(f, "the server exited ({status}) before it listened")?;
                show(f, output)
            }
            StartError::NotListening { waited, output } => {
                write!(
                    f,
                    "the server did not listen within {} (raise --start-timeout if it needs longer); it was stopped",
                    humantime::format_duration(*waited)
                )?;
                show(f, output)
            }
        }
    }
}

/// A server process that srpc-check runs.
pub struct Supervised {
    spec: ExecSpec,
    output: Output,
    running: Option<Running>,
    restarts: u32,
    /// The Python program in the tree, as the kernel showed it when the server first listened.
    program: Option<Box<Program>>,
}

/// A running Python process: what it was started with, and where. The source scan reads the
/// program from this, whatever command (`cd`, `sh run.sh`, `make`, a wrapper) started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub pid: u32,
    /// Its `/proc/PID/cmdline`: the interpreter, its options, the script or module, the
    /// arguments.
    pub argv: Vec<String>,
    /// Its `/proc/PID/cwd`.
    pub cwd: PathBuf,
}

impl Program {
    /// The process `pid`, if it is a Python interpreter whose command line and folder can
    /// be read.
    pub fn of(pid: u32) -> Option<Program> {
        let crate::host::ProgramInfo { argv, exe, cwd } = crate::host::program(pid)?;
        let python = |p: &std::path::Path| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        };
        let is_python = argv
            .first()
            .is_some_and(|a| python(std::path::Path::new(a)))
            || exe.as_deref().is_some_and(python);
        if !is_python {
            return None;
        }
        Some(Program {
            pid,
            argv,
            cwd: cwd?,
        })
    }
}

/// The Python program of the tree rooted at `root`: the Python process that holds a
/// listening socket, else the first Python process (by PID).
fn python_program(root: u32) -> Option<Program> {
    let mut tree = alive_tree(root);
    tree.sort_unstable();
    let listening: HashSet<u32> = crate::host::listening(root, &tree)
        .into_iter()
        .map(|h| h.pid)
        .collect();
    let programs: Vec<Program> = tree.into_iter().filter_map(Program::of).collect();
    programs
        .iter()
        .find(|p| listening.contains(&p.pid))
        .or(programs.first())
        .cloned()
}

struct Running {
    child: Child,
    pid: u32,
    /// `output.total()` when it started.
    mark: u64,
    reader_done: mpsc::Receiver<()>,
    addr: SocketAddr,
    status: Option<ExitStatus>,
}

impl Supervised {
    /// Starts the server and waits until it listens.
    pub fn start(spec: ExecSpec) -> Result<Supervised, StartError> {
        let mut s = Supervised::new(spec);
        s.launch()?;
        Ok(s)
    }

    /// Starts a program that is not a server (the client `srpc-check client` tests): under the
    /// same supervision, without waiting for it to listen. [`Supervised::exited`] and
    /// [`Supervised::kill_hung`] say how it ended, with its output.
    pub fn run_program(spec: ExecSpec) -> Result<Supervised, StartError> {
        let mut s = Supervised::new(spec);
        s.spawn()?;
        Ok(s)
    }

    fn new(spec: ExecSpec) -> Supervised {
        install_cleanup();
        Supervised {
            output: spec
                .output_limit
                .map_or_else(Output::default, Output::with_limit),
            spec,
            running: None,
            restarts: 0,
            program: None,
        }
    }

    /// The ring its output goes to, across restarts: for the cases that read what it printed.
    pub fn output_handle(&self) -> Output {
        self.output.clone()
    }

    /// Everything it printed since it was last started.
    pub fn output_since_start(&self) -> String {
        self.output
            .since(self.running.as_ref().map_or(0, |r| r.mark))
    }

    /// Where it listens (the loopback address for a wildcard listener).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.addr)
    }

    /// Its process ID (of `sh -c`), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.pid)
    }

    /// Everything it printed that the ring still holds.
    pub fn output(&self) -> String {
        self.output.all()
    }

    /// The Python program the server runs, read from the kernel when it first listened
    /// (None when it is not Python, or its process could not be read).
    pub fn program(&self) -> Option<&Program> {
        self.program.as_deref()
    }

    /// Reads the Python program of the running tree from the kernel, once (for a program
    /// that does not listen, such as a client: when it is known to be running).
    pub fn capture_program(&mut self) {
        if self.program.is_none() {
            if let Some(run) = &self.running {
                self.program = python_program(run.pid).map(Box::new);
            }
        }
    }

    /// Reads the server's source in the background: the program its Python process runs,
    /// or, where that could not be read, the files `command` names (from `dir`).
    pub fn read_source(
        &self,
        command: &str,
        dir: &std::path::Path,
    ) -> crate::diagnose::source::Pending {
        crate::diagnose::Source::for_run_in_background(self.program(), command, dir)
    }

    /// How often it was started again.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    fn launch(&mut self) -> Result<SocketAddr, StartError> {
        self.spawn()?;
        let started = Instant::now();
        loop {
            let run = self.running.as_mut().expect("just started");
            if let Some(addr) = find_listener(run.pid, &self.spec.expect) {
                run.addr = addr;
                if self.program.is_none() {
                    self.program = python_program(run.pid).map(Box::new);
                }
                return Ok(addr);
            }
            if let Ok(Some(status)) = run.child.try_wait() {
                run.status = Some(status);
                let status = describe(status);
                let mark = run.mark;
                self.stop();
                return Err(StartError::Exited {
                    status,
                    output: self.output.since(mark),
                });
            }
            if started.elapsed() >= self.spec.start_timeout {
                let mark = run.mark;
                self.stop();
                return Err(StartError::NotListening {
                    waited: self.spec.start_timeout,
                    output: self.output.since(mark),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Runs the command in its own session, its output read into the ring.
    fn spawn(&mut self) -> Result<(), StartError> {
        let (read_end, write_end) = std::io::pipe().map_err(StartError::Spawn)?;
        let write_err = write_end.try_clone().map_err(StartError::Spawn)?;
        let mut cmd = match self.spec.wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg("/bin/sh");
                cmd
            }
            None => Command::new("/bin/sh"),
        };
        cmd.arg("-c")
            .arg(&self.spec.command)
            .env("PYTHONUNBUFFERED", "1")
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(write_end))
            .stderr(Stdio::from(write_err));
        if let Some(dir) = &self.spec.dir {
            cmd.current_dir(dir);
        }
        // SAFETY: only async-signal-safe system calls run between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                #[cfg(target_os = "linux")]
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
                Ok(())
            });
        }
        let mark = self.output.total();
        let child = spawn_tracked(&mut cmd).map_err(StartError::Spawn)?;
        drop(cmd); // closes this process's copies of the pipe's write end
        let (done, reader_done) = mpsc::channel();
        let output = self.output.clone();
        std::thread::Builder::new()
            .name("server-output".into())
            .spawn(move || {
                let mut pipe = read_end;
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.push(&buf[..n]);
                }
                let _ = done.send(());
            })
            .map_err(StartError::Spawn)?;
        let pid = child.id();
        self.running = Some(Running {
            child,
            pid,
            mark,
            reader_done,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            status: None,
        });
        Ok(())
    }

    /// Starts it again after an event.
    pub fn restart(&mut self) -> Result<SocketAddr, StartError> {
        self.stop();
        self.restarts += 1;
        self.output
            .push(b"\n--- srpc-check restarted the server ---\n");
        self.launch()
    }

    /// Has the server's process exited (waiting up to `wait` for it to)? If so, the rest of its
    /// tree is stopped and the event says how it ended.
    pub fn exited(&mut self, wait: Duration) -> Option<ServerEvent> {
        let deadline = Instant::now() + wait;
        let status = loop {
            let run = self.running.as_mut()?;
            if let Ok(Some(status)) = run.child.try_wait() {
                run.status = Some(status);
                break status;
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        };
        Some(self.event(EventKind::Exited, Some(describe(status))))
    }

    /// Sends SIGINT to the program's process group (Ctrl-C: Python prints where it was, as a
    /// KeyboardInterrupt traceback) and waits up to `wait` for its first process to exit.
    pub fn interrupt(&mut self, wait: Duration) {
        let Some(run) = self.running.as_mut() else {
            return;
        };
        let _ = killpg(Pid::from_raw(run.pid as i32), Signal::SIGINT);
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = run.child.try_wait() {
                run.status = Some(status);
                // Its output may still be on its way through the pipe.
                let _ = run.reader_done.recv_timeout(Duration::from_millis(100));
                return;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops a server that no longer answers.
    pub fn kill_hung(&mut self) -> ServerEvent {
        self.event(EventKind::Hung, None)
    }

    /// Stops the tree and describes what happened.
    fn event(&mut self, kind: EventKind, status: Option<String>) -> ServerEvent {
        let mark = self.running.as_ref().map_or(0, |r| r.mark);
        // A hung server's evidence is what it printed while it hung, not what the stop itself
        // makes the shell print ("Terminated", whether it does is a race). An exited one's is
        // all it printed, to the end of the pipe.
        let before = (kind == EventKind::Hung).then(|| self.output.since(mark));
        let stopped = self.stop();
        let output = before.unwrap_or_else(|| self.output.since(mark));
        let status = status.or(stopped.map(describe));
        let cause = match kind {
            EventKind::Exited => Some(super::traceback::explain_exit(
                &output,
                status.as_deref().unwrap_or("unknown status"),
            )),
            EventKind::Hung | EventKind::Raised => {
                super::traceback::Traceback::parse(&output).map(|t| t.explain())
            }
        };
        ServerEvent {
            event: kind,
            status,
            stderr_tail: tail(&output, TAIL_LIMIT).to_owned(),
            restarted: false,
            oom_killed: false,
            cause,
        }
    }

    /// Stops the whole process tree (SIGTERM, grace, SIGKILL until nothing is left) and returns
    /// how its first process ended.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut run = self.running.take()?;
        let root = run.pid;
        signal_tree(root, Signal::SIGTERM);
        let _ = killpg(Pid::from_raw(root as i32), Signal::SIGTERM);
        let grace_end = Instant::now() + GRACE;
        while Instant::now() < grace_end {
            reap(&mut run);
            if alive_tree(root).is_empty() && run.status.is_some() {
                break;
            }
            std::thread::sleep(POLL);
        }
        let left = sweep(root, &|| live_roots().clone(), Instant::now() + SWEEP_LIMIT);
        if !left.is_empty() {
            let _ = writeln!(
                std::io::stderr(),
                "srpc-check: could not stop processes {left:?} of the server"
            );
        }
        reap(&mut run);
        live_roots().remove(&root);
        forget_members(root);
        // Every writer is gone, so the reader sees the end of the pipe at once.
        let _ = run.reader_done.recv_timeout(Duration::from_secs(1));
        run.status
    }
}

impl Control for Supervised {
    fn exited(&mut self, wait: Duration) -> Option<ServerEvent> {
        Supervised::exited(self, wait)
    }

    fn kill_hung(&mut self) -> ServerEvent {
        Supervised::kill_hung(self)
    }

    fn restart(&mut self) -> Result<SocketAddr, String> {
        Supervised::restart(self).map_err(|e| e.to_string())
    }

    fn restarts(&self) -> u32 {
        self.restarts
    }

    fn pid(&self) -> Option<u32> {
        Supervised::pid(self)
    }

    fn printed(&self) -> u64 {
        self.output.total()
    }

    fn printed_since(&self, mark: u64) -> String {
        self.output.since(mark)
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// "exit status 1", "signal 9 (SIGKILL)".
pub fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(sig) => match Signal::try_from(sig) {
            Ok(s) => format!("signal {sig} ({})", s.as_str()),
            Err(_) => format!("signal {sig}"),
        },
        None => "unknown status".into(),
    }
}

/// Collects the exit status of the server's first process, once it has one.
fn reap(run: &mut Running) {
    if run.status.is_none() {
        if let Ok(Some(status)) = run.child.try_wait() {
            run.status = Some(status);
        }
    }
}

/// SIGKILL to every running process of the tree rooted at `root`, again and again, until none is
/// left or `deadline` passes; finished orphans reparented to srpc-check are reaped on the way.
/// `roots` gives the servers running now. Returns what could not be stopped.
fn sweep(root: u32, roots: &dyn Fn() -> HashSet<u32>, deadline: Instant) -> Vec<u32> {
    loop {
        let table = crate::host::processes();
        let roots = roots();
        let me = std::process::id();
        for p in &table {
            if p.state == State::Zombie && p.ppid == me && !roots.contains(&p.pid) {
                let _ = waitpid(Pid::from_raw(p.pid as i32), Some(WaitPidFlag::WNOHANG));
            }
        }
        let alive = alive_known(&table, root, &roots);
        if alive.is_empty() || Instant::now() >= deadline {
            return alive;
        }
        for &pid in &alive {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Spawns a process that is stopped, with everything it starts, on Ctrl-C, SIGTERM, SIGHUP
/// or a panic, like a server (the grader's workers). Pair with [`kill_tracked`].
pub fn spawn_tracked(cmd: &mut Command) -> std::io::Result<Child> {
    install_cleanup();
    // Registered under the lock, so a concurrent sweep never mistakes it for a stray.
    let mut live = live_roots();
    if SHUTTING_DOWN.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(std::io::Error::other("srpc-check is stopping"));
    }
    let child = cmd.spawn()?;
    live.insert(child.id());
    Ok(child)
}

/// SIGKILL to a process from [`spawn_tracked`] and everything under it, until nothing is
/// left; then it is forgotten. Returns what could not be stopped.
pub fn kill_tracked(child: &mut Child) -> Vec<u32> {
    let root = child.id();
    let _ = killpg(Pid::from_raw(root as i32), Signal::SIGKILL);
    let left = sweep(root, &|| live_roots().clone(), Instant::now() + SWEEP_LIMIT);
    let _ = child.wait();
    live_roots().remove(&root);
    forget_members(root);
    left
}

/// Forgets a process from [`spawn_tracked`] that has been waited for.
pub fn untrack(pid: u32) {
    live_roots().remove(&pid);
    forget_members(pid);
}

/// The server roots srpc-check is running now (their `sh -c` PIDs).
fn live_roots() -> std::sync::MutexGuard<'static, HashSet<u32>> {
    static LIVE: LazyLock<Mutex<HashSet<u32>>> = LazyLock::new(Mutex::default);
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The processes of the server rooted at `root` that are still running: its descendants, and
/// orphans reparented to srpc-check (which, as subreaper, inherits whatever the server left).
pub fn alive_tree(root: u32) -> Vec<u32> {
    let roots = live_roots().clone();
    alive_known(&crate::host::processes(), root, &roots)
}

/// Every process ever seen in a server's tree (by its root), with its start time.
type Members = HashMap<u32, HashMap<u32, u64>>;

fn members() -> std::sync::MutexGuard<'static, Members> {
    static MEMBERS: LazyLock<Mutex<Members>> = LazyLock::new(Mutex::default);
    MEMBERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets the processes seen in the tree rooted at `root` (it has been stopped).
fn forget_members(root: u32) {
    members().remove(&root);
}

/// [`alive_in`], and every process seen in the tree before that still runs (the same PID and
/// the same start time) though it has left the tree: a helper that called `setsid()` and whose
/// parent died is reparented to init where srpc-check is no subreaper (the portable mode), and
/// is still the server's.
fn alive_known(table: &[crate::host::Proc], root: u32, roots: &HashSet<u32>) -> Vec<u32> {
    let mut alive = alive_in(table, root, roots);
    let by_pid: HashMap<u32, &crate::host::Proc> = table.iter().map(|p| (p.pid, p)).collect();
    let mut members = members();
    let known = members.entry(root).or_default();
    for pid in &alive {
        if let Some(p) = by_pid.get(pid) {
            known.insert(*pid, p.started);
        }
    }
    let now: HashSet<u32> = alive.iter().copied().collect();
    alive.extend(known.iter().filter_map(|(pid, started)| {
        let p = by_pid.get(pid)?;
        (!now.contains(pid) && p.started == *started && p.state != State::Zombie).then_some(*pid)
    }));
    alive
}

/// [`alive_tree`], from a process table and the set of running roots.
fn alive_in(table: &[crate::host::Proc], root: u32, roots: &HashSet<u32>) -> Vec<u32> {
    let me = std::process::id();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in table {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut seeds = vec![root];
    // What left the tree but not the server's process group (an orphan where srpc-check is not
    // its subreaper).
    seeds.extend(table.iter().filter(|p| p.pgid == root).map(|p| p.pid));
    // Orphans reparented to srpc-check, its subreaper: its children that are no server's root
    // and not in its own process group. Each server runs in a session of its own, from which
    // no process can join srpc-check's group, so a child in that group is one srpc-check
    // started for itself (Python reading the student's source, say), never the server's.
    let my_group = nix::unistd::getpgrp().as_raw() as u32;
    seeds.extend(
        table
            .iter()
            .filter(|p| p.ppid == me && p.pgid != my_group)
            .map(|p| p.pid)
            .filter(|pid| !roots.contains(pid) || *pid == root),
    );
    let zombies: HashSet<u32> = table
        .iter()
        .filter(|p| p.state == State::Zombie)
        .map(|p| p.pid)
        .collect();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<u32> = seeds.into_iter().collect();
    while let Some(pid) = queue.pop_front() {
        if !seen.insert(pid) {
            continue;
        }
        queue.extend(children.get(&pid).into_iter().flatten());
    }
    let present: HashSet<u32> = table.iter().map(|p| p.pid).collect();
    seen.into_iter()
        .filter(|p| present.contains(p) && !zombies.contains(p))
        .collect()
}

fn signal_tree(root: u32, signal: Signal) {
    for pid in alive_tree(root) {
        let _ = kill(Pid::from_raw(pid as i32), signal);
    }
}

/// Where the tree rooted at `root` listens: a listening socket in its network namespace that
/// one of its processes holds, matching `expect` when that is given.
fn find_listener(root: u32, expect: &[SocketAddr]) -> Option<SocketAddr> {
    let tree = alive_tree(root);
    if tree.is_empty() {
        return None;
    }
    let mut rows: Vec<SocketAddr> = crate::host::listening(root, &tree)
        .into_iter()
        .map(|h| h.local)
        .collect();
    if !expect.is_empty() {
        return expect
            .iter()
            .copied()
            .find(|e| rows.iter().any(|l| serves(*l, *e)));
    }
    // IPv4 first, then the lab's port.
    rows.sort_by_key(|a| (a.is_ipv6(), a.port() != 4444));
    rows.first().map(|l| connectable(*l))
}

/// Does a listener bound to `listener` accept connections to `addr`?
fn serves(listener: SocketAddr, addr: SocketAddr) -> bool {
    listener.port() == addr.port()
        && (listener.ip() == addr.ip()
            || (listener.ip().is_unspecified() && (listener.is_ipv6() || addr.is_ipv4())))
}

/// The address to connect to for a listener (loopback for a wildcard).
fn connectable(listener: SocketAddr) -> SocketAddr {
    match listener.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listener.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listener.port())
        }
        _ => listener,
    }
}

/// Stops every running server when any thread panics, before the panic is reported. For the
/// srpc-check program; a library user (or a test harness, where one test's panic must not stop
/// another test's server) decides for itself.
pub fn stop_servers_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_everything();
        previous(info);
    }));
}

/// Makes srpc-check the subreaper of everything it starts, and stops every running server on
/// Ctrl-C, SIGTERM or SIGHUP. Idempotent.
pub fn install_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(target_os = "linux")]
        if !crate::host::portable() {
            let _ = nix::sys::prctl::set_child_subreaper(true);
        }
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            let _ = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        INTERRUPTED.store(sig, std::sync::atomic::Ordering::SeqCst);
                        kill_everything();
                        for hook in INTERRUPT_HOOKS
                            .lock()
                            .map(|h| h.clone())
                            .unwrap_or_default()
                        {
                            hook();
                        }
                        // Not eprintln!: with stderr gone (a killed parent's pipe) it panics,
                        // and this thread would end without the exit below.
                        let _ = writeln!(
                            std::io::stderr(),
                            "srpc-check: interrupted; the server was stopped"
                        );
                        std::process::exit(128 + sig);
                    }
                });
        }
    });
}

/// The signal (Ctrl-C, SIGTERM or SIGHUP) that arrived, 0 for none: srpc-check is stopping
/// and will exit with 128 + the signal.
static INTERRUPTED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Once srpc-check has been interrupted, waits for the signal's own exit (128 + the signal),
/// so work that ended because its servers were stopped cannot be reported as done, nor the
/// run end with another exit code first. Returns at once otherwise. Should the stopping not
/// end in that exit in time, exits with that code here: an interrupted srpc-check never stays.
pub fn wait_if_interrupted() {
    let sig = INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst);
    if sig == 0 {
        return;
    }
    // The sweep's own limit, the hooks and a margin.
    std::thread::sleep(SWEEP_LIMIT + Duration::from_secs(5));
    std::process::exit(128 + sig);
}

/// Run after every server is stopped on Ctrl-C, SIGTERM or SIGHUP, before srpc-check exits.
static INTERRUPT_HOOKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Has `hook` run when srpc-check is interrupted (after its servers are stopped), for what
/// would otherwise be cleaned up by a destructor that an exit skips.
pub fn at_interrupt(hook: fn()) {
    if let Ok(mut hooks) = INTERRUPT_HOOKS.lock() {
        if !hooks.contains(&hook) {
            hooks.push(hook);
        }
    }
}

/// Set once srpc-check is going down: no server may be started after that.
static SHUTTING_DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// SIGKILL to every process of every running server, until none is left. Holds the registry
/// throughout, and marks srpc-check as going down, so no server can be started meanwhile or after.
fn kill_everything() {
    let live = live_roots();
    SHUTTING_DOWN.store(true, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + SWEEP_LIMIT;
    let roots = live.clone();
    for &root in live.iter() {
        let _ = killpg(Pid::from_raw(root as i32), Signal::SIGKILL);
        sweep(root, &|| roots.clone(), deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_bytes_and_marks_work() {
        let out = Output::default();
        out.push(b"old ");
        let mark = out.total();
        out.push(b"new");
        assert_eq!(out.since(mark), "new");
        out.push(&vec![b'x'; OUTPUT_LIMIT]);
        assert_eq!(out.all().len(), OUTPUT_LIMIT);
        assert!(out.since(mark).chars().all(|c| c == 'x'));
    }

    #[test]
    fn tails_start_at_a_line() {
        let text = format!("{}\nlast line\n", "a".repeat(100));
        assert_eq!(tail(&text, 20), "last line\n");
        assert_eq!(tail("short", 20), "short");
    }

    #[test]
    fn wildcard_listeners_serve_loopback() {
        let any4: SocketAddr = "0.0.0.0:4444".parse().unwrap();
        let any6: SocketAddr = "[::]:4444".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:4444".parse().unwrap();
        let host: SocketAddr = "127.0.1.1:4444".parse().unwrap();
        assert!(serves(any4, lo) && serves(any6, lo) && serves(host, host));
        assert!(!serves(host, lo));
        assert_eq!(connectable(any4), lo);
    }

    #[test]
    fn a_server_is_found_stopped_and_leaves_nothing() {
        let spec = ExecSpec {
            command: "echo starting; exec python3 -c 'import socket,time\ns=socket.socket()\ns.bind((\"127.0.0.1\",0))\ns.listen()\ntime.sleep(60)'".into(),
            dir: None,
            start_timeout: Duration::from_secs(10),
            expect: vec![],
            ..ExecSpec::default()
        };
        let mut server = Supervised::start(spec).expect("starts");
        let addr = server.addr().unwrap();
        assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(crate::net::listeners::listening_on(addr.port()).contains(&addr));
        let pid = server.pid().unwrap();
        assert!(server.exited(Duration::ZERO).is_none());
        let status = server.stop().expect("it had a status");
        assert_eq!(describe(status), "signal 15 (SIGTERM)");
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        assert!(server.output().contains("starting"));
    }

    #[test]
    fn a_server_that_exits_at_once_shows_its_output() {
        let spec = ExecSpec {
            command: "echo 'OSError: [Errno 98] Address already in use' >&2; exit 1".into(),
            dir: None,
            start_timeout: Duration::from_secs(10),
            expect: vec![],
            ..ExecSpec::default()
        };
        let err = Supervised::start(spec).err().expect("fails");
        let text = err.to_string();
        assert!(text.contains("exit status 1"), "{text}");
        assert!(text.contains("Address already in use"), "{text}");
    }
}
