//! The server srpc-check plays for one run of the client: a correct srpc server with a real
//! store (the reference server's own `respond`), that delivers each reply the way the case
//! says and records what the client did with every connection.
//!
//! Pieces of a reply go out one at a time, and the next only once the kernel shows the client
//! has read the ones before (sock_diag on the client's own socket). So a client that takes one
//! `recv()` for the whole header sees exactly the first piece, on any machine, however loaded:
//! no pause has to be long enough. How a connection ended tells whether the client read the
//! whole reply: a socket closed with bytes still unread answers with a reset, not a FIN.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};
use reference_server::command::{parse_request, Command};
use reference_server::Db;
use serde_json::Value;

use super::Delivery;
use crate::net::conn::Piece;
use crate::net::listeners;
use crate::net::wire::{Header, HEADER_LEN};
use crate::server::supervisor::Supervised;
use crate::server::ServerEvent;

/// Largest request payload srpc-check reads; a header declaring more is malformed.
pub const MAX_REQUEST: usize = 1 << 20;
/// Most bytes kept of what a client sends after its request.
const MAX_EXTRA: usize = 4096;
/// A large reply goes out in pieces of this size.
const LARGE_PIECE: usize = 64 * 1024;
/// How long a reset may trail the FIN it follows.
const RESET_GRACE: Duration = Duration::from_millis(2);
/// How long a hung client has to exit after Ctrl-C before it is stopped outright.
const INTERRUPT_WAIT: Duration = Duration::from_millis(500);
/// How long the first reply of the slow case is held back: halfway between the socket timeouts
/// students use most (1 s and 2 s), so either side of it is judged the same every time.
pub const SLOW: Duration = Duration::from_millis(1500);

/// The sockets srpc-check listens on for the whole command.
pub struct Listeners {
    socks: Vec<TcpListener>,
    /// Where it listens.
    pub addrs: Vec<SocketAddr>,
}

impl Listeners {
    /// Listens on each address; IPv6 ones take IPv6 only, so `0.0.0.0` and `::` can share a
    /// port. Fails if none can be bound; an address family the machine lacks is left out.
    pub fn bind(addrs: &[SocketAddr]) -> std::io::Result<Listeners> {
        let mut socks = Vec::new();
        let mut bound = Vec::new();
        let mut first_error = None;
        for &addr in addrs {
            match bind_one(addr) {
                Ok(l) => {
                    bound.push(l.local_addr().unwrap_or(addr));
                    socks.push(l);
                }
                Err(e) => {
                    first_error.get_or_insert(std::io::Error::new(
                        e.kind(),
                        format!("cannot listen on {addr}: {e}"),
                    ));
                }
            }
        }
        if socks.is_empty() {
            return Err(
                first_error.unwrap_or_else(|| std::io::Error::other("no address to listen on"))
            );
        }
        Ok(Listeners {
            socks,
            addrs: bound,
        })
    }

    /// Every address of `port`, IPv4 and IPv6: where the lab's client can reach srpc-check
    /// whichever of this host's names it dials.
    pub fn every_address(port: u16) -> Vec<SocketAddr> {
        vec![
            SocketAddr::from(([0, 0, 0, 0], port)),
            SocketAddr::from(([0u16; 8], port)),
        ]
    }

    fn accept(&self) -> Option<(TcpStream, SocketAddr)> {
        self.socks.iter().find_map(|l| l.accept().ok())
    }

    /// Closes whatever connections wait to be accepted (left by a run that has ended).
    pub fn drain(&self) {
        while self.accept().is_some() {}
    }
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use nix::sys::socket::{
        bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
        SockaddrStorage,
    };
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if addr.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    listen(&fd, Backlog::new(128).expect("a valid backlog"))?;
    let listener = TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// How a connection ended, as far as srpc-check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Still open when the run ended.
    Open,
    /// The client closed it, with nothing left unread.
    Closed,
    /// The client closed it with part of the reply unread (a reset), or before it arrived.
    Reset,
    /// srpc-check closed it without a reply (the case asks for that).
    ClosedByUs,
}

/// What one connection carried, and what the client did with it.
#[derive(Debug, Clone)]
pub struct ConnLog {
    /// The request as it arrived: header and payload (at most the header and MAX_REQUEST).
    pub request: Vec<u8>,
    /// What is wrong with the request, in words.
    pub problems: Vec<String>,
    /// The reply's payload, when one was sent.
    pub reply: Option<Vec<u8>>,
    /// The reply as written, piece by piece.
    pub pieces: Vec<Piece>,
    /// Bytes of the reply (header included) the client had read when it stopped reading.
    pub read: usize,
    /// The whole reply, header included, in bytes.
    pub frame_len: usize,
    pub end: End,
    /// Bytes the client sent after the request its header declared.
    pub extra: Vec<u8>,
    /// Still open when the client opened its next connection.
    pub left_open: bool,
    /// The client did not read a piece within the timeout; the rest was not sent.
    pub stalled: bool,
    /// A GET that found the value the case put in the store beforehand.
    pub preloaded: bool,
}

impl ConnLog {
    /// The client stopped reading before the end of a reply that was sent.
    pub fn read_short(&self) -> bool {
        self.reply.is_some() && self.read < self.frame_len
    }
}

/// How one run ended.
pub enum Ended {
    /// The program exited by itself.
    Exited(ServerEvent),
    /// It did nothing for the idle limit (no connection, no byte) and was stopped.
    Stopped(ServerEvent),
}

/// One run of the client against srpc-check.
pub struct RunLog {
    pub conns: Vec<ConnLog>,
    pub ended: Ended,
    /// Everything the program printed.
    pub output: String,
}

/// What the run needs.
pub struct Serve<'a> {
    pub listeners: &'a Listeners,
    pub delivery: Delivery,
    /// Limit for each wait on the client.
    pub timeout: Duration,
    /// How long the client may take to make its first connection.
    pub start_timeout: Duration,
    /// What a GET finds under a name nobody has PUT yet (the large and non-ASCII cases).
    pub preload: Option<&'a Value>,
}

/// The program, and how it ended once that is known.
struct Program<'a> {
    process: &'a mut Supervised,
    ended: Option<ServerEvent>,
}

impl Program<'_> {
    fn gone(&mut self) -> bool {
        if self.ended.is_none() {
            self.ended = self.process.exited(Duration::ZERO);
        }
        self.ended.is_some()
    }
}

/// Serves the program's connections until it exits or idles for too long.
pub fn serve(s: &Serve<'_>, process: &mut Supervised) -> RunLog {
    let db = Db::new();
    let mut program = Program {
        process,
        ended: None,
    };
    let mut conns: Vec<Live> = Vec::new();
    let mut last_activity = Instant::now();
    let mut idle_limit = s.start_timeout;
    let ended = loop {
        for c in conns.iter_mut() {
            c.poll_end();
        }
        if let Some((stream, peer)) = s.listeners.accept() {
            // It runs and has connected: its Python program, for the source scan.
            program.process.capture_program();
            for c in conns.iter_mut() {
                if c.log.end == End::Open && c.poll_end().is_none() {
                    c.log.left_open = true;
                }
            }
            let mut live = Live::new(stream, peer, s.timeout);
            live.serve(s, &db, conns.len(), &mut program);
            conns.push(live);
            last_activity = Instant::now();
            idle_limit = s.timeout;
            continue;
        }
        if program.gone() {
            // Its sockets closed with it; what that looked like is waiting to be read.
            std::thread::sleep(Duration::from_millis(2));
            for c in conns.iter_mut() {
                c.poll_end();
            }
            break Ended::Exited(program.ended.take().expect("it ended"));
        }
        if last_activity.elapsed() >= idle_limit {
            // Ctrl-C first: a Python client then shows where it was stuck.
            program.process.interrupt(INTERRUPT_WAIT);
            let mut event = program.process.kill_hung();
            event.cause = Some(
                "srpc-check stopped the client with Ctrl-C (SIGINT), then SIGTERM; a Python client's KeyboardInterrupt traceback shows where it was stuck".into(),
            );
            break Ended::Stopped(event);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let output = program.process.output_since_start();
    RunLog {
        conns: conns.into_iter().map(|c| c.log).collect(),
        ended,
        output,
    }
}

/// A connection being served.
struct Live {
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    log: ConnLog,
}

/// What arrived of a request.
enum Request {
    Whole(Vec<u8>),
    /// A header no server can read (big-endian, an absurd length).
    BadHeader,
    /// Less than the header declared, before the client closed, exited or went quiet.
    Incomplete,
}

/// What a wait for the client ended with.
enum Wait {
    /// It read everything sent so far.
    Read,
    /// The connection ended.
    Ended,
    /// The program ended.
    Gone,
    TimedOut,
}

impl Live {
    fn new(stream: TcpStream, peer: SocketAddr, timeout: Duration) -> Live {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        // A client that stops reading cannot hold a write for longer than this.
        let _ = stream.set_write_timeout(Some(timeout));
        let local = stream.local_addr().unwrap_or(peer);
        Live {
            stream,
            peer,
            local,
            log: ConnLog {
                request: Vec::new(),
                problems: Vec::new(),
                reply: None,
                pieces: Vec::new(),
                read: 0,
                frame_len: 0,
                end: End::Open,
                extra: Vec::new(),
                left_open: false,
                stalled: false,
                preloaded: false,
            },
        }
    }

    /// Reads the request, answers it as the case says, and notes what the client did.
    fn serve(&mut self, s: &Serve<'_>, db: &Db, index: usize, program: &mut Program<'_>) {
        let payload = match self.read_request(s.timeout, program) {
            Request::Whole(payload) => payload,
            // As a correct server would: ERROR for a header it cannot read.
            Request::BadHeader => b"{}".to_vec(),
            // The client stopped sending (or left): a server gives up on it and closes.
            Request::Incomplete => {
                if self.log.end == End::Open {
                    let _ = self.stream.shutdown(std::net::Shutdown::Both);
                    self.log.end = End::ClosedByUs;
                }
                return;
            }
        };
        if let (Some(value), Ok(Command::Get { obj, key })) = (s.preload, parse_request(&payload)) {
            if db.get(&key).is_none() {
                let obj = serde_json::from_slice::<Value>(&reference_server::json::dumps(&obj))
                    .unwrap_or(Value::Null);
                reference_server::respond(db, &crate::model::put_request(&obj, value));
                self.log.preloaded = true;
            }
        }
        let reply = reference_server::respond(db, &payload);
        if s.delivery == Delivery::CloseWithoutReply {
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
            self.log.end = End::ClosedByUs;
            return;
        }
        if s.delivery == Delivery::Slow && index == 0 {
            let until = Instant::now() + SLOW;
            while Instant::now() < until && !program.gone() && self.poll_end().is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let frame = reference_server::frame::encode(&reply);
        self.log.frame_len = frame.len();
        self.log.reply = Some(reply);
        self.deliver(&frame, s, program);
        if let (Delivery::Slow, 0, Some(first)) = (s.delivery, index, self.log.pieces.first_mut()) {
            first.pause_before = SLOW;
        }
    }

    /// The request, once a whole one has arrived (what went wrong is in the log).
    fn read_request(&mut self, timeout: Duration, program: &mut Program<'_>) -> Request {
        let deadline = Instant::now() + timeout;
        let Some(header) = self.read_exactly(HEADER_LEN, (deadline, timeout), program, "header")
        else {
            return Request::Incomplete;
        };
        let header: &[u8; HEADER_LEN] = header[..].try_into().expect("a whole header");
        let Header { version, length } = Header::parse(header);
        let Header {
            version: be_version,
            length: be_length,
        } = Header::parse_be(header);
        let sane = |n: i32| n >= 0 && n as usize <= MAX_REQUEST;
        if be_version == 1 && version != 1 {
            self.log.problems.push(format!(
                "the request header is big-endian: version 1 and length {be_length} packed with \"!ii\"; a server reads version {version} and length {length} (pack it with struct.pack(\"ii\", ...))"
            ));
            return Request::BadHeader;
        }
        if !sane(length) {
            self.log.problems.push(format!(
                "the request header declares a payload of {length} bytes"
            ));
            return Request::BadHeader;
        }
        if version != 1 {
            self.log
                .problems
                .push(format!("the request header's version is {version}, not 1"));
        }
        let Some(payload) =
            self.read_exactly(length as usize, (deadline, timeout), program, "payload")
        else {
            return Request::Incomplete;
        };
        match serde_json::from_slice::<Value>(&payload) {
            Err(e) => self.log.problems.push(format!(
                "the request's payload is not JSON ({e}){}",
                if std::str::from_utf8(&payload).is_err() {
                    ", nor UTF-8"
                } else {
                    ""
                }
            )),
            Ok(Value::Object(m)) => {
                if !m.get("func").is_some_and(Value::is_string) {
                    self.log
                        .problems
                        .push("the request has no \"func\" string".into());
                }
                if !m.get("params").is_some_and(Value::is_object) {
                    self.log
                        .problems
                        .push("the request has no \"params\" object".into());
                }
            }
            Ok(other) => self.log.problems.push(format!(
                "the request's payload is JSON but not an object: {}",
                crate::words::clip(&other.to_string(), 60)
            )),
        }
        Request::Whole(payload)
    }

    /// `n` bytes of the request, appended to the log; None if the client closed, the program
    /// ended or the deadline passed first (said in the log).
    fn read_exactly(
        &mut self,
        n: usize,
        (deadline, timeout): (Instant, Duration),
        program: &mut Program<'_>,
        what: &str,
    ) -> Option<Vec<u8>> {
        let mut got = Vec::with_capacity(n.min(64 * 1024));
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < n {
            let want = (n - got.len()).min(buf.len());
            match recv(
                self.stream.as_raw_fd(),
                &mut buf[..want],
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(0) => {
                    self.log.end = End::Closed;
                    break;
                }
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(Errno::EAGAIN) => {
                    if Instant::now() >= deadline || program.gone() {
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(Errno::EINTR) => {}
                Err(_) => {
                    self.log.end = End::Reset;
                    break;
                }
            }
        }
        self.log.request.extend_from_slice(&got);
        if got.len() == n {
            return Some(got);
        }
        let sent = format!("{} of the {n} bytes of its {what}", got.len());
        self.log.problems.push(match self.log.end {
            End::Closed | End::Reset => format!("the client sent {sent}, then closed the connection"),
            _ if program.gone() => format!("the client sent {sent}, then exited"),
            _ => format!(
                "the client sent {sent}, then nothing more for {} (the header declares more than it sends)",
                humantime::format_duration(timeout)
            ),
        });
        None
    }

    /// Writes the reply in the case's pieces, each once the client has read the ones before.
    fn deliver(&mut self, frame: &[u8], s: &Serve<'_>, program: &mut Program<'_>) {
        let pieces = split(s.delivery, frame);
        let mut sent = 0;
        for (i, range) in pieces.iter().enumerate() {
            let bytes = &frame[range.clone()];
            if let Err(e) = std::io::Write::write_all(&mut &self.stream, bytes) {
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    self.log.stalled = true;
                } else {
                    self.log.end = End::Reset;
                }
                return;
            }
            self.log.pieces.push(Piece {
                pause_before: Duration::ZERO,
                bytes: bytes.to_vec(),
            });
            sent += bytes.len();
            match self.wait_read(sent, Instant::now() + s.timeout, program) {
                Wait::Read => self.log.read = sent,
                Wait::Ended | Wait::Gone => {
                    if self.poll_end() == Some(End::Closed) {
                        // A FIN, no reset: the client closed with nothing unread, so it had
                        // read all that was sent (a piece that reached it after it closed
                        // would have drawn a reset).
                        self.log.read = sent;
                    }
                    return;
                }
                Wait::TimedOut => {
                    if i + 1 < pieces.len() {
                        self.log.stalled = true;
                    }
                    return;
                }
            }
        }
    }

    /// Waits until the client has read `sent` bytes of the reply, the connection ends, the
    /// program ends, or `deadline` passes.
    fn wait_read(&mut self, sent: usize, deadline: Instant, program: &mut Program<'_>) -> Wait {
        let mut pause = Duration::from_micros(20);
        loop {
            // The client's own socket: its source is the client's address.
            if let Some(side) = listeners::server_side(self.local, self.peer) {
                if let Some(received) = side.received {
                    let read = received.saturating_sub(u64::from(side.unread)) as usize;
                    self.log.read = self.log.read.max(read.min(sent));
                }
                if side.has_read(sent as u64) {
                    return Wait::Read;
                }
            }
            if self.poll_end().is_some() {
                return Wait::Ended;
            }
            if program.gone() {
                self.poll_end();
                return Wait::Gone;
            }
            if Instant::now() >= deadline {
                return Wait::TimedOut;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    /// Has the client closed the connection (and how)? Reads, and keeps, anything it sent
    /// after its request.
    fn poll_end(&mut self) -> Option<End> {
        if self.log.end != End::Open {
            return Some(self.log.end);
        }
        let mut buf = [0u8; 4096];
        loop {
            match recv(self.stream.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(0) => {
                    // A reset right after the FIN (a piece that reached a closed socket) shows
                    // as the socket's pending error; the kernel may take a moment to process it
                    // when it is busy.
                    let error = || {
                        nix::sys::socket::getsockopt(
                            &self.stream,
                            nix::sys::socket::sockopt::SocketError,
                        )
                        .unwrap_or(0)
                    };
                    let reset = error() != 0 || {
                        std::thread::sleep(RESET_GRACE);
                        error() != 0
                    };
                    self.log.end = if reset { End::Reset } else { End::Closed };
                    return Some(self.log.end);
                }
                Ok(n) => {
                    let room = MAX_EXTRA.saturating_sub(self.log.extra.len());
                    self.log.extra.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(Errno::EAGAIN) => return None,
                Err(Errno::EINTR) => {}
                Err(_) => {
                    self.log.end = End::Reset;
                    return Some(End::Reset);
                }
            }
        }
    }
}

/// Where the case cuts a reply frame.
pub fn split(delivery: Delivery, frame: &[u8]) -> Vec<std::ops::Range<usize>> {
    let n = frame.len();
    let cuts: Vec<usize> = match delivery {
        Delivery::HeaderSplit(k) => vec![k.min(n)],
        Delivery::HeaderThenPayload => vec![HEADER_LEN.min(n)],
        Delivery::PayloadSplit => {
            let p = n.saturating_sub(HEADER_LEN);
            vec![HEADER_LEN + p / 3, HEADER_LEN + 2 * p / 3]
        }
        Delivery::Dribble => (1..n).collect(),
        Delivery::Large => (1..n.div_ceil(LARGE_PIECE))
            .map(|i| i * LARGE_PIECE)
            .collect(),
        _ => Vec::new(),
    };
    let mut ranges = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([n]) {
        if cut > start {
            ranges.push(start..cut);
            start = cut;
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_cut_where_the_case_says() {
        let frame = vec![0u8; 20];
        assert_eq!(split(Delivery::OnePiece, &frame), vec![0..20]);
        assert_eq!(split(Delivery::HeaderSplit(3), &frame), [0..3, 3..20]);
        assert_eq!(split(Delivery::HeaderThenPayload, &frame), [0..8, 8..20]);
        assert_eq!(
            split(Delivery::PayloadSplit, &frame),
            [0..12, 12..16, 16..20]
        );
        assert_eq!(split(Delivery::Dribble, &frame).len(), 20);
        let large = vec![0u8; 2 * LARGE_PIECE + 5];
        assert_eq!(
            split(Delivery::Large, &large),
            [
                0..LARGE_PIECE,
                LARGE_PIECE..2 * LARGE_PIECE,
                2 * LARGE_PIECE..2 * LARGE_PIECE + 5
            ]
        );
    }
}
