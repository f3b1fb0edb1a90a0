//! The server srpc-check plays for one run of a lab 3 client: the id, the student info read
//! whole (bounded), then the ack, each delivered as the case says and each piece once the
//! client has read the ones before ([`crate::client::conn`]).

use std::ops::Range;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};

use super::Delivery;
use crate::client::conn::{ConnLog, End, Live};
use crate::client::listen::{attend, Ended, Program, Turn};
use crate::client::Stage;
use crate::protocol::handshake::cases::PICKLE_PROTOCOL;
use crate::protocol::handshake::pickle::{self, Py, Read, Value};
use crate::server::supervisor::Supervised;

/// How long the slow case holds the ack back (between the socket timeouts students use most).
pub const SLOW: Duration = Duration::from_millis(1500);

/// What the client sent as its student info.
#[derive(Debug, Clone)]
pub enum Info {
    /// A plain value.
    Value(Value),
    /// A pickle that names or calls a Python object: refused unread.
    Refused(&'static str),
    /// Bytes that are not a whole pickle, and why.
    Malformed(String),
    /// Nothing came.
    Missing(String),
}

/// One connection: what it carried.
pub struct HandshakeConn {
    pub log: ConnLog,
    /// The id srpc-check sent: the client's port.
    pub port: u16,
    pub info: Info,
    /// The ack srpc-check sent, when it sent one.
    pub ack: Option<i64>,
}

/// One run of the client against srpc-check.
pub struct RunLog {
    pub conns: Vec<HandshakeConn>,
    pub ended: Ended,
    /// Everything the program printed.
    pub output: String,
}

/// Serves the program's connections until it exits or idles for too long.
pub fn serve(stage: &Stage<'_>, delivery: Delivery, process: &mut Supervised) -> RunLog {
    let timeout = stage.settings.timeout;
    let mut conns: Vec<(Live, u16, Info, Option<i64>)> = Vec::new();
    let (ended, output) = attend(
        stage.listeners,
        process,
        (timeout, stage.settings.start_timeout),
        &mut |turn, program| match turn {
            Turn::Tick => {
                for (live, ..) in conns.iter_mut() {
                    live.poll_end();
                }
            }
            Turn::Accepted(stream, peer) => {
                let mut live = Live::new(stream, peer, timeout);
                let (info, ack) = shake(&mut live, delivery, timeout, program);
                conns.push((live, peer.port(), info, ack));
            }
        },
    );
    RunLog {
        conns: conns
            .into_iter()
            .map(|(live, port, info, ack)| HandshakeConn {
                log: live.log,
                port,
                info,
                ack,
            })
            .collect(),
        ended,
        output,
    }
}

/// A message in one piece.
fn whole(len: usize) -> Vec<Range<usize>> {
    std::iter::once(0..len).collect()
}

/// The two halves of a message.
fn halves(len: usize) -> Vec<Range<usize>> {
    vec![0..len / 2, len / 2..len]
}

/// One connection, as the case has it: what the client sent as its info, and the ack sent.
fn shake(
    live: &mut Live,
    delivery: Delivery,
    timeout: Duration,
    program: &mut Program<'_>,
) -> (Info, Option<i64>) {
    let id = pickle::dumps(
        &Py::dict([("clientid", Py::Int(i64::from(live.peer.port())))]),
        PICKLE_PROTOCOL,
    );
    let ack_value = if delivery == Delivery::WrongAck { 0 } else { 1 };
    let ack = pickle::dumps(&Py::Int(ack_value), PICKLE_PROTOCOL);
    let mut frame = id.clone();
    match delivery {
        Delivery::Together => {
            frame.extend_from_slice(&ack);
            live.deliver(&frame, &whole(frame.len()), timeout, program);
        }
        Delivery::SplitId => {
            live.deliver(&frame, &halves(frame.len()), timeout, program);
            finish_stalled(live, &frame);
        }
        _ => live.deliver(&frame, &whole(frame.len()), timeout, program),
    }
    live.log.frame_len = frame.len();
    live.log.reply = Some(frame.clone());
    if delivery == Delivery::ClosesAfterId {
        live.close();
        return (Info::Missing("srpc-check closed after the id".into()), None);
    }
    let info = read_info(live, timeout, program);
    if delivery == Delivery::Together {
        return (info, Some(ack_value));
    }
    if !matches!(info, Info::Value(_)) || delivery == Delivery::NoAck {
        live.close();
        return (info, None);
    }
    if delivery == Delivery::SlowAck {
        let until = Instant::now() + SLOW;
        while Instant::now() < until && !program.gone() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // The ack follows the id in the log's frame, so what the client read counts both.
    let start = frame.len();
    frame.extend_from_slice(&ack);
    let pieces = if delivery == Delivery::SplitAck {
        let half = start + ack.len() / 2;
        vec![start..half, half..frame.len()]
    } else {
        std::iter::once(start..frame.len()).collect()
    };
    deliver_rest(live, &frame, &pieces, timeout, program);
    (info, Some(ack_value))
}

/// Delivers `pieces` of `frame` after what was delivered before (the id), and logs the whole
/// frame as the reply.
fn deliver_rest(
    live: &mut Live,
    frame: &[u8],
    pieces: &[Range<usize>],
    timeout: Duration,
    program: &mut Program<'_>,
) {
    live.deliver(frame, pieces, timeout, program);
    finish_stalled(live, frame);
    live.log.frame_len = frame.len();
    live.log.reply = Some(frame.to_vec());
}

/// A client that did not read the first piece within the timeout (a busy machine) gets the
/// rest anyway: the split is then not certain, but the client is not left waiting for bytes
/// srpc-check held back, which would look like its own hang.
fn finish_stalled(live: &mut Live, frame: &[u8]) {
    if !live.log.stalled || live.log.end != End::Open {
        return;
    }
    let sent: usize = live.log.pieces.iter().map(|p| p.bytes.len()).sum();
    let rest = &frame[sent.min(frame.len())..];
    if !rest.is_empty() && std::io::Write::write_all(&mut &live.stream, rest).is_ok() {
        live.log.pieces.push(crate::net::conn::Piece {
            pause_before: Duration::ZERO,
            bytes: rest.to_vec(),
        });
        live.log.stalled = false;
    }
}

/// Reads the student info, a pickle of at most [`pickle::MAX_MESSAGE`] bytes, however it
/// arrives.
fn read_info(live: &mut Live, timeout: Duration, program: &mut Program<'_>) -> Info {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 4096];
    // A client that sent its info while the id was being delivered: the wait for its reading
    // saw the bytes first and kept them as extra.
    let early = std::mem::take(&mut live.log.extra);
    live.log.request.extend_from_slice(&early);
    loop {
        match pickle::read(&live.log.request) {
            Read::Value(v, len) => {
                let extra = live.log.request.split_off(len);
                live.log.extra = extra;
                return Info::Value(v);
            }
            Read::Refused { opcode, .. } => return Info::Refused(opcode),
            Read::Malformed(why) => return Info::Malformed(why),
            Read::Incomplete => {}
        }
        match recv(live.stream.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(0) => {
                live.log.end = End::Closed;
                break;
            }
            Ok(n) => live.log.request.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => {
                if Instant::now() >= deadline || program.gone() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(Errno::EINTR) => {}
            Err(_) => {
                live.log.end = End::Reset;
                break;
            }
        }
    }
    let got = &live.log.request;
    Info::Missing(if got.is_empty() {
        match live.log.end {
            End::Closed | End::Reset => "the client closed the connection without sending its student info".into(),
            _ if program.gone() => "the client exited without sending its student info".into(),
            _ => format!(
                "the client sent no student info within {}",
                humantime::format_duration(timeout)
            ),
        }
    } else {
        format!(
            "the client sent {} bytes that are not a whole pickle: {}",
            got.len(),
            pickle::shown(got)
        )
    })
}
