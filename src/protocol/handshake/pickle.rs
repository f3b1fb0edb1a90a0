//! The harness's own pickle codec (independent of the reference server's): it reads what a
//! server or client sends into plain values without ever running it, and writes the plain
//! values srpc-check sends as CPython's default protocol writes them.
//!
//! Reading is two steps. [`scan`] walks the opcodes of protocols 0 to 5 and finds where the
//! pickle ends (there is no framing in lab 3: a message ends where its STOP is). It refuses
//! every opcode that names or calls a Python object (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST,
//! OBJ, NEWOBJ, NEWOBJ_EX, EXT1, EXT2, EXT4, PERSID, BINPERSID) and the out-of-band buffers of
//! protocol 5, and it caps the memo lookups (each may copy what it names, so a short pickle
//! could otherwise decode into gigabytes) and the message's size. It also follows what the
//! opcodes build, as shapes, with the reference server's [`Budget`], and refuses a value that
//! would decode into more than a few megabytes (DUP and memo lookups copy) or nest deeper than
//! a recursive decoder's stack allows. Only what it accepts is decoded, by [`serde_pickle`],
//! whose decoder builds values and runs nothing.

use std::fmt::Write;

use reference_server::handshake::budget::Budget;

pub use serde_pickle::{HashableValue, Value};

/// The longest message srpc-check reads: the lab's programs recv() 1,024 to 4,096 bytes.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Memo lookups (GET, BINGET, LONG_BINGET) one pickle may make.
pub const MAX_MEMO_LOOKUPS: usize = 16;

/// What the walk over a pickle's opcodes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A whole pickle of `end` bytes (its STOP included); the bytes after it are the next
    /// message.
    Whole { end: usize },
    /// The bytes end before the pickle does.
    Incomplete,
    /// An opcode that names or calls a Python object: unpickling it would run code.
    Refused { opcode: &'static str, at: usize },
    /// Not a pickle srpc-check reads, and why.
    Malformed(String),
}

/// How an opcode's argument is laid out.
#[derive(Clone, Copy)]
enum Arg {
    None,
    Bytes(usize),
    /// Text up to a newline; `lines` of them.
    Lines(u8),
    /// A little-endian length this many bytes wide, then that many bytes.
    Sized(usize),
}

/// An opcode's name, argument, and whether it is refused (`true`) or a memo lookup.
fn opcode(op: u8) -> Option<(&'static str, Arg, Use)> {
    use Arg::*;
    use Use::*;
    Some(match op {
        b'(' => ("MARK", None, Plain),
        b'.' => ("STOP", None, Plain),
        b'0' => ("POP", None, Plain),
        b'1' => ("POP_MARK", None, Plain),
        b'2' => ("DUP", None, Plain),
        b'F' => ("FLOAT", Lines(1), Plain),
        b'I' => ("INT", Lines(1), Plain),
        b'J' => ("BININT", Bytes(4), Plain),
        b'K' => ("BININT1", Bytes(1), Plain),
        b'L' => ("LONG", Lines(1), Plain),
        b'M' => ("BININT2", Bytes(2), Plain),
        b'N' => ("NONE", None, Plain),
        b'P' => ("PERSID", Lines(1), Calls),
        b'Q' => ("BINPERSID", None, Calls),
        b'R' => ("REDUCE", None, Calls),
        b'S' => ("STRING", Lines(1), Plain),
        b'T' => ("BINSTRING", Sized(4), Plain),
        b'U' => ("SHORT_BINSTRING", Sized(1), Plain),
        b'V' => ("UNICODE", Lines(1), Plain),
        b'X' => ("BINUNICODE", Sized(4), Plain),
        b'a' => ("APPEND", None, Plain),
        b'b' => ("BUILD", None, Calls),
        b'c' => ("GLOBAL", Lines(2), Calls),
        b'd' => ("DICT", None, Plain),
        b'}' => ("EMPTY_DICT", None, Plain),
        b'e' => ("APPENDS", None, Plain),
        b'g' => ("GET", Lines(1), Lookup),
        b'h' => ("BINGET", Bytes(1), Lookup),
        b'i' => ("INST", Lines(2), Calls),
        b'j' => ("LONG_BINGET", Bytes(4), Lookup),
        b'l' => ("LIST", None, Plain),
        b']' => ("EMPTY_LIST", None, Plain),
        b'o' => ("OBJ", None, Calls),
        b'p' => ("PUT", Lines(1), Plain),
        b'q' => ("BINPUT", Bytes(1), Plain),
        b'r' => ("LONG_BINPUT", Bytes(4), Plain),
        b's' => ("SETITEM", None, Plain),
        b't' => ("TUPLE", None, Plain),
        b')' => ("EMPTY_TUPLE", None, Plain),
        b'u' => ("SETITEMS", None, Plain),
        b'G' => ("BINFLOAT", Bytes(8), Plain),
        0x80 => ("PROTO", Bytes(1), Plain),
        0x81 => ("NEWOBJ", None, Calls),
        0x82 => ("EXT1", Bytes(1), Calls),
        0x83 => ("EXT2", Bytes(2), Calls),
        0x84 => ("EXT4", Bytes(4), Calls),
        0x85 => ("TUPLE1", None, Plain),
        0x86 => ("TUPLE2", None, Plain),
        0x87 => ("TUPLE3", None, Plain),
        0x88 => ("NEWTRUE", None, Plain),
        0x89 => ("NEWFALSE", None, Plain),
        0x8a => ("LONG1", Sized(1), Plain),
        0x8b => ("LONG4", Sized(4), Plain),
        b'B' => ("BINBYTES", Sized(4), Plain),
        b'C' => ("SHORT_BINBYTES", Sized(1), Plain),
        0x8c => ("SHORT_BINUNICODE", Sized(1), Plain),
        0x8d => ("BINUNICODE8", Sized(8), Plain),
        0x8e => ("BINBYTES8", Sized(8), Plain),
        0x8f => ("EMPTY_SET", None, Plain),
        0x90 => ("ADDITEMS", None, Plain),
        0x91 => ("FROZENSET", None, Plain),
        0x92 => ("NEWOBJ_EX", None, Calls),
        0x93 => ("STACK_GLOBAL", None, Calls),
        0x94 => ("MEMOIZE", None, Plain),
        0x95 => ("FRAME", Bytes(8), Plain),
        0x96 => ("BYTEARRAY8", Sized(8), Plain),
        0x97 => ("NEXT_BUFFER", None, Calls),
        0x98 => ("READONLY_BUFFER", None, Calls),
        _ => return Option::None,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Plain,
    /// Names or calls a Python object (or an out-of-band buffer): refused.
    Calls,
    Lookup,
}

/// Walks the pickle at the start of `bytes` (see [`Scan`]).
pub fn scan(bytes: &[u8]) -> Scan {
    let mut at = 0;
    let mut lookups = 0;
    let mut budget = Budget::new();
    loop {
        if at >= MAX_MESSAGE {
            return Scan::Malformed(format!(
                "no STOP within {} bytes, the most a message may have",
                MAX_MESSAGE
            ));
        }
        let Some(&op) = bytes.get(at) else {
            return Scan::Incomplete;
        };
        let Some((name, arg, usage)) = opcode(op) else {
            return Scan::Malformed(format!("byte {at} (0x{op:02x}) is no pickle opcode"));
        };
        match usage {
            Use::Calls => return Scan::Refused { opcode: name, at },
            Use::Lookup => {
                lookups += 1;
                if lookups > MAX_MEMO_LOOKUPS {
                    return Scan::Malformed(format!(
                        "more than {MAX_MEMO_LOOKUPS} memo lookups (a message of plain values needs none or a few)"
                    ));
                }
            }
            Use::Plain => {}
        }
        if name == "STOP" {
            return match budget.finish() {
                Ok(_) => Scan::Whole { end: at + 1 },
                Err(over) => Scan::Malformed(format!("refused before decoding: {over}")),
            };
        }
        let rest = &bytes[at + 1..];
        let len = match arg {
            Arg::None => 0,
            Arg::Bytes(n) => n,
            Arg::Lines(lines) => {
                let mut end = 0;
                for _ in 0..lines {
                    match rest[end..].iter().position(|&b| b == b'\n') {
                        Some(n) => end += n + 1,
                        None if rest.len() >= MAX_MESSAGE => {
                            return Scan::Malformed(format!("{name}'s line has no end"))
                        }
                        None => return Scan::Incomplete,
                    }
                }
                end
            }
            Arg::Sized(width) => {
                let Some(field) = rest.get(..width) else {
                    return Scan::Incomplete;
                };
                let mut raw = [0u8; 8];
                raw[..width].copy_from_slice(field);
                let declared = u64::from_le_bytes(raw);
                let signed_negative = width == 4 && name == "LONG4" && declared > i32::MAX as u64;
                if signed_negative {
                    return Scan::Malformed(format!("{name} at byte {at} declares a negative length"));
                }
                if declared > MAX_MESSAGE as u64 {
                    return Scan::Malformed(format!(
                        "{name} at byte {at} declares {declared} bytes, more than the {} a message may have",
                        MAX_MESSAGE
                    ));
                }
                width + declared as usize
            }
        };
        if rest.len() < len {
            return Scan::Incomplete;
        }
        if let Err(over) = budget.op(op, &rest[..len]) {
            return Scan::Malformed(format!("{name} at byte {at}: {over}"));
        }
        at += 1 + len;
    }
}

/// What reading one message from the start of some bytes gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// A plain value, and the length of its pickle.
    Value(Value, usize),
    Incomplete,
    /// Refused unread: it names or calls a Python object.
    Refused { opcode: &'static str, at: usize },
    /// Not a pickle (or not one of plain values), and why.
    Malformed(String),
}

/// Reads the message at the start of `bytes`.
pub fn read(bytes: &[u8]) -> Read {
    match scan(bytes) {
        Scan::Whole { end } => {
            match serde_pickle::value_from_slice(&bytes[..end], serde_pickle::DeOptions::new()) {
                Ok(value) => Read::Value(value, end),
                Err(e) => Read::Malformed(format!("not a pickle Python reads: {e}")),
            }
        }
        Scan::Incomplete => Read::Incomplete,
        Scan::Refused { opcode, at } => Read::Refused { opcode, at },
        Scan::Malformed(why) => Read::Malformed(why),
    }
}

/// A value srpc-check sends: plain values only, dicts in the order written.
#[derive(Debug, Clone, PartialEq)]
pub enum Py {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Py>),
    Tuple(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Py {
    pub fn str(s: &str) -> Py {
        Py::Str(s.to_owned())
    }

    /// A dict of str keys, in this order.
    pub fn dict<const N: usize>(items: [(&str, Py); N]) -> Py {
        Py::dict_of(items.into_iter().collect())
    }

    /// A dict of str keys, in this order.
    pub fn dict_of(items: Vec<(&str, Py)>) -> Py {
        Py::Dict(items.into_iter().map(|(k, v)| (Py::str(k), v)).collect())
    }
}

/// `pickle.dumps(value, protocol)` as CPython writes it, for protocols 4 and 5 (every value
/// its own object: no memo lookups).
pub fn dumps(value: &Py, protocol: u8) -> Vec<u8> {
    let mut body = Vec::new();
    write_value(&mut body, value);
    body.push(b'.');
    let mut out = vec![0x80, protocol];
    // CPython frames a pickle of at least four bytes after PROTO.
    if body.len() >= 4 {
        out.push(0x95);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    }
    out.extend(body);
    out
}

fn write_value(out: &mut Vec<u8>, value: &Py) {
    match value {
        Py::None => out.push(b'N'),
        Py::Bool(true) => out.push(0x88),
        Py::Bool(false) => out.push(0x89),
        Py::Int(n) => write_int(out, *n),
        Py::Float(f) => {
            out.push(b'G');
            out.extend_from_slice(&f.to_be_bytes());
        }
        Py::Str(s) => {
            write_sized(out, s.as_bytes(), 0x8c, b'X');
            out.push(0x94);
        }
        Py::Bytes(b) => {
            write_sized(out, b, b'C', b'B');
            out.push(0x94);
        }
        Py::List(items) => {
            out.extend_from_slice(&[b']', 0x94]);
            write_batched(out, items.iter(), b'a', b'e', write_value);
        }
        Py::Tuple(items) if items.is_empty() => out.push(b')'),
        Py::Tuple(items) => {
            let small = items.len() <= 3;
            if !small {
                out.push(b'(');
            }
            for item in items {
                write_value(out, item);
            }
            out.push(match items.len() {
                1 => 0x85,
                2 => 0x86,
                3 => 0x87,
                _ => b't',
            });
            out.push(0x94);
        }
        Py::Dict(items) => {
            out.extend_from_slice(&[b'}', 0x94]);
            write_batched(out, items.iter(), b's', b'u', |out, (k, v)| {
                write_value(out, k);
                write_value(out, v);
            });
        }
    }
}

/// Items as CPython batches them: one alone with `one`, more in marked batches of 1,000.
fn write_batched<'a, T: 'a>(
    out: &mut Vec<u8>,
    items: impl ExactSizeIterator<Item = &'a T>,
    one: u8,
    many: u8,
    write: impl Fn(&mut Vec<u8>, &T),
) {
    let items: Vec<&T> = items.collect();
    for batch in items.chunks(1000) {
        if let [item] = batch {
            write(out, item);
            out.push(one);
        } else {
            out.push(b'(');
            for item in batch {
                write(out, item);
            }
            out.push(many);
        }
    }
}

fn write_sized(out: &mut Vec<u8>, bytes: &[u8], short: u8, long: u8) {
    match u8::try_from(bytes.len()) {
        Ok(n) => out.extend_from_slice(&[short, n]),
        Err(_) => {
            out.push(long);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

fn write_int(out: &mut Vec<u8>, n: i64) {
    if let Ok(small) = u8::try_from(n) {
        out.extend_from_slice(&[b'K', small]);
    } else if let Ok(medium) = u16::try_from(n) {
        out.push(b'M');
        out.extend_from_slice(&medium.to_le_bytes());
    } else if let Ok(word) = i32::try_from(n) {
        out.push(b'J');
        out.extend_from_slice(&word.to_le_bytes());
    } else {
        // LONG1: the fewest little-endian two's-complement bytes that hold n.
        let mut bytes = n.to_le_bytes().to_vec();
        while bytes.len() > 1 {
            let top = bytes[bytes.len() - 1];
            let next = bytes[bytes.len() - 2];
            if (top == 0 && next & 0x80 == 0) || (top == 0xff && next & 0x80 != 0) {
                bytes.pop();
            } else {
                break;
            }
        }
        out.extend_from_slice(&[0x8a, bytes.len() as u8]);
        out.extend(bytes);
    }
}

/// `repr(value)`, as Python prints it (a dict's keys in sorted order: the decoder keeps no
/// other).
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::None => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::I64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::F64(f) => out.push_str(&crate::pyrepr::float(*f)),
        Value::Bytes(b) => out.push_str(&crate::pyrepr::bytes(b)),
        Value::String(s) => out.push_str(&crate::pyrepr::string(s)),
        Value::List(items) => seq(out, "[", items.iter(), "]", false),
        Value::Tuple(items) => seq(out, "(", items.iter(), ")", items.len() == 1),
        Value::Set(items) if items.is_empty() => out.push_str("set()"),
        Value::Set(items) => hashable_seq(out, "{", items.iter(), "}"),
        Value::FrozenSet(items) if items.is_empty() => out.push_str("frozenset()"),
        Value::FrozenSet(items) => hashable_seq(out, "frozenset({", items.iter(), "})"),
        Value::Dict(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &k.clone().into_value());
                out.push_str(": ");
                write_repr(out, v);
            }
            out.push('}');
        }
    }
}

fn seq<'a>(
    out: &mut String,
    open: &str,
    items: impl Iterator<Item = &'a Value>,
    close: &str,
    trailing_comma: bool,
) {
    out.push_str(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, item);
    }
    if trailing_comma {
        out.push(',');
    }
    out.push_str(close);
}

fn hashable_seq<'a>(
    out: &mut String,
    open: &str,
    items: impl Iterator<Item = &'a HashableValue>,
    close: &str,
) {
    let values: Vec<Value> = items.map(|h| h.clone().into_value()).collect();
    seq(out, open, values.iter(), close, false);
}

/// The value under the str key `key` of a dict.
pub fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Dict(items) => items.get(&HashableValue::String(key.to_owned())),
        _ => None,
    }
}

/// The value as a Python int, when it is one (a bool is not, here).
pub fn int(value: &Value) -> Option<i128> {
    match value {
        Value::I64(n) => Some(i128::from(*n)),
        Value::Int(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Bytes that are not a whole pickle, shown for a person: Python's bytes repr, clipped.
pub fn shown(bytes: &[u8]) -> String {
    crate::words::clip(&crate::pyrepr::bytes(bytes), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_opcode_that_names_or_calls_an_object() {
        // What pickle.dumps of a class with __reduce__ returning (os.system, ("id",)) gives,
        // in protocols 0 and 4.
        assert_eq!(
            scan(b"cposix\nsystem\np0\n(Vid\np1\ntp2\nRp3\n."),
            Scan::Refused {
                opcode: "GLOBAL",
                at: 0
            }
        );
        let p4 = b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.";
        assert_eq!(
            scan(p4),
            Scan::Refused {
                opcode: "STACK_GLOBAL",
                at: 28
            }
        );
        assert!(matches!(read(p4), Read::Refused { .. }));
        for op in [b'R', b'b', b'i', b'o', 0x81, 0x92, 0x82, b'Q', 0x97] {
            assert!(
                matches!(scan(&[0x80, 4, b'N', op]), Scan::Refused { at: 3, .. }),
                "{op:x}"
            );
        }
    }

    #[test]
    fn finds_where_a_message_ends_and_caps_what_it_reads() {
        let id = dumps(&Py::dict([("clientid", Py::Int(54321))]), 4);
        let mut both = id.clone();
        both.extend(dumps(&Py::Int(1), 4));
        assert_eq!(scan(&both), Scan::Whole { end: id.len() });
        for cut in 0..id.len() {
            assert_eq!(scan(&id[..cut]), Scan::Incomplete, "{cut}");
        }
        assert!(matches!(scan(b"\xffhi"), Scan::Malformed(_)));
        // A declared length past the cap is refused from the length alone.
        assert!(matches!(
            scan(b"\x80\x04\x8d\x00\x00\x00\x00\x01\x00\x00\x00"),
            Scan::Malformed(m) if m.contains("declares")
        ));
        let mut lookups = b"]q\x00(".to_vec();
        lookups.extend([b'h', 0].repeat(MAX_MEMO_LOOKUPS + 1));
        assert!(matches!(scan(&lookups), Scan::Malformed(m) if m.contains("memo lookups")));
        assert!(matches!(scan(&[b'('; MAX_MESSAGE + 1]), Scan::Malformed(_)));
    }

    /// Pickles of plain values a few bytes or kilobytes long that would decode into gigabytes
    /// or overflow the decoder's stack: refused by the walk, before anything is decoded.
    #[test]
    fn refuses_values_that_would_decode_too_large_or_too_deep() {
        // A pair of the pair before, by DUP TUPLE2, 40 times: 86 bytes, 2^40 items once
        // decoded.
        let mut dup = vec![0x80, 4, b']', b'K', 1, b'a'];
        dup.extend(b"2\x86".repeat(40));
        dup.push(b'.');
        assert!(matches!(scan(&dup), Scan::Malformed(m) if m.contains("decode into more than")));
        assert!(matches!(read(&dup), Read::Malformed(_)));
        // 30,000 nested lists in 60 KB.
        let n = 30_000;
        let mut deep = vec![0x80, 4];
        deep.extend(std::iter::repeat_n(b']', n));
        deep.extend(std::iter::repeat_n(b'a', n - 1));
        deep.push(b'.');
        assert!(matches!(read(&deep), Read::Malformed(m) if m.contains("deeper than")));
        // A list that holds itself, through the memo or DUP.
        assert!(matches!(read(b"\x80\x04]2a."), Read::Malformed(m) if m.contains("itself")));
        assert!(matches!(read(b"\x80\x04]q\x00h\x00a."), Read::Malformed(m) if m.contains("itself")));
        // Sixty nested lists are fine, and the value is theirs.
        let mut fine = vec![0x80, 4];
        fine.extend(std::iter::repeat_n(b']', 60));
        fine.extend(std::iter::repeat_n(b'a', 59));
        fine.push(b'.');
        let Read::Value(value, _) = read(&fine) else {
            panic!("{:?}", read(&fine))
        };
        assert_eq!(repr(&value), format!("{}{}", "[".repeat(60), "]".repeat(60)));
    }

    #[test]
    fn reads_plain_values_and_shows_them_as_python_does() {
        let Read::Value(v, _) = read(&dumps(
            &Py::dict([
                ("student_name", Py::str("Zoë 'Z'")),
                ("sid", Py::Int(-7)),
                ("t", Py::Tuple(vec![Py::Int(1)])),
                ("b", Py::Bytes(b"\x00a".to_vec())),
                ("f", Py::Float(0.5)),
                ("n", Py::None),
            ]),
            4,
        )) else {
            panic!()
        };
        assert_eq!(
            repr(&v),
            "{'b': b'\\x00a', 'f': 0.5, 'n': None, 'sid': -7, 'student_name': \"Zoë 'Z'\", 't': (1,)}"
        );
        assert_eq!(int(get(&v, "sid").unwrap()), Some(-7));
        // Protocol 0, as pickle.dumps(..., 0) writes it.
        let Read::Value(v, _) = read(b"(dp0\nVclientid\np1\nI5000\ns.") else {
            panic!()
        };
        assert_eq!(repr(&v), "{'clientid': 5000}");
        // Protocol 5, Python 3.14's default: the same bytes but for PROTO.
        let five = dumps(&Py::dict([("clientid", Py::Int(5))]), 5);
        assert_eq!(
            five,
            b"\x80\x05\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94K\x05s."
        );
        let Read::Value(v, _) = read(&five) else {
            panic!()
        };
        assert_eq!(repr(&v), "{'clientid': 5}");
    }

    #[test]
    fn writes_what_cpython_writes() {
        // pickle.dumps(...) on CPython 3.11.
        assert_eq!(dumps(&Py::Int(1), 4), b"\x80\x04K\x01.");
        assert_eq!(
            dumps(&Py::dict([("clientid", Py::Int(54321))]), 4),
            b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s."
        );
        assert_eq!(
            dumps(
                &Py::dict([
                    ("student_name", Py::str("Ann")),
                    ("github_username", Py::str("ann")),
                    ("sid", Py::Int(7))
                ]),
                4
            ),
            b"\x80\x04\x95:\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x0cstudent_name\x94\x8c\x03Ann\x94\x8c\x0fgithub_username\x94\x8c\x03ann\x94\x8c\x03sid\x94K\x07u."
        );
        assert_eq!(
            dumps(&Py::Int(-1), 4),
            b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xff."
        );
        assert_eq!(
            dumps(&Py::Int(1 << 40), 4),
            b"\x80\x04\x95\t\x00\x00\x00\x00\x00\x00\x00\x8a\x06\x00\x00\x00\x00\x00\x01."
        );
    }
}
