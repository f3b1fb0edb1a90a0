//! The accept loop and the life of one connection.
//!
//! One connection carries one request: read a frame (however it is split), reply, close. Only
//! this module touches sockets. [`serve_connection`] is generic over any async byte stream so
//! tests and fuzz targets can drive a whole session in memory.
//!
//! Every way a client can misbehave ends in an ERROR reply (when it can still be delivered) and
//! a closed connection: the server itself never stops because of a client.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{timeout, timeout_at, Instant};

use crate::command::{self, ERROR_REPLY};
use crate::db::Db;
use crate::frame::{self, Decoded, HEADER_LEN};

/// Limits that protect the server from its clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted payload. A longer declared length gets ERROR without being read.
    pub max_payload: usize,
    /// Time a client has, from accept, to deliver a whole request.
    pub read_timeout: Duration,
    /// Time allowed for writing the reply.
    pub write_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_payload: 16 * 1024 * 1024,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            max_connections: 1024,
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

/// Why a connection ended without a request to carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFailure {
    /// The peer closed before a whole frame arrived (includes an empty connection).
    Eof,
    /// The read deadline passed.
    Timeout,
    /// The header declared a length we refuse.
    BadLength(frame::FrameError),
}

/// Reads one request frame, returning its payload. Blocks until the whole frame is in, the peer
/// closes, the header is refused, or `deadline` passes.
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    max_payload: usize,
    deadline: Instant,
) -> io::Result<Result<Vec<u8>, ReadFailure>> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        match frame::decode(&buf, max_payload) {
            Ok(Decoded::Frame { len, .. }) => {
                buf.truncate(HEADER_LEN + len);
                buf.drain(..HEADER_LEN);
                return Ok(Ok(buf));
            }
            Err(e) => return Ok(Err(ReadFailure::BadLength(e))),
            Ok(Decoded::Incomplete { need }) => {
                let want = (need - buf.len()).min(READ_CHUNK);
                buf.reserve(want);
            }
        }
        match timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Err(_) => return Ok(Err(ReadFailure::Timeout)),
            Ok(Ok(0)) => return Ok(Err(ReadFailure::Eof)),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

/// Serves one connection: one request, one reply, then the stream is shut down.
pub async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    db: &Db,
    config: &Config,
) -> io::Result<()> {
    let deadline = Instant::now() + config.read_timeout;
    let request = read_request(&mut stream, config.max_payload, deadline).await?;
    let (reply, unread_input) = match &request {
        Ok(payload) => (command::respond(db, payload), false),
        Err(ReadFailure::BadLength(_)) => (ERROR_REPLY.to_vec(), true),
        Err(ReadFailure::Timeout) => (ERROR_REPLY.to_vec(), true),
        Err(ReadFailure::Eof) => (ERROR_REPLY.to_vec(), false),
    };
    let frame = frame::encode(&reply);
    match timeout(config.write_timeout, stream.write_all(&frame)).await {
        Ok(result) => result?,
        Err(_) => return Err(io::ErrorKind::TimedOut.into()),
    }
    let _ = timeout(config.write_timeout, stream.shutdown()).await;
    if unread_input {
        drain(&mut stream).await;
    }
    Ok(())
}

async fn drain<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut scratch = [0u8; 8192];
    let mut total = 0;
    let deadline = Instant::now() + DRAIN_TIME;
    while total < DRAIN_BYTES {
        match timeout_at(deadline, stream.read(&mut scratch)).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => break,
        }
    }
}

/// Runs the server on `listener` with default limits until `shutdown` completes.
pub async fn run(listener: TcpListener, shutdown: impl Future) -> io::Result<()> {
    run_with(listener, Config::default(), Db::new(), shutdown).await
}

/// Runs the server with the given limits and store until `shutdown` completes, then waits (up
/// to the read and write deadlines) for connections already accepted to finish.
pub async fn run_with(
    listener: TcpListener,
    config: Config,
    db: Db,
    shutdown: impl Future,
) -> io::Result<()> {
    let config = Arc::new(config);
    let permits = Arc::new(Semaphore::new(config.max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("semaphore never closed"),
        };
        let (socket, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Usually EMFILE or a connection reset before accept: back off, keep serving.
                    eprintln!("reference-server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = socket.set_nodelay(true);
        let db = db.clone();
        let config = config.clone();
        tokio::spawn(async move {
            // Errors here are one client's problem (reset, timeout); nothing to do but close.
            let _ = serve_connection(socket, &db, &config).await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = config.read_timeout + config.write_timeout + DRAIN_TIME;
    let max = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
    let _ = timeout(grace, permits.acquire_many(max)).await;
    Ok(())
}
