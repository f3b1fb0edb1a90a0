//! JSON exactly as CPython's `json` module reads and writes it.
//!
//! The lab's server is `json.loads` on the way in and `json.dumps` (default arguments) on the way
//! out, so a byte-compatible server has to reproduce both, not just "some JSON":
//!
//! * Strings are kept as UTF-16 code units. `json.dumps` escapes every non-ASCII character as
//!   `\uXXXX`, astral characters as a surrogate pair, so serialising code units is exact. It also
//!   lets a lone surrogate escape (`"\ud800"`), which CPython accepts and writes back, survive the
//!   round trip; a Rust `String` could not hold it.
//! * Integers of any size are kept as their canonical decimal text (`-0` becomes `0`). CPython 3.11
//!   refuses to convert integers of more than 4300 digits, so we reject those too.
//! * A number with a fraction or an exponent is a float, written back with Python's `repr`
//!   (`1E5` becomes `100000.0`, `1e300` becomes `1e+300`, `1e400` overflows to `Infinity`).
//! * Objects keep insertion order. A repeated key keeps its first position and takes the last
//!   value, as `dict` does when the decoder inserts pairs one by one.
//! * `NaN`, `Infinity` and `-Infinity` are accepted, because CPython accepts them.
//! * Nesting is bounded by [`MAX_DEPTH`], well below the depth at which CPython itself raises
//!   `RecursionError`, so every document we accept CPython would also have answered.

use std::collections::HashMap;
use std::fmt;

/// Deepest nesting of arrays and objects accepted in one document.
pub const MAX_DEPTH: usize = 512;

/// CPython 3.11's `sys.get_int_max_str_digits()` default.
pub const MAX_INT_DIGITS: usize = 4300;

/// A parsed JSON value with CPython's semantics.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Canonical decimal text: optional `-`, no leading zeros, never `-0`.
    Int(Box<str>),
    Float(f64),
    /// UTF-16 code units; may contain lone surrogates.
    Str(Vec<u16>),
    Array(Vec<Value>),
    /// Insertion-ordered, keys unique.
    Object(Vec<(Vec<u16>, Value)>),
}

/// Why a payload is not JSON that CPython would decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole document as `json.loads(bytes.decode())` would: strict UTF-8 first, then JSON
/// with optional surrounding whitespace and nothing after it.
pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
    if let Err(e) = std::str::from_utf8(input) {
        return Err(ParseError {
            offset: e.valid_up_to(),
            reason: "invalid UTF-8",
        });
    }
    let mut p = Parser { s: input, i: 0 };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.i != input.len() {
        return Err(p.err("extra data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.i,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat_literal(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.peek() {
            None => Err(self.err("expecting a value")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b'n') if self.eat_literal(b"null") => Ok(Value::Null),
            Some(b't') if self.eat_literal(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat_literal(b"false") => Ok(Value::Bool(false)),
            Some(b'N') if self.eat_literal(b"NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.eat_literal(b"Infinity") => Ok(Value::Float(f64::INFINITY)),
            Some(b'-') if self.eat_literal(b"-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expecting a value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            Err(self.err("nesting too deep"))
        } else {
            Ok(())
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expecting ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.i += 1;
        let mut members: Vec<(Vec<u16>, Value)> = Vec::new();
        // Index built only once an object grows, so small objects stay cheap and large ones
        // cannot make duplicate detection quadratic.
        let mut index: Option<HashMap<Vec<u16>, usize>> = None;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expecting a property name in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expecting ':'"));
            }
            self.i += 1;
            self.skip_ws();
            let val = self.value(depth)?;
            let existing = match &index {
                Some(ix) => ix.get(&key).copied(),
                None => members.iter().position(|(k, _)| *k == key),
            };
            match existing {
                Some(pos) => members[pos].1 = val,
                None => {
                    if let Some(ix) = &mut index {
                        ix.insert(key.clone(), members.len());
                    }
                    members.push((key, val));
                    if index.is_none() && members.len() > 16 {
                        index = Some(
                            members
                                .iter()
                                .enumerate()
                                .map(|(n, (k, _))| (k.clone(), n))
                                .collect(),
                        );
                    }
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.err("expecting ',' or '}'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, ParseError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("invalid \\uXXXX escape"))?;
        let mut v: u16 = 0;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid \\uXXXX escape"))?;
            v = (v << 4) | n as u16;
        }
        self.i += 4;
        Ok(v)
    }

    /// Reads a string starting at its opening quote. The input is known to be valid UTF-8.
    fn string(&mut self) -> Result<Vec<u16>, ParseError> {
        self.i += 1;
        let mut out: Vec<u16> = Vec::new();
        loop {
            let start = self.i;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            if self.i > start {
                // Safe: `parse` checked UTF-8, and we stopped only at ASCII bytes.
                let run = std::str::from_utf8(&self.s[start..self.i]).expect("validated UTF-8");
                out.extend(run.encode_utf16());
            }
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let esc = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    let unit = match esc {
                        b'"' => b'"' as u16,
                        b'\\' => b'\\' as u16,
                        b'/' => b'/' as u16,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n' as u16,
                        b'r' => b'\r' as u16,
                        b't' => b'\t' as u16,
                        // A surrogate pair written as two escapes is the same code-unit sequence
                        // whether or not it is joined, so no pairing logic is needed here.
                        b'u' => self.hex4()?,
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    };
                    out.push(unit);
                }
                Some(_) => return Err(self.err("invalid control character in string")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
            }
            _ => return Err(self.err("expecting a value")),
        }
        let int_digits = self.i - int_start;
        let mut is_float = false;
        if self.peek() == Some(b'.') && matches!(self.s.get(self.i + 1), Some(b'0'..=b'9')) {
            is_float = true;
            self.i += 1;
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            let mut j = self.i + 1;
            if let Some(b'+' | b'-') = self.s.get(j) {
                j += 1;
            }
            if matches!(self.s.get(j), Some(b'0'..=b'9')) {
                is_float = true;
                self.i = j;
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII digits");
        if is_float {
            let f: f64 = text.parse().map_err(|_| self.err("invalid number"))?;
            return Ok(Value::Float(f));
        }
        if int_digits > MAX_INT_DIGITS {
            return Err(ParseError {
                offset: start,
                reason: "integer has more than 4300 digits",
            });
        }
        let canonical = if text == "-0" { "0" } else { text };
        Ok(Value::Int(canonical.into()))
    }
}

/// Appends `json.dumps(value)` (CPython defaults) to `out`.
pub fn dump(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(s) => out.extend_from_slice(s.as_bytes()),
        Value::Float(f) => py_float_repr(*f, out),
        Value::Str(units) => dump_str(units, out),
        Value::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.extend_from_slice(b", ");
                }
                dump(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (n, (k, v)) in members.iter().enumerate() {
                if n > 0 {
                    out.extend_from_slice(b", ");
                }
                dump_str(k, out);
                out.extend_from_slice(b": ");
                dump(v, out);
            }
            out.push(b'}');
        }
    }
}

/// Convenience wrapper around [`dump`].
pub fn dumps(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    dump(value, &mut out);
    out
}

/// A string with `ensure_ascii=True`: printable ASCII as is, everything else escaped.
pub fn dump_str(units: &[u16], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &u in units {
        match u {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x20..=0x7e => out.push(u as u8),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                HEX[(u >> 12) as usize],
                HEX[((u >> 8) & 0xf) as usize],
                HEX[((u >> 4) & 0xf) as usize],
                HEX[(u & 0xf) as usize],
            ]),
        }
    }
    out.push(b'"');
}

/// A string as `json.dumps(..., ensure_ascii=False)` writes it and `.encode("utf-8")` encodes
/// it: only `"`, `\\` and the control characters below U+0020 are escaped; everything else is
/// written as UTF-8. `None` for a lone surrogate, where CPython's encode raises
/// `UnicodeEncodeError`.
pub fn dump_str_unicode(units: &[u16], out: &mut Vec<u8>) -> Option<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in char::decode_utf16(units.iter().copied()) {
        match c.ok()? {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                let u = c as usize;
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[u >> 4], HEX[u & 0xf]]);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
    Some(())
}

/// Python's `float.__repr__`, plus `json`'s spellings of the non-finite values.
///
/// Both Python and Rust produce the shortest digit string that round-trips; they differ only in
/// layout. Python switches to exponent form when the decimal point would sit more than 16 places
/// right of the first digit or 4 or more places left of it, writes the exponent with a sign and
/// at least two digits, and always shows a fraction in fixed form.
pub fn py_float_repr(f: f64, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if f.is_sign_negative() {
        out.push(b'-');
    }
    if f == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    let decpt = exp + 1; // position of the decimal point relative to the first digit
    if !(-4 < decpt && decpt <= 16) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(
            format!("e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()).as_bytes(),
        );
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
        out.extend_from_slice(&digits);
    } else if decpt as usize >= digits.len() {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', decpt as usize - digits.len()));
        out.extend_from_slice(b".0");
    } else {
        out.extend_from_slice(&digits[..decpt as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[decpt as usize..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(input: &str) -> String {
        String::from_utf8(dumps(&parse(input.as_bytes()).unwrap())).unwrap()
    }

    #[test]
    fn floats_use_python_repr() {
        for (input, want) in [
            ("1.0", "1.0"),
            ("1e300", "1e+300"),
            ("0.1", "0.1"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("1e-5", "1e-05"),
            ("1e-4", "0.0001"),
            ("-0.0", "-0.0"),
            ("1E5", "100000.0"),
            ("1e400", "Infinity"),
            ("-1e400", "-Infinity"),
            ("123.456", "123.456"),
            ("1.5e16", "1.5e+16"),
            ("2.5e-7", "2.5e-07"),
            ("1e100", "1e+100"),
            ("5e-324", "5e-324"),
            ("0.30000000000000004", "0.30000000000000004"),
        ] {
            assert_eq!(roundtrip(input), want, "input {input}");
        }
    }

    #[test]
    fn integers_are_exact_and_bounded() {
        assert_eq!(
            roundtrip("1180591620717411303424"),
            "1180591620717411303424"
        );
        assert_eq!(roundtrip("-0"), "0");
        assert!(parse("9".repeat(4300).as_bytes()).is_ok());
        assert!(parse(format!("-{}", "9".repeat(4300)).as_bytes()).is_ok());
        assert!(parse("9".repeat(4301).as_bytes()).is_err());
    }

    #[test]
    fn strings_escape_like_ensure_ascii() {
        assert_eq!(
            roundtrip("\"\u{7f}\u{e9}\u{1F600}\\ud800\\n\\u0001\\/\""),
            r#""\u007f\u00e9\ud83d\ude00\ud800\n\u0001/""#
        );
        assert_eq!(roundtrip(r#""\ud83d\ude00""#), r#""\ud83d\ude00""#);
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        assert_eq!(roundtrip(r#"{"a":1,"b":2,"a":3}"#), r#"{"a": 3, "b": 2}"#);
        let many: String = (0..40).map(|n| format!("\"k{n}\":{n},")).collect();
        let doc = format!("{{{many}\"k3\":\"x\"}}");
        let out = roundtrip(&doc);
        assert!(
            out.starts_with(r#"{"k0": 0, "k1": 1, "k2": 2, "k3": "x", "k4": 4"#),
            "{out}"
        );
    }

    #[test]
    fn non_standard_literals_round_trip() {
        assert_eq!(
            roundtrip("[NaN, Infinity, -Infinity]"),
            "[NaN, Infinity, -Infinity]"
        );
    }

    #[test]
    fn rejects_what_cpython_rejects() {
        for bad in [
            "",
            " ",
            "01",
            "1.",
            "1e",
            "-",
            "[1,]",
            "{\"a\":1,}",
            "{'a':1}",
            "\"\t\"",
            "\"\\x\"",
            "\"\\u12\"",
            "[1] x",
            "\u{feff}{}",
            "nul",
            "{1:2}",
            "+1",
            ".5",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "accepted {bad:?}");
        }
        assert!(parse(b"\"\xff\"").is_err());
        assert!(
            parse(b"\"\xed\xa0\x80\"").is_err(),
            "UTF-8 encoded surrogate"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().reason,
            "nesting too deep"
        );
        // Unclosed nesting far beyond the bound fails fast instead of recursing.
        assert!(parse("[".repeat(1_000_000).as_bytes()).is_err());
    }

    #[test]
    fn whitespace_around_and_inside_is_allowed() {
        assert_eq!(
            roundtrip(" \t\r\n{ \"a\" :\n[ 1 , 2 ] } \n"),
            r#"{"a": [1, 2]}"#
        );
    }
}
