//! One client connection to the target, with a deadline on every operation and a transcript of
//! every byte sent and received, so any failure can show its bytes and be replayed.
//!
//! Writes can be split into pieces that reach the server as separate reads: TCP_NODELAY is set
//! and the harness pauses between pieces, because loopback otherwise coalesces small writes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::observe::{Seen, Watch};

/// Longest wait, after a piece, for a local server to read it.
pub const READ_WAIT: Duration = Duration::from_millis(250);

/// A piece of a request as it went on the wire, and the pause taken before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub pause_before: Duration,
    pub bytes: Vec<u8>,
}

/// What one connection carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub sent: Vec<Piece>,
    pub half_closed: bool,
    /// The client left without reading, with a reset (SO_LINGER 0) after its half-close.
    pub reset: bool,
    /// The server reset the connection: it closed it with bytes of ours unread.
    pub peer_reset: bool,
    pub received: Vec<u8>,
}

impl Transcript {
    pub fn sent_bytes(&self) -> Vec<u8> {
        self.sent
            .iter()
            .flat_map(|p| p.bytes.iter().copied())
            .collect()
    }
}

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    Refused,
    Timeout,
    Other(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused => f.write_str("connection refused (nothing is listening)"),
            ConnectError::Timeout => f.write_str("connect timed out"),
            ConnectError::Other(e) => write!(f, "connect failed: {e}"),
        }
    }
}

/// The outcome of one read with a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    Data(usize),
    Eof,
    Timeout,
    Reset,
}

pub struct Conn {
    stream: TcpStream,
    timeout: Duration,
    pub transcript: Transcript,
    /// Bytes written so far.
    sent: u64,
    /// Skip the pause between pieces when the kernel shows the (local) server has read every
    /// byte sent so far: the split is then certain without it. The transcript still records
    /// the pause, for reproducers that run without that view.
    pub skip_pause_when_read: bool,
    /// The server's process tree, when srpc-check can look at it: a wait for bytes then ends
    /// as soon as the kernel shows none can come (see [`crate::observe`]).
    watch: Option<Watch>,
    /// Why a wait ended before its timeout: what was observed, in words.
    pub stalled: Option<String>,
    /// The wait for the reply stretched: to this instant, for the reply whose wait had the
    /// deadline given second, because the server was seen to be unable to answer before a
    /// timeout of its own (the third) no longer than ours.
    stretched: Option<(Instant, Instant, Duration)>,
}

/// How often a watched wait looks at the server: first soon, then less often.
const LOOK_FIRST: Duration = Duration::from_millis(2);
/// Reads (of up to 64 KiB each) that [`Conn::closed_by_peer`] takes before it concludes the
/// server is still sending.
const CLOSED_LOOK: usize = 4;
const LOOK_MAX: Duration = Duration::from_millis(25);
use crate::observe::CONFIRM as LOOK_CONFIRM;

impl Conn {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, ConnectError> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => ConnectError::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ConnectError::Timeout,
            _ => ConnectError::Other(e.to_string()),
        })?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(timeout));
        Ok(Conn {
            stream,
            timeout,
            transcript: Transcript::default(),
            sent: 0,
            skip_pause_when_read: false,
            watch: None,
            stalled: None,
            stretched: None,
        })
    }

    /// Judges waits on this connection by watching the server (when there is one to watch),
    /// and sends the pieces of a split request as soon as the server has read the previous one.
    pub fn watched(mut self, watch: &Watch) -> Conn {
        self.watch = Some(watch.clone());
        if watch.active() {
            self.skip_pause_when_read = true;
        }
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The server's address.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
    }

    /// The port this end of the connection has (what the server's accept() calls addr[1]).
    pub fn local_port(&self) -> Option<u16> {
        self.stream.local_addr().ok().map(|a| a.port())
    }

    /// Sends bytes in one write.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.send_pieces(bytes, &[], Duration::ZERO)
    }

    /// Sends `bytes` cut at the offsets in `cuts`, so that each piece arrives at the server as
    /// a read of its own: before each later piece the harness pauses at least `pause`, and, when
    /// the server is on this machine, until the kernel shows it has read everything sent so far
    /// (at most [`READ_WAIT`] longer). A server that reads once is then caught every time, not
    /// only when the scheduler happens to run it between the pieces.
    pub fn send_pieces(&mut self, bytes: &[u8], cuts: &[usize], pause: Duration) -> io::Result<()> {
        self.send_paced(bytes, cuts, &|_| pause)
    }

    /// [`Conn::send_pieces`] with a pause of its own before each piece: `pause_at(offset)` for
    /// the piece that starts at `offset`.
    pub fn send_paced(
        &mut self,
        bytes: &[u8],
        cuts: &[usize],
        pause_at: &dyn Fn(usize) -> Duration,
    ) -> io::Result<()> {
        let mut start = 0;
        let ends = cuts
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < bytes.len())
            .chain([bytes.len()]);
        for end in ends {
            if end <= start {
                continue;
            }
            let pause = pause_at(start);
            let pause_before = if start == 0 {
                Duration::ZERO
            } else if self.skip_pause_when_read && self.wait_until_read() {
                pause
            } else {
                let t0 = Instant::now();
                std::thread::sleep(pause);
                self.wait_until_read();
                t0.elapsed()
            };
            self.transcript.sent.push(Piece {
                pause_before,
                bytes: bytes[start..end].to_vec(),
            });
            if let Err(e) = self.stream.write_all(&bytes[start..end]) {
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) {
                    self.transcript.peer_reset = true;
                }
                return Err(e);
            }
            self.sent += (end - start) as u64;
            start = end;
        }
        Ok(())
    }

    /// Waits until the server (if local) has read every byte sent so far, polling the kernel's
    /// socket table, for at most [`READ_WAIT`]. True when it saw that happen.
    fn wait_until_read(&self) -> bool {
        let (Ok(client), Ok(server)) = (self.stream.local_addr(), self.stream.peer_addr()) else {
            return false;
        };
        let deadline = Instant::now() + READ_WAIT;
        let mut spins = 0u32;
        while let Some(side) = crate::net::listeners::server_side(client, server) {
            if side.has_read(self.sent) {
                return true;
            }
            if side.received.is_none() && side.unread == 0 {
                // An older kernel without the byte count: what arrived was read.
                return false;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // A busy server reads within microseconds; a slow one gets the CPU back.
            spins += 1;
            if spins < 50 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        false
    }

    /// Tells the server this client will send nothing more (TCP half-close).
    pub fn half_close(&mut self) {
        self.transcript.half_closed = true;
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Leaves without reading: half-closes, waits (up to the timeout) until the server's
    /// kernel has received everything including the end of stream (it acknowledged it, or a
    /// local server's socket shows it, since the acknowledgement may be delayed), then resets the
    /// connection (SO_LINGER 0). The server reads what was sent, then end-of-stream, and every
    /// send it makes on the connection fails: it meets a client that has completely gone.
    pub fn leave_with_reset(mut self) -> Transcript {
        use nix::sys::socket::{setsockopt, sockopt::Linger};
        self.half_close();
        let deadline = Instant::now() + self.timeout;
        let ends = (self.stream.local_addr(), self.stream.peer_addr());
        let arrived = || match ends {
            (Ok(client), Ok(server)) => crate::net::listeners::server_side(client, server)
                .is_some_and(|s| s.state == crate::net::listeners::CLOSE_WAIT),
            _ => false,
        };
        while !self.end_acknowledged() && !arrived() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(100));
        }
        self.transcript.reset = true;
        let _ = setsockopt(
            &self.stream,
            Linger,
            &nix::libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        );
        self.transcript
    }

    /// Has the peer acknowledged our end of stream (state FIN-WAIT-2, or gone further)? Where
    /// TCP_INFO is Linux's alone, a moment after the half-close, which loopback acknowledges at
    /// once.
    #[cfg(not(target_os = "linux"))]
    fn end_acknowledged(&self) -> bool {
        std::thread::sleep(Duration::from_millis(20));
        true
    }

    /// Has the peer acknowledged our end of stream (state FIN-WAIT-2, or gone further)?
    #[cfg(target_os = "linux")]
    fn end_acknowledged(&self) -> bool {
        use std::os::fd::AsRawFd;
        const TCP_FIN_WAIT2: u8 = 5;
        const TCP_TIME_WAIT: u8 = 6;
        const TCP_CLOSE: u8 = 7;
        let mut info: nix::libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<nix::libc::tcp_info>() as nix::libc::socklen_t;
        // SAFETY: `info` is a valid, writable tcp_info of `len` bytes for the whole call.
        let rc = unsafe {
            nix::libc::getsockopt(
                self.stream.as_raw_fd(),
                nix::libc::IPPROTO_TCP,
                nix::libc::TCP_INFO,
                (&mut info as *mut nix::libc::tcp_info).cast(),
                &mut len,
            )
        };
        rc != 0 || matches!(info.tcpi_state, TCP_FIN_WAIT2 | TCP_TIME_WAIT | TCP_CLOSE)
    }

    /// Reads whatever arrives next, waiting until `deadline` at most. Appends to the transcript.
    /// A watched connection looks at the server while it waits and returns
    /// [`ReadStatus::Timeout`] early, with [`Conn::stalled`] saying why, once the kernel shows
    /// nothing can arrive in time.
    pub fn read_some(&mut self, deadline: Instant) -> ReadStatus {
        let mut slice = LOOK_FIRST;
        let mut last: Option<(Seen, u64, Instant)> = None;
        loop {
            let now = Instant::now();
            // The stretch holds for the whole reply (its header may come at the server's
            // timeout and its payload a moment later), not for the short waits after it.
            let until = match self.stretched {
                Some((s, base, _)) if deadline >= base && s > deadline => s,
                _ => deadline,
            };
            if now >= until {
                if let Some(w) = &self.watch {
                    w.expired();
                }
                return ReadStatus::Timeout;
            }
            let watching = self.watch.as_ref().is_some_and(Watch::active);
            let wait = if watching {
                (until - now).min(slice)
            } else {
                until - now
            };
            match self.read_once(wait) {
                ReadStatus::Timeout => {}
                other => return other,
            }
            if !watching {
                continue;
            }
            slice = (slice * 2).min(LOOK_MAX);
            let Some((seen, print)) = self.look() else {
                continue;
            };
            let now = Instant::now();
            let confirmed = matches!(&last, Some((s, p, at)) if *s == seen && *p == print && now - *at >= LOOK_CONFIRM);
            if !confirmed {
                if seen != Seen::Busy
                    && !matches!(&last, Some((s, p, _)) if *s == seen && *p == print)
                {
                    last = Some((seen, print, now));
                    slice = LOOK_CONFIRM;
                }
                continue;
            }
            match seen {
                Seen::Busy => {}
                Seen::Never(why) => {
                    self.stalled = Some(why);
                    return ReadStatus::Timeout;
                }
                Seen::Within(t, why) if t > self.timeout => {
                    self.stalled = Some(format!(
                        "{why}, with a timeout of {} (longer than srpc-check's {})",
                        humantime::format_duration(crate::words::round_ms(t)),
                        humantime::format_duration(self.timeout)
                    ));
                    return ReadStatus::Timeout;
                }
                Seen::Within(t, _) => {
                    // Its own timeout ends first, however loaded the machine is.
                    let by = now + t + self.timeout;
                    self.stretched.get_or_insert((by, deadline, t));
                    last = None;
                    slice = LOOK_MAX;
                }
            }
        }
    }

    /// The server's own timeout that a wait on this connection was seen to depend on (no
    /// longer than ours, so the wait was stretched past it): a delay the server imposes.
    pub fn delayed_by(&self) -> Option<Duration> {
        self.stretched.map(|(_, _, t)| t)
    }

    /// One look at the server and this connection.
    fn look(&self) -> Option<(Seen, u64)> {
        let (client, server) = (
            self.stream.local_addr().ok()?,
            self.stream.peer_addr().ok()?,
        );
        self.watch.as_ref()?.look(client, server, self.sent)
    }

    /// One read with a timeout.
    fn read_once(&mut self, wait: Duration) -> ReadStatus {
        let _ = self
            .stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))));
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => ReadStatus::Eof,
            Ok(n) => {
                self.transcript.received.extend_from_slice(&chunk[..n]);
                ReadStatus::Data(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                ReadStatus::Timeout
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadStatus::Data(0),
            Err(_) => {
                self.transcript.peer_reset = true;
                ReadStatus::Reset
            }
        }
    }

    /// Has the server already closed or reset this connection? One look, no wait: anything it
    /// sent first joins the transcript, at most [`CLOSED_LOOK`] reads of it (a server that goes
    /// on sending has not closed).
    pub fn closed_by_peer(&mut self) -> bool {
        for _ in 0..CLOSED_LOOK {
            match self.read_once(Duration::from_millis(1)) {
                ReadStatus::Data(_) => {}
                ReadStatus::Timeout => return false,
                ReadStatus::Eof | ReadStatus::Reset => return true,
            }
        }
        false
    }

    /// Waits for the server to close. Returns how it ended and any bytes that came first.
    /// (For a watched connection, a server seen never to close it ends the wait early.)
    pub fn wait_close(&mut self, deadline: Instant) -> (ReadStatus, usize) {
        let mut extra = 0;
        loop {
            match self.read_some(deadline) {
                ReadStatus::Data(n) => extra += n,
                other => return (other, extra),
            }
        }
    }
}
