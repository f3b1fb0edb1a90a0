//! The harness's own srpc codec, deliberately independent of the reference server's.
//!
//! Requests can be built honestly ([`request`]) or with a lying header ([`frame`]) so that cases
//! can send what a broken client would. Replies are read by their declared length, never more
//! than [`MAX_REPLY`] bytes, and every read has a deadline; whatever arrived is kept, so a
//! failure can show the bytes.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{timeout_at, Instant};

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 8;

/// The largest reply payload the harness will read. A server declaring more is reported, not
/// believed: nothing is allocated for it.
pub const MAX_REPLY: usize = 64 * 1024 * 1024;

/// A frame with any version and declared length, even ones that do not match the payload.
pub fn frame(version: i32, declared_len: i32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    let header = Header {
        version,
        length: declared_len,
    };
    out.extend_from_slice(&header.bytes());
    out.extend_from_slice(payload);
    out
}

/// A well-formed request frame (version 1, true length).
pub fn request(payload: &[u8]) -> Vec<u8> {
    let len = i32::try_from(payload.len()).expect("request payload fits in an i32");
    frame(1, len, payload)
}

/// A well-formed request whose header is packed big-endian (`">ii"`), as a server that reads
/// headers big-endian expects it.
pub fn request_big_endian(payload: &[u8]) -> Vec<u8> {
    let mut out = request(payload);
    let header = Header::parse(out[..HEADER_LEN].try_into().expect("8 bytes"));
    out[..HEADER_LEN].copy_from_slice(&header.bytes_be());
    out
}

/// The two header fields as the lab packs them: native-endian C ints, little-endian in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: i32,
    pub length: i32,
}

impl Header {
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Header {
        Header {
            version: i32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")),
            length: i32::from_le_bytes(bytes[4..].try_into().expect("4 bytes")),
        }
    }

    /// The same bytes read big-endian, as a server that packs `">ii"` means them.
    pub fn parse_be(bytes: &[u8; HEADER_LEN]) -> Header {
        Header {
            version: i32::from_be_bytes(bytes[..4].try_into().expect("4 bytes")),
            length: i32::from_be_bytes(bytes[4..].try_into().expect("4 bytes")),
        }
    }

    /// The header as sent: the inverse of [`Header::parse`].
    pub fn bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..].copy_from_slice(&self.length.to_le_bytes());
        out
    }

    /// The header packed big-endian: the inverse of [`Header::parse_be`].
    pub fn bytes_be(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(&self.version.to_be_bytes());
        out[4..].copy_from_slice(&self.length.to_be_bytes());
        out
    }
}

/// A whole reply, read by its declared length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// Why no whole reply could be read. Each variant keeps the bytes that did arrive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the server closed the connection after {} bytes", received.len())]
    Closed { received: Vec<u8> },
    #[error("no complete reply within the time limit ({} bytes arrived)", received.len())]
    Timeout { received: Vec<u8> },
    #[error("the reply header declares an impossible length {declared}")]
    BadLength { declared: i32, received: Vec<u8> },
    #[error("the connection failed: {kind} ({} bytes arrived)", received.len())]
    Io {
        kind: std::io::ErrorKind,
        received: Vec<u8>,
    },
}

impl ReadError {
    /// The bytes received before the read failed.
    pub fn received(&self) -> &[u8] {
        match self {
            ReadError::Closed { received }
            | ReadError::Timeout { received }
            | ReadError::BadLength { received, .. }
            | ReadError::Io { received, .. } => received,
        }
    }
}

/// Reads exactly `want` more bytes into `buf`, growing it only as bytes arrive.
async fn fill<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    want: usize,
    deadline: Instant,
) -> Result<(), ReadError> {
    let target = buf.len() + want;
    while buf.len() < target {
        buf.reserve((target - buf.len()).min(64 * 1024));
        let mut limited = (&mut *stream).take((target - buf.len()) as u64);
        match timeout_at(deadline, limited.read_buf(buf)).await {
            Err(_) => {
                return Err(ReadError::Timeout {
                    received: std::mem::take(buf),
                })
            }
            Ok(Ok(0)) => {
                return Err(ReadError::Closed {
                    received: std::mem::take(buf),
                })
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(ReadError::Io {
                    kind: e.kind(),
                    received: std::mem::take(buf),
                })
            }
        }
    }
    Ok(())
}

/// Reads one reply: the header, then exactly the declared number of payload bytes.
pub async fn read_reply<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Result<Reply, ReadError> {
    let deadline = Instant::now() + limit;
    let mut buf = Vec::with_capacity(256);
    fill(stream, &mut buf, HEADER_LEN, deadline).await?;
    let header = Header::parse(buf[..HEADER_LEN].try_into().expect("8 bytes"));
    let len = match usize::try_from(header.length) {
        Ok(n) if n <= MAX_REPLY => n,
        _ => {
            return Err(ReadError::BadLength {
                declared: header.length,
                received: buf,
            })
        }
    };
    fill(stream, &mut buf, len, deadline).await?;
    buf.drain(..HEADER_LEN);
    Ok(Reply {
        header,
        payload: buf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_reply_split_anywhere() {
        let bytes = request(b"{\"status\": \"OK\"}");
        for cut in 1..bytes.len() {
            let mut stream = tokio_test_reader(&bytes, cut);
            let reply = read_reply(&mut stream, Duration::from_secs(1))
                .await
                .unwrap();
            assert_eq!(reply.payload, b"{\"status\": \"OK\"}");
            assert_eq!(
                reply.header,
                Header {
                    version: 1,
                    length: 16
                }
            );
        }
    }

    #[test]
    fn a_big_endian_request_reads_back_as_version_1_only_big_endian() {
        let bytes = request_big_endian(b"{}");
        assert_eq!(&bytes[..8], &[0, 0, 0, 1, 0, 0, 0, 2]);
        let header: [u8; HEADER_LEN] = bytes[..8].try_into().unwrap();
        assert_eq!(
            Header::parse_be(&header),
            Header {
                version: 1,
                length: 2
            }
        );
        assert_eq!(Header::parse(&header).length, 2 << 24);
    }

    #[tokio::test]
    async fn a_huge_declared_length_is_not_believed() {
        let bytes = frame(1, i32::MAX, b"{}");
        let err = read_reply(&mut &bytes[..], Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            ReadError::BadLength {
                declared: i32::MAX,
                ..
            }
        ));
        assert_eq!(err.received().len(), HEADER_LEN);
    }

    #[tokio::test]
    async fn a_short_reply_keeps_what_arrived() {
        let bytes = frame(1, 10, b"{}");
        let err = read_reply(&mut &bytes[..], Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ReadError::Closed {
                received: bytes.clone()
            }
        );
    }

    /// A reader that yields `bytes` in two pieces cut at `cut`.
    fn tokio_test_reader(bytes: &[u8], cut: usize) -> impl AsyncRead + Unpin + '_ {
        let (a, b) = bytes.split_at(cut);
        a.chain(b)
    }
}
