//! The accept loop and the life of one connection.
//!
//! One connection carries one request: read a frame (however it is split), reply, close. Only
//! this module touches sockets. [`serve_connection`] is generic over any async byte stream so
//! tests and fuzz targets can drive a whole session in memory.
//!
//! Every way a client can misbehave ends in what its protocol owes it (srpc's ERROR reply, or
//! for app a close) and a closed connection: the server itself never stops because of a client.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{timeout, timeout_at, Instant};

use crate::protocol::{Protocol, Step, Unfinished};

/// Limits that protect the server from its clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted payload. A longer declared length gets ERROR without being read.
    pub max_payload: usize,
    /// Time a client has, from accept, to deliver a whole request.
    pub read_timeout: Duration,
    /// Time allowed for writing the reply.
    pub write_timeout: Duration,
    /// Connections open at once. When a new client arrives at the cap, the oldest connection
    /// still waiting for its request is shed (closed) to make room; only when every open
    /// connection has a whole request (and is being answered) does the new one wait.
    pub max_connections: usize,
    /// Where the lines the protocol prints go.
    pub log: crate::protocol::Log,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_payload: 16 * 1024 * 1024,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            max_connections: 16 * 1024,
            log: Default::default(),
        }
    }
}

/// How much more buffer to reserve per read. Memory grows with bytes that actually arrive, never
/// with the length a client merely declared.
const READ_CHUNK: usize = 64 * 1024;

/// After an ERROR reply to a request whose bytes were not all read, how long to keep reading
/// (and discarding) so that closing the socket sends FIN, not RST, and the reply is not lost.
const DRAIN_TIME: Duration = Duration::from_millis(500);
const DRAIN_BYTES: usize = 1024 * 1024;

/// Reads until `protocol` decides on the bytes received (`buf` holds bytes already received),
/// the peer closes, or `deadline` passes, and says what that calls for.
pub async fn read_request<S: AsyncRead + Unpin, P: Protocol>(
    stream: &mut S,
    mut buf: Vec<u8>,
    protocol: &P,
    max_request: usize,
    deadline: Instant,
) -> io::Result<Decision> {
    loop {
        match protocol.step(&buf, max_request) {
            Step::Incomplete { need } => {
                let want = need.saturating_sub(buf.len()).clamp(1, READ_CHUNK);
                buf.reserve(want);
            }
            Step::Reply {
                reply,
                unread_input,
            } => {
                return Ok(Decision::Finish {
                    reply,
                    unread_input,
                })
            }
            Step::Close => {
                return Ok(Decision::Finish {
                    reply: Vec::new(),
                    unread_input: true,
                })
            }
            Step::Answer {
                reply,
                consumed,
                log,
            } => {
                let rest = buf.get(consumed..).unwrap_or_default().to_vec();
                return Ok(Decision::Answer { reply, rest, log });
            }
        }
        let why = match timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Err(_) => Unfinished::Timeout,
            Ok(Ok(0)) => Unfinished::Eof,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => return Err(e),
        };
        let reply = protocol.unfinished(why).unwrap_or_default();
        return Ok(Decision::Finish {
            reply,
            unread_input: why == Unfinished::Timeout,
        });
    }
}

/// What [`read_request`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send `reply` (empty: none) and close; `unread_input`: the client may still be sending.
    Finish { reply: Vec<u8>, unread_input: bool },
    /// Print `log`, send `reply`, and read the next message, which starts with `rest`.
    Answer {
        reply: Vec<u8>,
        rest: Vec<u8>,
        log: Option<String>,
    },
}

/// Carries on a connection from `buf` (bytes already received) until it finishes: answers
/// each message of a conversation, each with a fresh read deadline, then the last reply and
/// the close.
async fn converse<S: AsyncRead + AsyncWrite + Unpin, P: Protocol>(
    mut stream: S,
    mut buf: Vec<u8>,
    protocol: &P,
    config: &Config,
    mut deadline: Instant,
) -> io::Result<()> {
    loop {
        match read_request(&mut stream, buf, protocol, config.max_payload, deadline).await? {
            Decision::Finish {
                reply,
                unread_input,
            } => return finish(stream, &reply, unread_input, config).await,
            Decision::Answer { reply, rest, log } => {
                answer(&mut stream, &reply, log, config).await?;
                buf = rest;
                deadline = Instant::now() + config.read_timeout;
            }
        }
    }
}

/// Prints a conversation's line and sends its reply, keeping the connection.
async fn answer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    reply: &[u8],
    log: Option<String>,
    config: &Config,
) -> io::Result<()> {
    if let Some(line) = log {
        config.log.line(&line);
    }
    send(stream, reply, config).await
}

async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    config: &Config,
) -> io::Result<()> {
    match timeout(config.write_timeout, stream.write_all(bytes)).await {
        Ok(result) => result,
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Serves one connection: one request, one reply, then the stream is closed.
pub async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin, P: Protocol>(
    stream: S,
    protocol: &P,
    config: &Config,
) -> io::Result<()> {
    serve_session(
        stream,
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        protocol,
        config,
    )
    .await
}

/// Serves one connection from a client at `peer`: the protocol's greeting, if it has one,
/// then its messages until the connection finishes.
pub async fn serve_session<S: AsyncRead + AsyncWrite + Unpin, P: Protocol>(
    mut stream: S,
    peer: std::net::SocketAddr,
    protocol: &P,
    config: &Config,
) -> io::Result<()> {
    if let Some(greeting) = protocol.greeting(peer) {
        send(&mut stream, &greeting, config).await?;
    }
    let deadline = Instant::now() + config.read_timeout;
    converse(stream, Vec::new(), protocol, config, deadline).await
}

/// Writes what is left of the reply and closes.
async fn finish<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    reply: &[u8],
    unread_input: bool,
    config: &Config,
) -> io::Result<()> {
    send(&mut stream, reply, config).await?;
    if unread_input {
        // Half-close so the client sees the reply end, then swallow what it is still sending.
        let _ = timeout(config.write_timeout, stream.shutdown()).await;
        drain(&mut stream).await;
    }
    // Dropping the stream closes it (FIN): one request, one reply, one connection.
    Ok(())
}

/// Asks Linux to hand over a connection only once its first bytes (or its FIN) have arrived,
/// so that `serve_immediately` nearly always finds the whole request waiting. Without it, on a
/// busy loopback about 40% of connections are accepted a moment before their request lands and
/// need a task and a reactor registration. A client that connects and sends nothing is still
/// accepted after about a second, and then meets the read deadline as before.
/// Best effort: failure only costs speed.
#[cfg(target_os = "linux")]
fn defer_accept(listener: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    let seconds: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, and a pointer to a c_int with its correct size.
    unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn defer_accept(_listener: &std::net::TcpListener) {}

async fn drain<S: AsyncRead + Unpin>(stream: &mut S) {
    // On the heap: an array here would make every connection's task 8 KiB larger, drained or not.
    let mut scratch = vec![0u8; 8192];
    let mut total = 0;
    let deadline = Instant::now() + DRAIN_TIME;
    while total < DRAIN_BYTES {
        match timeout_at(deadline, stream.read(&mut scratch)).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => break,
        }
    }
}

/// What the accept loop managed without waiting.
enum Immediate {
    /// Replied in full; dropping the socket closes it.
    Done,
    /// The request is not all here yet: keep reading from `received`.
    Read { received: Vec<u8> },
    /// The reply did not fit in the socket buffer: write the rest.
    Write { rest: Vec<u8>, unread_input: bool },
    /// The protocol speaks first: send this, then read.
    Greet(Vec<u8>),
}

/// Serves a just-accepted connection without waiting, if its whole request has already
/// arrived (on loopback and LANs it almost always has).
///
/// The socket is used as the kernel handed it over, with `MSG_DONTWAIT` on each call, and is
/// registered with tokio's reactor only if it has to wait. A registration costs two `epoll_ctl`
/// calls and wakes an idle worker for a socket that is about to be closed; skipping it is most of
/// the server's own cost at tens of thousands of connections per second.
fn serve_immediately<P: Protocol>(
    socket: &socket2::Socket,
    protocol: &P,
    config: &Config,
) -> io::Result<Immediate> {
    let mut received: Vec<u8> = Vec::with_capacity(4096);
    let n = match socket.recv_with_flags(received.spare_capacity_mut(), libc::MSG_DONTWAIT) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    // SAFETY: recv initialised the first `n` bytes of the spare capacity.
    unsafe { received.set_len(n) };
    let reply = match protocol.step(&received, config.max_payload) {
        Step::Reply {
            reply,
            unread_input: false,
        } => reply,
        // Refusals, closes and incomplete requests take the slow path, which also drains and
        // times out. A client that is slow to send keeps only what it sent, not the 4 KiB first read.
        _ => {
            received.shrink_to_fit();
            return Ok(Immediate::Read { received });
        }
    };
    let written = match socket.send_with_flags(&reply, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if written == reply.len() {
        Ok(Immediate::Done)
    } else {
        Ok(Immediate::Write {
            rest: reply[written..].to_vec(),
            unread_input: false,
        })
    }
}

/// Connections still waiting for their request, oldest first, so that one can be shed when a
/// new client needs its place (slow clients cannot crowd out well-formed ones).
#[derive(Default)]
struct Waiting {
    next: std::sync::atomic::AtomicU64,
    state: std::sync::Mutex<WaitingState>,
}

#[derive(Default)]
struct WaitingState {
    tasks: std::collections::BTreeMap<u64, tokio::task::AbortHandle>,
    /// Tickets whose connection had its request before it could be added.
    early: std::collections::HashSet<u64>,
}

impl Waiting {
    fn ticket(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers the task of a connection that is reading, unless it already has its request.
    fn add(&self, ticket: u64, task: tokio::task::AbortHandle) {
        let mut state = self.lock();
        if !state.early.remove(&ticket) {
            state.tasks.insert(ticket, task);
        }
    }

    /// The connection has its whole request (or is gone): no longer sheddable, even if it is
    /// only registered after this.
    fn done(&self, ticket: u64) {
        let mut state = self.lock();
        if state.tasks.remove(&ticket).is_none() {
            state.early.insert(ticket);
        }
    }

    /// Closes the oldest connection still waiting for its request. False if there is none.
    fn shed_oldest(&self) -> bool {
        let mut state = self.lock();
        while let Some((_, task)) = state.tasks.pop_first() {
            if !task.is_finished() {
                task.abort();
                return true;
            }
        }
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WaitingState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Raises this process's soft limit on open files to its hard limit, so the connection cap,
/// not the descriptor limit, decides how many clients are served. Returns the new limit.
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with a valid resource and a pointer to a live rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return None;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// Runs the server on `listener` with default limits until `shutdown` completes.
pub async fn run<P: Protocol>(
    listener: TcpListener,
    protocol: P,
    shutdown: impl Future,
) -> io::Result<()> {
    run_with(listener, Config::default(), protocol, shutdown).await
}

/// Runs the server with the given limits and protocol until `shutdown` completes, then waits (up
/// to the read and write deadlines) for connections already accepted to finish.
///
/// One accept loop runs per runtime worker, each on its own duplicate of the listening
/// descriptor, so that accepting and answering use every core rather than the one worker a
/// single loop would sit on.
pub async fn run_with<P: Protocol>(
    listener: TcpListener,
    config: Config,
    protocol: P,
    shutdown: impl Future,
) -> io::Result<()> {
    let config = Arc::new(config);
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let waiting = Arc::new(Waiting::default());
    let listener = listener.into_std()?;
    if !protocol.speaks_first() {
        defer_accept(&listener);
    }
    let loops = tokio::runtime::Handle::current()
        .metrics()
        .num_workers()
        .max(1);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..loops {
        let shared = Shared {
            config: config.clone(),
            permits: permits.clone(),
            waiting: waiting.clone(),
            protocol: protocol.clone(),
        };
        let listener = listener.try_clone()?;
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            accept_loop(listener, shared, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        }));
    }
    drop(listener);
    shutdown.await;
    let _ = stop.send(true);
    let mut result = Ok(());
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            result = Err(e);
        }
    }
    let grace = config.read_timeout + config.write_timeout + DRAIN_TIME;
    let max = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
    let _ = timeout(grace, permits.acquire_many(max)).await;
    result
}

/// What every accept loop shares.
struct Shared<P> {
    config: Arc<Config>,
    permits: Arc<Semaphore>,
    waiting: Arc<Waiting>,
    protocol: P,
}

/// Accepts and serves connections on one descriptor of the listener until `shutdown`.
async fn accept_loop<P: Protocol>(
    listener: std::net::TcpListener,
    shared: Shared<P>,
    shutdown: impl Future,
) -> io::Result<()> {
    let Shared {
        config,
        permits,
        waiting,
        protocol,
    } = shared;
    // SAFETY: the std listener owns its descriptor, and the AsyncFd owns the listener, so the
    // descriptor stays open and the same for the AsyncFd's whole life.
    let listener = unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE)? };
    tokio::pin!(shutdown);
    loop {
        let accepted = loop {
            let mut ready = tokio::select! {
                _ = &mut shutdown => break None,
                ready = listener.readable() => ready?,
            };
            // A client is waiting. At the cap, make room by shedding the oldest connection
            // that has not sent a whole request; wait only if every one has.
            let permit = match permits.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    waiting.shed_oldest();
                    tokio::select! {
                        _ = &mut shutdown => break None,
                        p = permits.clone().acquire_owned() => p.expect("semaphore never closed"),
                    }
                }
            };
            if let Ok(accepted) = ready.try_io(|l| l.get_ref().accept()) {
                break Some((accepted, permit));
            }
        };
        let socket = match accepted {
            None => break,
            Some((Ok((socket, peer)), permit)) => (socket2::Socket::from(socket), peer, permit),
            Some((Err(e), _)) => {
                // Usually EMFILE or a connection reset before accept: back off, keep serving.
                eprintln!("reference-server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (socket, peer, permit) = socket;
        // No TCP_NODELAY: the reply goes out in a single write followed by close, so Nagle's
        // algorithm never holds anything back, and the setsockopt would cost a syscall.
        let deadline = Instant::now() + config.read_timeout;
        let greeting = protocol.greeting(peer);
        let next = match greeting {
            // A protocol in which the server speaks first: the slow path, from the greeting.
            Some(greeting) => Immediate::Greet(greeting),
            None => match serve_immediately(&socket, &protocol, &config) {
                Ok(Immediate::Done) | Err(_) => continue,
                Ok(next) => next,
            },
        };
        let socket = match socket
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(socket.into()))
        {
            Ok(s) => s,
            Err(_) => continue,
        };
        let protocol = protocol.clone();
        let config = config.clone();
        let reading = matches!(next, Immediate::Read { .. } | Immediate::Greet(_));
        let ticket = waiting.ticket();
        let list = waiting.clone();
        let task = tokio::spawn(async move {
            // Errors here are one client's problem (reset, timeout); nothing to do but close.
            let _ = match next {
                Immediate::Read { received } => {
                    let mut socket = socket;
                    let request = read_request(
                        &mut socket,
                        received,
                        &protocol,
                        config.max_payload,
                        deadline,
                    )
                    .await;
                    list.done(ticket);
                    match request {
                        Ok(Decision::Finish {
                            reply,
                            unread_input,
                        }) => finish(socket, &reply, unread_input, &config).await,
                        Ok(Decision::Answer { reply, rest, log }) => {
                            match answer(&mut socket, &reply, log, &config).await {
                                Ok(()) => {
                                    let deadline = Instant::now() + config.read_timeout;
                                    converse(socket, rest, &protocol, &config, deadline).await
                                }
                                Err(e) => Err(e),
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
                // A conversation stays sheddable while it waits for its client: an idle one
                // holds no one else back at the cap.
                Immediate::Greet(greeting) => {
                    let mut socket = socket;
                    // A conversation writes several small messages: Nagle's algorithm would
                    // hold each after the first until the client acknowledged the one before.
                    let _ = socket.set_nodelay(true);
                    match send(&mut socket, &greeting, &config).await {
                        Ok(()) => converse(socket, Vec::new(), &protocol, &config, deadline).await,
                        Err(e) => Err(e),
                    }
                }
                Immediate::Write { rest, unread_input } => {
                    finish(socket, &rest, unread_input, &config).await
                }
                Immediate::Done => Ok(()),
            };
            drop(permit);
        });
        if reading {
            waiting.add(ticket, task.abort_handle());
        }
    }
    Ok(())
}
