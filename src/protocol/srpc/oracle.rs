//! The oracle: what a conforming server replies, and how to compare a reply with it.
//!
//! JSON is compared by meaning, not bytes: key order and whitespace do not matter. Numbers are
//! compared exactly (serde_json keeps their text, so 2**70 is not rounded). A value that Python's
//! `==` accepts but whose type changed (111 came back as 111.0, or true as 1) is reported as
//! [`Compare::TypeChanged`], because the lab's Python grader would still accept it.
//!
//! The fuzzer's model of the store uses the same comparison.

use serde_json::{Map, Number, Value};

/// The outcome of comparing an expected value with an actual one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    Equal,
    /// Equal under Python's `==`, but a number or bool changed type; says where and how.
    TypeChanged(String),
    /// Different; says where and how.
    Different(String),
}

fn is_integer(n: &Number) -> bool {
    integer_text(n).is_some()
}

/// Canonical decimal text of a number written as an integer (`-0` becomes `0`), or `None` for
/// one written with a fraction or an exponent, which Python reads as a float.
pub fn integer_text(n: &Number) -> Option<&str> {
    match n.as_str() {
        t if t.contains(['.', 'e', 'E']) => None,
        "-0" => Some("0"),
        t => Some(t),
    }
}

/// The exact integer a float holds, if it holds one.
fn float_as_int(f: f64) -> Option<String> {
    if f.is_finite() && f.fract() == 0.0 {
        let t = format!("{:.0}", f.abs());
        Some(if f < 0.0 && t != "0" {
            format!("-{t}")
        } else {
            t
        })
    } else {
        None
    }
}

fn as_f64(n: &Number) -> f64 {
    n.as_str().parse().unwrap_or(f64::NAN)
}

/// A number as Python sees it, for `==` across int, float and bool.
enum PyNum<'a> {
    Int(&'a str),
    Float(f64),
}

fn py_num(v: &Value) -> Option<PyNum<'_>> {
    match v {
        Value::Bool(b) => Some(PyNum::Int(if *b { "1" } else { "0" })),
        Value::Number(n) => Some(match integer_text(n) {
            Some(t) => PyNum::Int(t),
            None => PyNum::Float(as_f64(n)),
        }),
        _ => None,
    }
}

fn py_num_eq(a: &PyNum, b: &PyNum) -> bool {
    match (a, b) {
        (PyNum::Int(x), PyNum::Int(y)) => x == y,
        (PyNum::Float(x), PyNum::Float(y)) => x == y,
        (PyNum::Int(i), PyNum::Float(f)) | (PyNum::Float(f), PyNum::Int(i)) => {
            float_as_int(*f).as_deref() == Some(*i)
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(n) if is_integer(n) => "an integer",
        Value::Number(_) => "a float",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Where in a value the walk is, written out only when something there differs.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent, k) => write!(f, "{parent}[{k:?}]"),
        }
    }
}

fn at(path: &Path) -> String {
    match path {
        Path::Root => "the value".into(),
        _ => format!("at {path}"),
    }
}

/// Compares `actual` with `expected` by meaning.
pub fn compare(expected: &Value, actual: &Value) -> Compare {
    let mut type_change = None;
    match walk(expected, actual, &Path::Root, &mut type_change) {
        Some(diff) => Compare::Different(diff),
        None => match type_change {
            Some(t) => Compare::TypeChanged(t),
            None => Compare::Equal,
        },
    }
}

fn walk(e: &Value, a: &Value, path: &Path, type_change: &mut Option<String>) -> Option<String> {
    match (e, a) {
        (Value::Null, Value::Null) => None,
        (Value::String(x), Value::String(y)) => {
            (x != y).then(|| format!("{}: expected {e} but got {a}", at(path)))
        }
        (Value::Bool(x), Value::Bool(y)) => {
            (x != y).then(|| format!("{}: expected {e} but got {a}", at(path)))
        }
        (Value::Number(x), Value::Number(y)) if is_integer(x) == is_integer(y) => {
            let same = match (integer_text(x), integer_text(y)) {
                (Some(i), Some(j)) => i == j,
                _ => as_f64(x) == as_f64(y),
            };
            (!same).then(|| format!("{}: expected {e} but got {a}", at(path)))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!(
                    "{}: expected a list of {} items but got {}",
                    at(path),
                    x.len(),
                    y.len()
                ));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (xe, ya))| walk(xe, ya, &Path::Index(path, i), type_change))
        }
        (Value::Object(x), Value::Object(y)) => {
            if let Some(k) = x.keys().find(|k| !y.contains_key(*k)) {
                return Some(format!("{}: key {k:?} is missing", at(path)));
            }
            if let Some(k) = y.keys().find(|k| !x.contains_key(*k)) {
                return Some(format!("{}: unexpected key {k:?}", at(path)));
            }
            x.iter()
                .find_map(|(k, xe)| walk(xe, &y[k], &Path::Key(path, k), type_change))
        }
        _ => match (py_num(e), py_num(a)) {
            (Some(pe), Some(pa)) if py_num_eq(&pe, &pa) => {
                type_change.get_or_insert_with(|| {
                    format!(
                        "{}: expected {e} ({}) but got {a} ({})",
                        at(path),
                        kind(e),
                        kind(a)
                    )
                });
                None
            }
            _ => Some(format!(
                "{}: expected {} {e} but got {} {a}",
                at(path),
                kind(e),
                kind(a)
            )),
        },
    }
}

/// What is wrong with `actual`, in the words a student needs first: "answered ERROR" when a
/// well-formed request got the ERROR reply, otherwise where the two differ.
pub fn difference(expected: &Value, actual: &Value, why: String) -> String {
    let status = |v: &Value| {
        v.get("status")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
    };
    if status(actual).as_deref() == Some("ERROR") && status(expected).as_deref() == Some("OK") {
        "the server answered ERROR to a well-formed request".into()
    } else {
        why
    }
}

/// Parses JSON text the suite wrote itself.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the suite wrote invalid JSON {text:?}: {e}"))
}

/// A JSON string literal for `s`.
pub fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

pub fn put_request(name: &Value, val: &Value) -> Vec<u8> {
    let mut out = br#"{"func": "PUT", "params": {"obj": "#.to_vec();
    serde_json::to_writer(&mut out, name).expect("a JSON value always serialises");
    out.extend_from_slice(br#", "val": "#);
    serde_json::to_writer(&mut out, val).expect("a JSON value always serialises");
    out.extend_from_slice(b"}}");
    out
}

pub fn get_request(name: &Value) -> Vec<u8> {
    format!(r#"{{"func": "GET", "params": {{"obj": {name}}}}}"#).into_bytes()
}

pub fn put_reply(name: &Value) -> Value {
    envelope(
        "PUT",
        obj([
            ("obj", name.clone()),
            ("response", Value::String("ok".into())),
        ]),
    )
}

pub fn get_reply(name: &Value, val: &Value) -> Value {
    envelope("GET", obj([("obj", name.clone()), ("val", val.clone())]))
}

pub fn unknown_func_reply(func: &Value) -> Value {
    let mut inner = Map::new();
    inner.insert("func".into(), func.clone());
    inner.insert(
        "response".into(),
        Value::String("ERROR - Function doesn't exist".into()),
    );
    obj([
        ("status", Value::String("OK".into())),
        ("response", Value::Object(inner)),
    ])
}

pub fn error_reply() -> Value {
    obj([("status", Value::String("ERROR".into()))])
}

fn envelope(func: &str, response: Value) -> Value {
    let inner = obj([("func", Value::String(func.into())), ("response", response)]);
    obj([("status", Value::String("OK".into())), ("response", inner)])
}

fn obj<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_whitespace_do_not_matter() {
        assert_eq!(
            compare(
                &json(r#"{"a": 1, "b": [true, null]}"#),
                &json(r#"{"b":[true,null],"a":1}"#)
            ),
            Compare::Equal
        );
    }

    #[test]
    fn numbers_are_exact() {
        assert_eq!(
            compare(
                &json("1180591620717411303424"),
                &json("1180591620717411303424")
            ),
            Compare::Equal
        );
        assert!(matches!(
            compare(
                &json("1180591620717411303424"),
                &json("1180591620717411303425")
            ),
            Compare::Different(_)
        ));
        assert!(matches!(
            compare(
                &json("1180591620717411303424"),
                &json("1.1805916207174113e21")
            ),
            Compare::TypeChanged(_)
        ));
        assert_eq!(compare(&json("0.1"), &json("1e-1")), Compare::Equal);
        assert!(matches!(
            compare(&json("0.1"), &json("0.10000000000000002")),
            Compare::Different(_)
        ));
        assert_eq!(compare(&json("-0"), &json("0")), Compare::Equal);
    }

    #[test]
    fn a_difference_names_where_it_is() {
        assert_eq!(
            compare(
                &json(r#"{"a": [1, {"b": "x"}]}"#),
                &json(r#"{"a": [1, {"b": "y"}]}"#)
            ),
            Compare::Different(r#"at ["a"][1]["b"]: expected "x" but got "y""#.into())
        );
        assert_eq!(
            compare(&json("[1, 2]"), &json("[1]")),
            Compare::Different("the value: expected a list of 2 items but got 1".into())
        );
    }

    #[test]
    fn python_equal_types_are_a_type_change() {
        let Compare::TypeChanged(why) = compare(&json(r#"{"v": 111}"#), &json(r#"{"v": 111.0}"#))
        else {
            panic!()
        };
        assert!(why.contains("[\"v\"]") && why.contains("a float"), "{why}");
        assert!(matches!(
            compare(&json("true"), &json("1")),
            Compare::TypeChanged(_)
        ));
        assert!(matches!(
            compare(&json("111"), &json("\"111\"")),
            Compare::Different(_)
        ));
        assert!(matches!(
            compare(&json("1.5"), &json("1")),
            Compare::Different(_)
        ));
    }

    #[test]
    fn differences_say_where() {
        let Compare::Different(why) = compare(
            &json(r#"{"a": {"b": [1, 2]}}"#),
            &json(r#"{"a": {"b": [1, 3]}}"#),
        ) else {
            panic!()
        };
        assert!(why.contains(r#"["a"]["b"][1]"#), "{why}");
        let Compare::Different(why) = compare(&json(r#"{"a": 1}"#), &json(r#"{"a": 1, "b": 2}"#))
        else {
            panic!()
        };
        assert!(why.contains("unexpected key \"b\""), "{why}");
    }
}
