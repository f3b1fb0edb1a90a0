//! One connection of the client's, as srpc-check serves it in any protocol: reading exactly
//! what the request declares, delivering a reply in pieces, and telling how the client ended
//! the connection.
//!
//! Pieces of a reply go out one at a time, and the next only once the kernel shows the client
//! has read the ones before (sock_diag on the client's own socket). So a client that takes one
//! `recv()` for the whole header sees exactly the first piece, on any machine, however loaded:
//! no pause has to be long enough. Where the kernel does not show it (a portable run), each
//! piece gets a pause instead ([`UNSEEN_READ`]). How a connection ended tells whether the client read the
//! whole reply: a socket closed with bytes still unread answers with a reset, not a FIN.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};

use super::listen::Program;
use crate::net::conn::{Piece, Transcript};
use crate::net::listeners;

/// Most bytes kept of what a client sends after its request.
const MAX_EXTRA: usize = 4096;
/// How long a piece of a reply gets to be read where the kernel does not show it (a portable
/// run): the next piece goes out after this. From the third piece of a reply on,
/// [`UNSEEN_NEXT`].
pub const UNSEEN_READ: Duration = Duration::from_millis(100);
/// How long each piece of a reply after the second gets to be read, unseen.
pub const UNSEEN_NEXT: Duration = Duration::from_millis(5);
/// How long a reset may trail the FIN it follows.
const RESET_GRACE: Duration = Duration::from_millis(2);
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
    /// The bytes of the connection, for the report: what srpc-check sent (the reply, in its
    /// pieces) and what it received (the request).
    pub fn transcript(&self) -> Box<Transcript> {
        Box::new(Transcript {
            peer_reset: false,
            sent: self.pieces.clone(),
            half_closed: false,
            reset: false,
            received: self.request.clone(),
        })
    }

    /// The client stopped reading before the end of a reply that was sent.
    pub fn read_short(&self) -> bool {
        self.reply.is_some() && self.read < self.frame_len
    }
}

/// A connection being served.
pub struct Live {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub log: ConnLog,
}

/// What a wait for the client ended with.
pub enum Wait {
    /// It read everything sent so far.
    Read,
    /// The connection ended.
    Ended,
    /// The program ended.
    Gone,
    TimedOut,
}

impl Live {
    /// Closes the connection from srpc-check's side, unless it has ended already.
    pub fn close(&mut self) {
        if self.log.end == End::Open {
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
            self.log.end = End::ClosedByUs;
        }
    }

    pub fn new(stream: TcpStream, peer: SocketAddr, timeout: Duration) -> Live {
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

    /// `n` bytes of the request, appended to the log; None if the client closed, the program
    /// ended or the deadline passed first (said in the log).
    pub fn read_exactly(
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
    /// Pieces that start after byte 0 of `frame` follow bytes delivered earlier on the same
    /// connection (a protocol of several messages): those count as sent.
    pub fn deliver(
        &mut self,
        frame: &[u8],
        pieces: &[std::ops::Range<usize>],
        timeout: Duration,
        program: &mut Program<'_>,
    ) {
        let mut sent = pieces.first().map_or(0, |r| r.start);
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
            // Unseen, the first pieces get time to be read; a client that has read them in a
            // loop takes each next one at once.
            let unseen = if i < 2 { UNSEEN_READ } else { UNSEEN_NEXT };
            match self.wait_read(sent, Instant::now() + timeout, unseen, program) {
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
    /// program ends, or `deadline` passes. Where the kernel does not show the client's socket
    /// (a portable run, see [`crate::host`]), `unseen` without an ending counts as read: a
    /// client waiting in `recv()` has long taken the bytes by then.
    pub fn wait_read(
        &mut self,
        sent: usize,
        deadline: Instant,
        unseen: Duration,
        program: &mut Program<'_>,
    ) -> Wait {
        let mut pause = Duration::from_micros(20);
        let unseen_until = Instant::now() + unseen;
        loop {
            // The client's own socket: its source is the client's address.
            match listeners::server_side(self.local, self.peer) {
                Some(side) => {
                    if let Some(received) = side.received {
                        let read = received.saturating_sub(u64::from(side.unread)) as usize;
                        self.log.read = self.log.read.max(read.min(sent));
                    }
                    if side.has_read(sent as u64) {
                        return Wait::Read;
                    }
                }
                None if Instant::now() >= unseen_until.min(deadline)
                    && !program.gone()
                    && self.poll_end().is_none() =>
                {
                    return Wait::Read;
                }
                None => {}
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
    pub fn poll_end(&mut self) -> Option<End> {
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
