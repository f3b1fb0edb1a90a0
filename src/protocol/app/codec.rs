//! The harness's own codec for the lab 4 message (independent of the reference server's): it
//! builds requests as the tutorial's client does, and lying ones (a header key missing, a length
//! that is not what follows), and reads a reply with a diagnosis of what is wrong with it.

use std::time::Instant;

use serde_json::{Map, Value};

use crate::net::conn::{Conn, ReadStatus};
use crate::net::reply::NoReply;

/// The content type of the client's binary requests.
pub const CLIENT_BINARY: &str = "binary/custom-client-binary-type";
/// The four keys of every header, in the order the tutorial writes them.
pub const KEYS: [&str; 4] = [
    "byteorder",
    "content-type",
    "content-encoding",
    "content-length",
];
/// Largest reply srpc-check reads (a reply declares its own lengths; these cap what is kept).
pub const MAX_REPLY: usize = 16 << 20;

/// A JSON header with the tutorial's four keys, spaced as `json.dumps` spaces them.
pub fn header(content_type: &str, encoding: &str, length: usize) -> Vec<u8> {
    format!(
        r#"{{"byteorder": "little", "content-type": {}, "content-encoding": {}, "content-length": {length}}}"#,
        Value::from(content_type),
        Value::from(encoding)
    )
    .into_bytes()
}

/// A message around `header` and `content`, with the 2-byte length of `header` (which may lie
/// about the content).
pub fn framed(header: &[u8], content: &[u8]) -> Vec<u8> {
    let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
    framed_with_length(len, header, content)
}

/// A message whose 2-byte length is `len`, whatever follows.
pub fn framed_with_length(len: u16, header: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(content);
    out
}

/// A well-formed request.
pub fn request(content_type: &str, encoding: &str, content: &[u8]) -> Vec<u8> {
    framed(&header(content_type, encoding, content.len()), content)
}

/// `search` for `value`, as the tutorial's client sends it.
pub fn search(value: &str) -> Vec<u8> {
    let content = format!(r#"{{"action": "search", "value": {}}}"#, Value::from(value));
    request("text/json", "utf-8", content.as_bytes())
}

/// A binary request with `content`.
pub fn binary(content: &[u8]) -> Vec<u8> {
    request(CLIENT_BINARY, "binary", content)
}

/// The lab 4 assignment's `struct.pack(">6si", command, n)`.
pub fn command(name: &[u8; 6], n: i32) -> Vec<u8> {
    binary(&[&name[..], &n.to_be_bytes()].concat())
}

/// Where the parts of a message end: the 2-byte length, the JSON header, the content.
pub fn boundaries(message: &[u8]) -> Option<(usize, usize, usize)> {
    let n = usize::from(u16::from_be_bytes([*message.first()?, *message.get(1)?]));
    let header: Value = serde_json::from_slice(message.get(2..2 + n)?).ok()?;
    let length = header.get("content-length")?.as_u64()? as usize;
    Some((2, 2 + n, 2 + n + length))
}

/// A reply read whole.
#[derive(Debug, Clone)]
pub struct Message {
    /// Every byte that arrived.
    pub raw: Vec<u8>,
    /// The JSON header, as text and as an object.
    pub header_text: String,
    pub header: Map<String, Value>,
    /// The content (as long as content-length says, or to the close when it says nothing).
    pub content: Vec<u8>,
    /// Bytes after the content.
    pub extra: usize,
    /// The server closed the connection after it.
    pub closed: bool,
}

impl Message {
    pub fn text(&self, key: &str) -> Option<&str> {
        self.header.get(key).and_then(Value::as_str)
    }

    /// What is wrong with the header: missing or respelled keys, wrong types, a content-length
    /// that is not the content's length.
    pub fn header_problem(&self) -> Option<String> {
        let missing: Vec<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| !self.header.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            let others: Vec<&String> = self
                .header
                .keys()
                .filter(|k| !KEYS.contains(&k.as_str()))
                .collect();
            return Some(format!(
                "the reply header lacks {}{}: {}",
                missing.join(", "),
                if others.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it has {})",
                        others
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                self.header_text
            ));
        }
        for key in &KEYS[..3] {
            if !self.header[*key].is_string() {
                return Some(format!("{key} is not a string: {}", self.header[*key]));
            }
        }
        match self.header["content-length"].as_u64() {
            None => Some(format!(
                "content-length is not a byte count: {}",
                self.header["content-length"]
            )),
            Some(n) if n as usize != self.content.len() + self.extra && !self.closed => None,
            Some(n) if n as usize != self.content.len() => Some(format!(
                "content-length says {n}, but the content is {} bytes",
                self.content.len()
            )),
            Some(_) if self.extra > 0 => Some(format!(
                "content-length says {}, and {} more bytes followed the content",
                self.content.len(),
                self.extra
            )),
            Some(_) => None,
        }
    }
}

/// Reads one reply from `conn` until `deadline`: the whole message, and whether the server then
/// closed (waited for, until the same deadline, only when `wait_close`; a watched connection
/// ends that wait as soon as the server is seen not to close).
pub fn read_reply(
    conn: &mut Conn,
    deadline: Instant,
    wait_close: bool,
) -> Result<Message, NoReply> {
    let mut ended = None;
    loop {
        let received = &conn.transcript.received;
        if let Some(whole) = parse(received, ended.is_some()) {
            let mut m = whole;
            if ended.is_none() && wait_close {
                let (status, _) = conn.wait_close(deadline);
                m.closed = matches!(status, ReadStatus::Eof | ReadStatus::Reset);
                let all = conn.transcript.received.len();
                m.extra = all - (m.raw.len() - m.extra);
            } else {
                m.closed = ended.is_some();
            }
            return Ok(m);
        }
        if let Some(status) = ended {
            return Err(match (status, conn.transcript.received.is_empty()) {
                (ReadStatus::Reset, true) => NoReply::Reset,
                (_, true) => NoReply::ClosedSilently,
                (ReadStatus::Timeout, false) => NoReply::Silent(Some(format!(
                    "{} bytes arrived, then nothing: {}",
                    conn.transcript.received.len(),
                    why_not(&conn.transcript.received)
                ))),
                (_, false) => NoReply::Garbled {
                    reason: why_not(&conn.transcript.received),
                },
            });
        }
        if conn.transcript.received.len() > MAX_REPLY {
            return Err(NoReply::Garbled {
                reason: format!("more than {MAX_REPLY} bytes arrived"),
            });
        }
        match conn.read_some(deadline) {
            ReadStatus::Data(_) => {}
            status => {
                ended = Some(status);
                if status == ReadStatus::Timeout && conn.transcript.received.is_empty() {
                    return Err(NoReply::Silent(conn.stalled.clone()));
                }
            }
        }
    }
}

/// A whole message at the start of `bytes`; `ended`: nothing more will come (so a header
/// without content-length takes the rest as content).
pub fn parse(bytes: &[u8], ended: bool) -> Option<Message> {
    let n = usize::from(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]));
    let header_bytes = bytes.get(2..2 + n)?;
    let header_text = String::from_utf8_lossy(header_bytes).into_owned();
    // A header that is not a JSON object is no message (the caller says why).
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(header_bytes) else {
        return None;
    };
    let rest = &bytes[2 + n..];
    let content = match header.get("content-length").and_then(Value::as_u64) {
        Some(len) if (len as usize) <= rest.len() => &rest[..len as usize],
        Some(_) if !ended => return None,
        _ if ended => rest,
        _ => return None,
    };
    Some(Message {
        raw: bytes.to_vec(),
        header_text,
        header,
        extra: rest.len() - content.len(),
        content: content.to_vec(),
        closed: ended,
    })
}

/// Why `bytes` are not a whole message.
pub fn why_not(bytes: &[u8]) -> String {
    if bytes.len() < 2 {
        return format!(
            "a reply starts with a 2-byte length, and only {} arrived",
            crate::words::count(bytes.len(), "byte")
        );
    }
    let n = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    let Some(header) = bytes.get(2..2 + n) else {
        return format!(
            "the 2-byte length says the JSON header is {n} bytes, and {} arrived",
            bytes.len() - 2
        );
    };
    match serde_json::from_slice::<Value>(header) {
        Err(e) => format!(
            "the JSON header is not JSON ({e}): {}",
            String::from_utf8_lossy(header)
        ),
        Ok(Value::Object(h)) => match h.get("content-length").and_then(Value::as_u64) {
            Some(len) => format!(
                "content-length says {len}, and {} bytes of content arrived",
                bytes.len() - 2 - n
            ),
            None => "the header has no content-length".into(),
        },
        Ok(_) => "the JSON header is not an object".into(),
    }
}

pub use crate::pyrepr::bytes as py_bytes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_double_request_byte_for_byte() {
        assert_eq!(
            command(b"double", 7654321),
            b"\x00\x7f{\"byteorder\": \"little\", \"content-type\": \"binary/custom-client-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}double\x00t\xcb\xb1"
        );
        assert_eq!(boundaries(&command(b"double", 1)), Some((2, 129, 139)));
    }

    #[test]
    fn parse_waits_for_the_whole_content_and_reports_headers() {
        let m = command(b"double", 7);
        for cut in 0..m.len() {
            assert!(parse(&m[..cut], false).is_none(), "{cut}");
        }
        let whole = parse(&m, false).unwrap();
        assert_eq!(whole.content.len(), 10);
        assert_eq!(whole.header_problem(), None);
        let respelled = framed(
            br#"{"byteorder": "little", "content-type": "x", "content-encoding": "x", "Content-length": 2}"#,
            b"ab",
        );
        let m = parse(&respelled, true).unwrap();
        assert!(
            m.header_problem().unwrap().contains("lacks content-length"),
            "{m:?}"
        );
        assert_eq!(py_bytes(b"result\x00\xe9\x97b"), r"b'result\x00\xe9\x97b'");
    }
}
