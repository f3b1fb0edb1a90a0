//! The lab 4 message: a 2-byte big-endian length, that many bytes of JSON header, then
//! `content-length` bytes of content.
//!
//! Decoding is incremental, as the tutorial's reader is: [`decode`] looks at whatever has arrived
//! and says whether a whole message is there, more bytes are needed (a normal answer, never an
//! error), or the header is one the tutorial's server would raise on. The content length is
//! checked against a cap before anything is allocated for it.

use crate::json::{self, Value};

/// Size of the fixed-length header that carries the JSON header's length.
pub const PROTOHEADER_LEN: usize = 2;

/// The four keys every JSON header carries, in the order CPython's dict keeps them.
pub const HEADER_KEYS: [&str; 4] = [
    "byteorder",
    "content-type",
    "content-encoding",
    "content-length",
];

/// What the bytes received so far amount to.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// More bytes are needed: at least `need` in all, as far as is known yet.
    Incomplete { need: usize },
    /// A whole message, ending at byte `end` of the input.
    Message(Message),
}

/// One whole message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The header's `content-type`, as the JSON value it is.
    pub content_type: Value,
    pub content_encoding: Value,
    pub content: Vec<u8>,
    /// Bytes of input the message took.
    pub end: usize,
}

/// A header the tutorial's server raises on: the connection is closed with no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Not JSON (or not UTF-8) at all.
    NotJson(json::ParseError),
    /// JSON, but not an object.
    NotAnObject,
    /// One of the four keys is missing (`ValueError('Missing required header "KEY".')`).
    Missing(&'static str),
    /// `content-length` is not a non-negative integer.
    BadLength,
    /// `content-length` is over the server's cap.
    TooLong { declared: usize, max: usize },
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::NotJson(e) => write!(f, "the JSON header is not JSON: {e}"),
            HeaderError::NotAnObject => write!(f, "the JSON header is not an object"),
            HeaderError::Missing(key) => write!(f, "Missing required header \"{key}\"."),
            HeaderError::BadLength => write!(f, "content-length is not a non-negative integer"),
            HeaderError::TooLong { declared, max } => {
                write!(f, "content-length {declared} exceeds the maximum {max}")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// The value of `key` in a decoded object (the last one, as a dict keeps it).
pub fn member<'a>(members: &'a [(Vec<u16>, Value)], key: &str) -> Option<&'a Value> {
    members
        .iter()
        .find(|(k, _)| k.iter().copied().eq(key.encode_utf16()))
        .map(|(_, v)| v)
}

/// Decodes the message at the start of `buf`, accepting content of at most `max_content` bytes.
pub fn decode(buf: &[u8], max_content: usize) -> Result<Decoded, HeaderError> {
    let Some(proto) = buf.get(..PROTOHEADER_LEN) else {
        return Ok(Decoded::Incomplete {
            need: PROTOHEADER_LEN,
        });
    };
    let header_end = PROTOHEADER_LEN + usize::from(u16::from_be_bytes([proto[0], proto[1]]));
    let Some(header) = buf.get(PROTOHEADER_LEN..header_end) else {
        return Ok(Decoded::Incomplete { need: header_end });
    };
    let Value::Object(members) = json::parse(header).map_err(HeaderError::NotJson)? else {
        return Err(HeaderError::NotAnObject);
    };
    // The tutorial checks the keys in this order.
    for key in [
        "byteorder",
        "content-length",
        "content-type",
        "content-encoding",
    ] {
        if member(&members, key).is_none() {
            return Err(HeaderError::Missing(key));
        }
    }
    let length = match member(&members, "content-length") {
        Some(Value::Int(text)) => text.parse::<usize>().map_err(|_| HeaderError::BadLength)?,
        _ => return Err(HeaderError::BadLength),
    };
    if length > max_content {
        return Err(HeaderError::TooLong {
            declared: length,
            max: max_content,
        });
    }
    let end = header_end + length;
    let Some(content) = buf.get(header_end..end) else {
        return Ok(Decoded::Incomplete { need: end });
    };
    let field = |key| member(&members, key).cloned().unwrap_or(Value::Null);
    Ok(Decoded::Message(Message {
        content_type: field("content-type"),
        content_encoding: field("content-encoding"),
        content: content.to_vec(),
        end,
    }))
}

/// Builds a whole message around `content`, with the JSON header CPython writes for it:
/// `json.dumps(header, ensure_ascii=False)`, keys in the tutorial's order, `byteorder` little.
pub fn encode(content: &[u8], content_type: &str, content_encoding: &str) -> Vec<u8> {
    let mut header = Vec::with_capacity(128);
    header.extend_from_slice(b"{\"byteorder\": \"little\", \"content-type\": ");
    let text = |s: &str, out: &mut Vec<u8>| {
        let units: Vec<u16> = s.encode_utf16().collect();
        json::dump_str_unicode(&units, out).expect("a Rust string has no lone surrogate");
    };
    text(content_type, &mut header);
    header.extend_from_slice(b", \"content-encoding\": ");
    text(content_encoding, &mut header);
    header.extend_from_slice(format!(", \"content-length\": {}}}", content.len()).as_bytes());
    let len = u16::try_from(header.len()).expect("the reply header is short");
    let mut out = Vec::with_capacity(PROTOHEADER_LEN + header.len() + content.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's own request for `double 7654321`, byte for byte.
    const DOUBLE: &[u8] = b"\x00\x7f{\"byteorder\": \"little\", \"content-type\": \"binary/custom-client-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}double\x00t\xcb\xb1";

    #[test]
    fn every_prefix_of_a_message_is_incomplete() {
        for cut in 0..DOUBLE.len() {
            assert!(
                matches!(decode(&DOUBLE[..cut], 100), Ok(Decoded::Incomplete { .. })),
                "cut {cut}"
            );
        }
        let Ok(Decoded::Message(m)) = decode(DOUBLE, 100) else {
            panic!("whole")
        };
        assert_eq!(m.content, b"double\x00t\xcb\xb1");
        assert_eq!(m.end, DOUBLE.len());
    }

    #[test]
    fn encode_writes_what_cpython_writes() {
        let m = encode(
            b"result\x00\xe9\x97b",
            "binary/custom-server-binary-type",
            "binary",
        );
        assert_eq!(&m[..2], &[0, 0x7f]);
        assert_eq!(
            &m[2..],
            &b"{\"byteorder\": \"little\", \"content-type\": \"binary/custom-server-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}result\x00\xe9\x97b"[..]
        );
    }

    #[test]
    fn headers_the_tutorial_raises_on_are_refused() {
        let msg = |h: &str| {
            [
                (h.len() as u16).to_be_bytes().to_vec(),
                h.as_bytes().to_vec(),
            ]
            .concat()
        };
        assert!(matches!(decode(&msg("{"), 9), Err(HeaderError::NotJson(_))));
        assert_eq!(decode(&msg("[]"), 9), Err(HeaderError::NotAnObject));
        assert_eq!(
            decode(
                &msg(r#"{"byteorder": "little", "content-type": "x", "content-encoding": "x"}"#),
                9
            ),
            Err(HeaderError::Missing("content-length"))
        );
        let h = |len: &str| {
            msg(&format!(
                r#"{{"byteorder": "little", "content-type": "x", "content-encoding": "x", "content-length": {len}}}"#
            ))
        };
        assert_eq!(decode(&h("-1"), 9), Err(HeaderError::BadLength));
        assert_eq!(decode(&h("\"5\""), 9), Err(HeaderError::BadLength));
        assert_eq!(decode(&h("5.0"), 9), Err(HeaderError::BadLength));
        assert_eq!(
            decode(&h("10"), 9),
            Err(HeaderError::TooLong {
                declared: 10,
                max: 9
            })
        );
        assert_eq!(
            decode(&h("9"), 9),
            Ok(Decoded::Incomplete {
                need: h("9").len() + 9
            })
        );
    }
}
