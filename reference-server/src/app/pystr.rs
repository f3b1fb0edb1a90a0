//! Python's `str()` of a value `json.loads` returned, for the f-strings of the tutorial's replies
//! (`No match for "{query}".`, `Error: invalid action "{action}".`).
//!
//! A string is itself; `None`, `True` and numbers are spelled as Python spells them; a list or a
//! dict is its `repr`. The result is UTF-16 code units, because a string from JSON may hold a lone
//! surrogate (which the reply's encode then refuses, as CPython's does).
//!
//! `repr` of a string follows CPython for ASCII and for the common non-ASCII ranges; which
//! non-ASCII characters count as printable is approximated by the ranges in [`printable`], not
//! by the whole Unicode database.

use crate::json::{py_float_repr, Value};

/// `str(value)`.
pub fn str_of(value: &Value) -> Vec<u16> {
    match value {
        Value::Str(units) => units.clone(),
        other => {
            let mut out = Vec::new();
            repr(other, &mut out);
            out
        }
    }
}

fn ascii(text: &str, out: &mut Vec<u16>) {
    out.extend(text.encode_utf16());
}

/// `repr(value)`, appended to `out`.
fn repr(value: &Value, out: &mut Vec<u16>) {
    match value {
        Value::Null => ascii("None", out),
        Value::Bool(true) => ascii("True", out),
        Value::Bool(false) => ascii("False", out),
        Value::Int(text) => ascii(text, out),
        Value::Float(f) if f.is_nan() => ascii("nan", out),
        Value::Float(f) if f.is_infinite() => ascii(if *f > 0.0 { "inf" } else { "-inf" }, out),
        Value::Float(f) => {
            let mut bytes = Vec::new();
            py_float_repr(*f, &mut bytes);
            out.extend(bytes.iter().map(|&b| u16::from(b)));
        }
        Value::Str(units) => repr_str(units, out),
        Value::Array(items) => {
            ascii("[", out);
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    ascii(", ", out);
                }
                repr(item, out);
            }
            ascii("]", out);
        }
        Value::Object(members) => {
            ascii("{", out);
            for (n, (key, item)) in members.iter().enumerate() {
                if n > 0 {
                    ascii(", ", out);
                }
                repr_str(key, out);
                ascii(": ", out);
                repr(item, out);
            }
            ascii("}", out);
        }
    }
}

/// Whether Python's `str.isprintable()` holds for a non-ASCII character (approximated: the
/// control, format, separator, private-use and noncharacter ranges are not).
fn printable(c: u32) -> bool {
    !matches!(c,
        0x80..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x1680 | 0x180e
        | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f | 0x3000 | 0xd800..=0xdfff
        | 0xe000..=0xf8ff | 0xfeff | 0xfff9..=0xfffb | 0xfffe | 0xffff
        | 0xe0000..=0xe0fff | 0xf0000..=0x10ffff)
}

fn repr_str(units: &[u16], out: &mut Vec<u16>) {
    let has = |c: u8| units.contains(&u16::from(c));
    let quote = if has(b'\'') && !has(b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(u16::from(quote));
    for c in char::decode_utf16(units.iter().copied()) {
        let code = match c {
            Ok(c) => c as u32,
            Err(e) => u32::from(e.unpaired_surrogate()),
        };
        let escaped = match code {
            0x5c => "\\\\".to_owned(),
            0x09 => "\\t".to_owned(),
            0x0a => "\\n".to_owned(),
            0x0d => "\\r".to_owned(),
            c if c == u32::from(quote) => format!("\\{}", quote as char),
            0x20..=0x7e => {
                out.push(code as u16);
                continue;
            }
            c if c < 0x80 => format!("\\x{c:02x}"),
            c if printable(c) => {
                let mut buf = [0u16; 2];
                out.extend_from_slice(
                    char::from_u32(c)
                        .expect("a scalar value")
                        .encode_utf16(&mut buf),
                );
                continue;
            }
            c if c < 0x100 => format!("\\x{c:02x}"),
            c if c < 0x10000 => format!("\\u{c:04x}"),
            c => format!("\\U{c:08x}"),
        };
        ascii(&escaped, out);
    }
    out.push(u16::from(quote));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn s(json: &str) -> String {
        String::from_utf16(&str_of(&parse(json.as_bytes()).unwrap())).unwrap()
    }

    #[test]
    fn str_spells_values_as_python_does() {
        assert_eq!(s(r#""ring""#), "ring");
        assert_eq!(s("null"), "None");
        assert_eq!(s("true"), "True");
        assert_eq!(s("12"), "12");
        assert_eq!(s("1e5"), "100000.0");
        assert_eq!(s("NaN"), "nan");
        assert_eq!(s("-Infinity"), "-inf");
        assert_eq!(
            s(r#"[1, "a", null, {"k": 2.5}]"#),
            "[1, 'a', None, {'k': 2.5}]"
        );
        assert_eq!(s(r#"["it's"]"#), r#"["it's"]"#);
        assert_eq!(s(r#"["it's \"x\""]"#), r#"['it\'s "x"']"#);
        assert_eq!(s(r#"["a\nb\u0001\u00e9\u00a0"]"#), r"['a\nb\x01é\xa0']");
    }
}
