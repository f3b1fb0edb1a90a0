//! The srpc frame: an 8-byte header of two little-endian `i32`s (version, payload length) and
//! the payload.
//!
//! Decoding is incremental. [`decode`] looks at whatever has arrived so far and says whether a
//! whole frame is there, more bytes are needed, or the header is unacceptable. "Not enough bytes
//! yet" is a normal answer, never an error, so a frame split across any number of reads decodes
//! exactly like one that arrived whole. The declared length is checked against a cap before
//! anything is allocated for it.

/// Size of the frame header in bytes.
pub const HEADER_LEN: usize = 8;

/// The version this server writes in every reply header.
pub const VERSION: i32 = 1;

/// What the bytes received so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// More bytes are needed. `need` is how many in total, as far as is known yet.
    Incomplete { need: usize },
    /// A whole frame: the payload is `buf[HEADER_LEN..HEADER_LEN + len]`.
    Frame { version: i32, len: usize },
}

/// A header the server refuses without reading the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    NegativeLength(i32),
    TooLong { declared: usize, max: usize },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NegativeLength(n) => write!(f, "negative payload length {n}"),
            FrameError::TooLong { declared, max } => {
                write!(
                    f,
                    "declared payload length {declared} exceeds the maximum {max}"
                )
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes the frame at the start of `buf`, accepting payloads of at most `max_payload` bytes.
pub fn decode(buf: &[u8], max_payload: usize) -> Result<Decoded, FrameError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(Decoded::Incomplete { need: HEADER_LEN });
    };
    let version = i32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let declared = i32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    let len = usize::try_from(declared).map_err(|_| FrameError::NegativeLength(declared))?;
    if len > max_payload {
        return Err(FrameError::TooLong {
            declared: len,
            max: max_payload,
        });
    }
    if buf.len() < HEADER_LEN + len {
        return Ok(Decoded::Incomplete {
            need: HEADER_LEN + len,
        });
    }
    Ok(Decoded::Frame { version, len })
}

/// Builds a whole reply frame around `payload`.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let len = i32::try_from(payload.len()).expect("reply payload fits in an i32");
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: i32, len: i32) -> Vec<u8> {
        [version.to_le_bytes(), len.to_le_bytes()].concat()
    }

    #[test]
    fn every_prefix_of_a_frame_is_incomplete() {
        let mut frame = header(1, 5);
        frame.extend_from_slice(b"hello");
        for cut in 0..frame.len() {
            assert!(
                matches!(decode(&frame[..cut], 100), Ok(Decoded::Incomplete { .. })),
                "cut {cut}"
            );
        }
        assert_eq!(
            decode(&frame, 100),
            Ok(Decoded::Frame { version: 1, len: 5 })
        );
    }

    #[test]
    fn bad_lengths_are_refused_from_the_header_alone() {
        assert_eq!(
            decode(&header(1, -1), 100),
            Err(FrameError::NegativeLength(-1))
        );
        assert_eq!(
            decode(&header(1, i32::MAX), 100),
            Err(FrameError::TooLong {
                declared: i32::MAX as usize,
                max: 100
            })
        );
    }

    #[test]
    fn encode_writes_version_one_and_byte_length() {
        assert_eq!(encode(b"{}"), [1, 0, 0, 0, 2, 0, 0, 0, b'{', b'}']);
    }
}
