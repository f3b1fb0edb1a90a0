//! What the lab 4 server answers, written independently of the reference server: the search
//! table, the plain binary reply, and the assignment's double and negate.

use serde_json::Value;

/// The tutorial's search table.
pub const TABLE: [(&str, &str); 3] = [
    ("morpheus", "Follow the white rabbit. \u{1f430}"),
    (
        "ring",
        "In the caves beneath the Misty Mountains. \u{1f48d}",
    ),
    ("\u{1f436}", "\u{1f43e} Playing ball! \u{1f3d0}"),
];

pub const JSON_TYPE: &str = "text/json";
pub const BINARY_TYPE: &str = "binary/custom-server-binary-type";
pub const ECHO_PREFIX: &[u8] = b"First 10 bytes of request: ";

/// A reply as the lab defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub content_type: &'static str,
    pub content_encoding: &'static str,
    pub content: Vec<u8>,
}

/// `json.dumps({"result": text}, ensure_ascii=False).encode()`.
pub fn result_json(text: &str) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    map.insert("result".into(), Value::from(text));
    // serde_json escapes exactly what CPython's ensure_ascii=False does for these texts; only
    // the separators differ (it writes none).
    format!(
        "{{\"result\": {}}}",
        serde_json::to_string(&map["result"]).expect("a string serialises")
    )
    .into_bytes()
}

/// The answer to `search` for `query`.
pub fn search_answer(query: &str) -> String {
    TABLE
        .iter()
        .find(|(k, _)| *k == query)
        .map(|(_, v)| (*v).to_owned())
        .unwrap_or_else(|| format!("No match for \"{query}\"."))
}

pub fn search(query: &str) -> Expected {
    Expected {
        content_type: JSON_TYPE,
        content_encoding: "utf-8",
        content: result_json(&search_answer(query)),
    }
}

/// The plain binary reply to `request`.
pub fn echo(request: &[u8]) -> Expected {
    Expected {
        content_type: BINARY_TYPE,
        content_encoding: "binary",
        content: [ECHO_PREFIX, &request[..request.len().min(10)]].concat(),
    }
}

/// The value double or negate computes, if it fits 32 bits.
pub fn compute(name: &[u8; 6], n: i32) -> Option<i32> {
    match name {
        b"double" => n.checked_mul(2),
        _ => n.checked_neg(),
    }
}

/// `struct.pack(">6si", b"result", value)`.
pub fn result_content(value: i32) -> Vec<u8> {
    [&b"result"[..], &value.to_be_bytes()].concat()
}

pub fn command(value: i32) -> Expected {
    Expected {
        content_type: BINARY_TYPE,
        content_encoding: "binary",
        content: result_content(value),
    }
}

/// What the lab's server answers a well-formed request of `content_type` with `content`
/// (`None`: it raises and closes unanswered, as on content that is not JSON, or a result that
/// does not fit 32 bits).
pub fn answer(content_type: &str, content: &[u8]) -> Option<Expected> {
    if content_type == JSON_TYPE {
        let request: Value = serde_json::from_slice(content).ok()?;
        // The tutorial's request.get(): None for a key that is not there.
        let field = |k: &str| py_str(request.as_object()?.get(k).unwrap_or(&Value::Null));
        let action: Option<String> = field("action");
        let text = match action?.as_str() {
            "search" => search_answer(&field("value")?),
            other => format!("Error: invalid action \"{other}\"."),
        };
        return Some(Expected {
            content_type: JSON_TYPE,
            content_encoding: "utf-8",
            content: result_json(&text),
        });
    }
    match <[u8; 6]>::try_from(content.get(..6).unwrap_or_default()) {
        Ok(name) if content.len() == 10 && (&name == b"double" || &name == b"negate") => {
            let n = i32::from_be_bytes(content[6..].try_into().expect("4 bytes"));
            compute(&name, n).map(command)
        }
        _ => Some(echo(content)),
    }
}

/// Python's str() of a JSON scalar (`None` for a container, whose repr is not modelled here).
fn py_str(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_sample_results() {
        assert_eq!(
            result_content(compute(b"double", 7654321).unwrap()),
            b"result\x00\xe9\x97b"
        );
        assert_eq!(
            result_content(compute(b"negate", -300).unwrap()),
            b"result\x00\x00\x01,"
        );
        assert_eq!(compute(b"negate", i32::MIN), None);
        assert_eq!(
            result_json(&search_answer("neo")),
            br#"{"result": "No match for \"neo\"."}"#
        );
        assert_eq!(search("ring").content.len(), 60);
    }
}
