//! Python's `repr()` of what `json.loads` makes of a JSON text, so that what a client printed
//! (`Ret:` and the reply, as the lab's test program prints it) can be compared with the reply
//! that was sent, character for character.
//!
//! The JSON is read with its keys in the order they were written (as `json.loads` keeps them),
//! numbers as Python reads them (an integer stays an integer of any size; a number with a
//! fraction or an exponent becomes a float, shown as Python's shortest round-trip form), and
//! strings quoted and escaped as `str.__repr__` does.

use serde_json::{Number, Value};

/// `repr(json.loads(text))`, or None when `text` is not JSON.
pub fn of_json(text: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(text).ok()?;
    let mut out = String::new();
    value_repr(&value, &mut out);
    Some(out)
}

fn value_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(&string(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                value_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string(k));
                out.push_str(": ");
                value_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// An int as Python prints it, or a float in Python's `repr` form.
fn number(n: &Number) -> String {
    if let Some(t) = crate::protocol::srpc::oracle::integer_text(n) {
        // Python drops leading zeros JSON does not allow anyway, and "-0" is 0.
        return t.to_owned();
    }
    float(n.as_str().parse().unwrap_or(f64::NAN))
}

/// `repr(float)`: the shortest digits that read back the same; positional notation from 1e-4
/// up to 1e16, scientific (`1e+16`, `1.5e-05`) outside it.
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.5e-5", "1e16".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, frac) = digits.split_at(point as usize);
            format!("{whole}.{frac}")
        };
        format!("{sign}{text}")
    } else {
        let sign_e = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{sign_e}{:02}", exp.abs())
    }
}

/// `repr(str)`: single quotes unless the text holds a single quote and no double quote;
/// backslash, the quote, `\n`, `\r`, `\t` escaped; other characters Python does not print
/// as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
pub fn string(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` for one character: not a control, format, separator (other than the
/// space), surrogate, private-use or non-character code point.
fn printable(c: char) -> bool {
    let n = c as u32;
    if c.is_ascii() {
        return (0x20..0x7f).contains(&n);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format = matches!(n,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f);
    let private = matches!(n, 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd);
    let nonchar = (0xfdd0..=0xfdef).contains(&n) || n & 0xfffe == 0xfffe;
    !(format || private || nonchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dicts_print_as_python_does() {
        assert_eq!(
            of_json(br#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "ABC", "val": null}}}"#).unwrap(),
            "{'status': 'OK', 'response': {'func': 'GET', 'response': {'obj': 'ABC', 'val': None}}}"
        );
        assert_eq!(
            of_json(br#"{"b": [true, false, 1, 2.5, -0], "a": {}}"#).unwrap(),
            "{'b': [True, False, 1, 2.5, 0], 'a': {}}"
        );
        assert_eq!(of_json(b"{").as_deref(), None);
    }

    #[test]
    fn floats_print_as_python_does() {
        for (json, python) in [
            ("111.0", "111.0"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1.5e-7", "1.5e-07"),
            ("123456789.125", "123456789.125"),
            ("-2.5E3", "-2500.0"),
            ("0.1", "0.1"),
            ("1e400", "inf"),
            ("-0.0", "-0.0"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(of_json(json.as_bytes()).unwrap(), python, "{json}");
        }
        assert_eq!(
            of_json(b"123456789012345678901234567890").unwrap(),
            "123456789012345678901234567890"
        );
    }

    /// Random values, written as JSON, read back by CPython's own `json.loads` and printed with
    /// `repr`: every line must be what [`of_json`] says. Floats come from random bits (every
    /// magnitude), strings from quotes, backslashes, controls, Latin-1, CJK, emoji and the
    /// format and separator characters Python escapes.
    #[test]
    fn agrees_with_cpython_on_random_values() {
        use std::io::Write;
        const CHARS: &[char] = &[
            'a',
            'Z',
            '0',
            ' ',
            '\'',
            '"',
            '\\',
            '\n',
            '\r',
            '\t',
            '\x00',
            '\x1f',
            '\x7f',
            '\u{80}',
            '\u{a0}',
            '\u{ad}',
            'é',
            'ß',
            'ÿ',
            'Ā',
            'Ω',
            'Ж',
            'א',
            'ع',
            '\u{600}',
            'क',
            '中',
            'こ',
            '한',
            '\u{2028}',
            '\u{2029}',
            '\u{200b}',
            '\u{200e}',
            '\u{202e}',
            '\u{2060}',
            '\u{3000}',
            '\u{feff}',
            '\u{e000}',
            '\u{fffd}',
            '€',
            '“',
            '🙂',
            '𝄞',
            '\u{1f3fb}',
            '\u{e0001}',
            '\u{10fffd}',
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        fn gen(depth: u32, rng: &mut fastrand::Rng) -> Value {
            match rng.u8(..if depth > 2 { 5 } else { 7 }) {
                0 => Value::Null,
                1 => Value::Bool(rng.bool()),
                2 => Value::from(rng.i64(..)),
                3 => {
                    let f = f64::from_bits(rng.u64(..));
                    if f.is_finite() {
                        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                    } else {
                        Value::from(rng.f64() * 10f64.powi(rng.i32(-30..30)))
                    }
                }
                4 => Value::String(
                    (0..rng.usize(0..12))
                        .map(|_| CHARS[rng.usize(..CHARS.len())])
                        .collect(),
                ),
                5 => Value::Array((0..rng.usize(0..4)).map(|_| gen(depth + 1, rng)).collect()),
                _ => Value::Object(
                    (0..rng.usize(0..4))
                        .map(|i| (format!("k{i}"), gen(depth + 1, rng)))
                        .collect(),
                ),
            }
        }
        let texts: Vec<String> = (0..2000).map(|_| gen(0, &mut rng).to_string()).collect();
        let mut python = std::process::Command::new("python3")
            .args([
                "-I",
                "-c",
                "import json, sys\nfor line in sys.stdin:\n    print(repr(json.loads(line)))",
            ])
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut stdin = python.stdin.take().unwrap();
        let input = texts.join("\n") + "\n";
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = python.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let printed = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines.len(), texts.len());
        for (text, line) in texts.iter().zip(lines) {
            assert_eq!(of_json(text.as_bytes()).unwrap(), line, "{text}");
        }
    }

    #[test]
    fn strings_print_as_python_does() {
        assert_eq!(string("it's"), "\"it's\"");
        assert_eq!(string("say \"hi\" it's"), "'say \"hi\" it\\'s'");
        assert_eq!(string("a\\b\n\t\x01\x7f"), "'a\\\\b\\n\\t\\x01\\x7f'");
        assert_eq!(
            string("Zoë Kraków こんにちは 🙂"),
            "'Zoë Kraków こんにちは 🙂'"
        );
        assert_eq!(string("\u{a0}\u{200b}\u{2028}"), "'\\xa0\\u200b\\u2028'");
        assert_eq!(string("\u{e000}\u{10fffd}"), "'\\ue000\\U0010fffd'");
    }
}
