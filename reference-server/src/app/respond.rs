//! From a whole request message to the whole reply message, as the tutorial's `libserver` builds
//! it: `search` against its three-entry table for text/json content, and for any other content
//! type the first 10 bytes of the request, or, for the lab 4 assignment's 10-byte
//! `struct.pack(">6si", b"double"|b"negate", n)`, `struct.pack(">6si", b"result", 2n|-n)`.

use super::frame::{encode, member, Message};
use super::pystr::str_of;
use crate::json::{self, Value};

/// The tutorial's search table, code point for code point.
pub const SEARCH_TABLE: [(&str, &str); 3] = [
    ("morpheus", "Follow the white rabbit. \u{1f430}"),
    (
        "ring",
        "In the caves beneath the Misty Mountains. \u{1f48d}",
    ),
    ("\u{1f436}", "\u{1f43e} Playing ball! \u{1f3d0}"),
];

/// The content type and encoding of a JSON reply.
pub const JSON_TYPE: &str = "text/json";
/// The content type and encoding of a binary reply.
pub const BINARY_TYPE: &str = "binary/custom-server-binary-type";
pub const BINARY_ENCODING: &str = "binary";
/// What a plain binary reply starts with.
pub const ECHO_PREFIX: &[u8] = b"First 10 bytes of request: ";

/// The reply to `message`, or `None` where the tutorial's server raises and closes unanswered.
pub fn respond(message: &Message) -> Option<Vec<u8>> {
    if message.content_type == Value::Str("text/json".encode_utf16().collect()) {
        let content = json_reply(message)?;
        Some(encode(&content, JSON_TYPE, "utf-8"))
    } else {
        Some(encode(
            &binary_reply(&message.content)?,
            BINARY_TYPE,
            BINARY_ENCODING,
        ))
    }
}

/// Whether `encoding` names CPython's UTF-8 codec (its spellings that normalise to `utf_8`).
fn is_utf8(encoding: &Value) -> bool {
    let Value::Str(units) = encoding else {
        return false;
    };
    let Ok(name) = String::from_utf16(units) else {
        return false;
    };
    let name = name.to_ascii_lowercase().replace(['-', ' '], "_");
    matches!(name.as_str(), "utf_8" | "utf8" | "u8" | "utf" | "cp65001")
}

/// The JSON content of the reply to a text/json request.
fn json_reply(message: &Message) -> Option<Vec<u8>> {
    if !is_utf8(&message.content_encoding) {
        return None;
    }
    let Value::Object(request) = json::parse(&message.content).ok()? else {
        return None;
    };
    let null = Value::Null;
    let action = member(&request, "action").unwrap_or(&null);
    let answer: Vec<u16> = if *action == Value::Str("search".encode_utf16().collect()) {
        let query = member(&request, "value").unwrap_or(&null);
        if matches!(query, Value::Array(_) | Value::Object(_)) {
            // dict.get of an unhashable value raises TypeError.
            return None;
        }
        let found = SEARCH_TABLE.iter().find(|(key, _)| match query {
            Value::Str(units) => units.iter().copied().eq(key.encode_utf16()),
            _ => false,
        });
        match found {
            Some((_, entry)) => entry.encode_utf16().collect(),
            None => quoted("No match for \"", query, "\"."),
        }
    } else {
        quoted("Error: invalid action \"", action, "\".")
    };
    let mut content = b"{\"result\": ".to_vec();
    json::dump_str_unicode(&answer, &mut content)?;
    content.push(b'}');
    Some(content)
}

fn quoted(before: &str, value: &Value, after: &str) -> Vec<u16> {
    let mut text: Vec<u16> = before.encode_utf16().collect();
    text.extend(str_of(value));
    text.extend(after.encode_utf16());
    text
}

/// The content of the reply to a binary request.
pub fn binary_reply(request: &[u8]) -> Option<Vec<u8>> {
    if let Ok(packed) = <[u8; 10]>::try_from(request) {
        let n = i32::from_be_bytes(packed[6..].try_into().expect("4 bytes"));
        let value = match &packed[..6] {
            b"double" => Some(n.checked_mul(2)),
            b"negate" => Some(n.checked_neg()),
            _ => None,
        };
        if let Some(value) = value {
            // Outside 32 bits, struct.pack raises: closed unanswered, as the lab's code does.
            let value = value?;
            return Some([&b"result"[..], &value.to_be_bytes()].concat());
        }
    }
    let mut content = ECHO_PREFIX.to_vec();
    content.extend_from_slice(&request[..request.len().min(10)]);
    Some(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(content: &str) -> Message {
        Message {
            content_type: Value::Str("text/json".encode_utf16().collect()),
            content_encoding: Value::Str("utf-8".encode_utf16().collect()),
            content: content.as_bytes().to_vec(),
            end: 0,
        }
    }

    fn content(reply: &[u8]) -> String {
        let n = usize::from(u16::from_be_bytes([reply[0], reply[1]]));
        String::from_utf8(reply[2 + n..].to_vec()).unwrap()
    }

    #[test]
    fn search_answers_as_the_tutorial() {
        let r = respond(&text(r#"{"action": "search", "value": "morpheus"}"#)).unwrap();
        assert_eq!(
            content(&r),
            "{\"result\": \"Follow the white rabbit. \u{1f430}\"}"
        );
        let header = &r[2..2 + usize::from(u16::from_be_bytes([r[0], r[1]]))];
        assert_eq!(
            header,
            br#"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 43}"#
        );
        let r = respond(&text(r#"{"action": "search", "value": "neo"}"#)).unwrap();
        assert_eq!(content(&r), r#"{"result": "No match for \"neo\"."}"#);
        let r = respond(&text(r#"{"action": "find", "value": 1}"#)).unwrap();
        assert_eq!(
            content(&r),
            r#"{"result": "Error: invalid action \"find\"."}"#
        );
        let r = respond(&text(r#"{"value": 1}"#)).unwrap();
        assert_eq!(
            content(&r),
            r#"{"result": "Error: invalid action \"None\"."}"#
        );
        assert_eq!(
            respond(&text(r#"{"action": "search", "value": [1]}"#)),
            None
        );
        assert_eq!(
            respond(&text(r#"{"action": "search", "value": "\ud800"}"#)),
            None
        );
        assert_eq!(respond(&text("[]")), None);
    }

    #[test]
    fn binary_commands_are_the_labs() {
        let cmd = |name: &[u8], n: i32| [name, &n.to_be_bytes()].concat();
        assert_eq!(
            binary_reply(&cmd(b"double", 7654321)).unwrap(),
            b"result\x00\xe9\x97b"
        );
        assert_eq!(
            binary_reply(&cmd(b"negate", 7654321)).unwrap(),
            b"result\xff\x8b4O"
        );
        assert_eq!(
            binary_reply(&cmd(b"negate", -300)).unwrap(),
            b"result\x00\x00\x01,"
        );
        assert_eq!(binary_reply(&cmd(b"double", i32::MAX)), None);
        assert_eq!(
            binary_reply("binary\u{1f603}".as_bytes()).unwrap(),
            "First 10 bytes of request: binary\u{1f603}".as_bytes()
        );
        assert_eq!(
            binary_reply(b"double 7").unwrap(),
            b"First 10 bytes of request: double 7"
        );
    }
}
