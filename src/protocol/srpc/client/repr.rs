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

pub use crate::pyrepr::{float, string};

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
