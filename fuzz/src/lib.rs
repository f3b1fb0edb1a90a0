//! Helpers shared by the fuzz targets: JSON values built from fuzz input, and an in-memory
//! stream whose reads are split wherever the fuzz input says.

use std::pin::Pin;
use std::task::{Context, Poll};

use arbitrary::{Result, Unstructured};

/// AddressSanitizer's defaults for every target (each target calls this macro once).
/// - `detect_stack_use_after_return=0`: that check puts every large stack frame on a
///   heap-allocated fake stack, which halved throughput here; safe Rust cannot return a
///   reference to its own stack.
/// - `max_malloc_fill_size=0`: ASan fills the first 4 KiB of every allocation with 0xbe, which
///   only helps catch reads of uninitialised memory (which ASan does not detect anyway, and
///   safe Rust cannot do).
/// - `malloc_context_size=8`: every allocation and free records its call stack for reports;
///   8 frames instead of 30 still name the allocating function, and unwinding and storing the
///   rest was a tenth of the time of the session target.
///
/// Every memory-safety check stays on: heap and global overflows, use after free (with the
/// default quarantine), double free, leaks.
#[macro_export]
macro_rules! asan_defaults {
    () => {
        #[no_mangle]
        pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
            c"detect_stack_use_after_return=0:max_malloc_fill_size=0:malloc_context_size=8".as_ptr()
        }
    };
}

use reference_server::json as py;
use serde_json::Value;
use srpc_check::protocol::srpc::oracle::integer_text;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The object key serde_json reserves for numbers under its `arbitrary_precision` feature.
const SERDE_NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Any JSON value, nested at most a few levels, with big integers and edge floats.
pub fn json_value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let top = if depth >= 4 { 5 } else { 7 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::Number(
            serde_json::Number::from_i128(u.arbitrary()?)
                .expect("arbitrary_precision holds any i128"),
        ),
        4 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array(
                (0..n)
                    .map(|_| json_value(u, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let key: String = u.arbitrary()?;
                // serde_json's arbitrary_precision reads an object with this one key as a
                // number, so it cannot stand for itself in a Value (a serde_json limit, not a
                // server's).
                if key == SERDE_NUMBER_TOKEN {
                    continue;
                }
                map.insert(key, json_value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

/// What Python's `json.loads` makes of the text the harness writes for `v`: the value a
/// conforming server holds once it has read it. Numbers written with a fraction or an exponent
/// are floats, the others integers (`-0` is `0`); strings are UTF-16; key order is kept.
pub fn as_python(v: &Value) -> py::Value {
    match v {
        Value::Null => py::Value::Null,
        Value::Bool(b) => py::Value::Bool(*b),
        Value::Number(n) => match integer_text(n) {
            Some(t) => py::Value::Int(t.into()),
            None => py::Value::Float(float(n)),
        },
        Value::String(s) => py::Value::Str(s.encode_utf16().collect()),
        Value::Array(items) => py::Value::Array(items.iter().map(as_python).collect()),
        Value::Object(members) => py::Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), as_python(v)))
                .collect(),
        ),
    }
}

/// A number written with a fraction or an exponent, as the float Python reads it.
fn float(n: &serde_json::Number) -> f64 {
    n.as_str()
        .parse()
        .expect("serde_json writes numbers Rust can read")
}

/// Whether `held` is exactly [`as_python`]`(v)`, floats compared by their bits (so `-0.0` is
/// not `0.0`), without building it.
pub fn holds(held: &py::Value, v: &Value) -> bool {
    match (held, v) {
        (py::Value::Null, Value::Null) => true,
        (py::Value::Bool(a), Value::Bool(b)) => a == b,
        (py::Value::Int(i), Value::Number(n)) => integer_text(n) == Some(&**i),
        (py::Value::Float(f), Value::Number(n)) => {
            integer_text(n).is_none() && float(n).to_bits() == f.to_bits()
        }
        (py::Value::Str(units), Value::String(s)) => units.iter().copied().eq(s.encode_utf16()),
        (py::Value::Array(items), Value::Array(vs)) => {
            items.len() == vs.len() && items.iter().zip(vs).all(|(a, b)| holds(a, b))
        }
        (py::Value::Object(members), Value::Object(map)) => {
            members.len() == map.len()
                && members.iter().zip(map).all(|((k, a), (key, b))| {
                    k.iter().copied().eq(key.encode_utf16()) && holds(a, b)
                })
        }
        _ => false,
    }
}

/// Any UTF-16 code units, lone surrogates included, taken from the input in one piece (as
/// `String` is, rather than unit by unit as `Vec<u16>` is, which costs a flag byte and a call
/// per unit).
pub fn utf16(u: &mut Unstructured<'_>) -> Result<Vec<u16>> {
    let n = u.arbitrary_len::<u16>()?;
    Ok(u.bytes(2 * n)?
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// Any value as the reference server holds it, nested at most a few levels: big and negative
/// integers, every float (NaN, infinities and -0.0 included), strings of any UTF-16 code units
/// (lone surrogates included), and objects with distinct keys. `json::dumps` of such a value is
/// the canonical text Python's `json.dumps` would write, which reads back to the same text.
pub fn py_value(u: &mut Unstructured<'_>, depth: u32) -> Result<py::Value> {
    let top = if depth >= 4 { 5 } else { 7 };
    Ok(match u.int_in_range(0..=top)? {
        0 => py::Value::Null,
        1 => py::Value::Bool(u.arbitrary()?),
        2 => py::Value::Int(u.arbitrary::<i64>()?.to_string().into()),
        3 => {
            let magnitude = u.arbitrary::<u128>()?;
            let negative = magnitude != 0 && u.arbitrary::<bool>()?;
            let sign = if negative { "-" } else { "" };
            py::Value::Int(format!("{sign}{magnitude}").into())
        }
        4 => py::Value::Float(u.arbitrary()?),
        5 => py::Value::Str(utf16(u)?),
        6 => {
            let n = u.int_in_range(0..=4)?;
            py::Value::Array(
                (0..n)
                    .map(|_| py_value(u, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut members: Vec<(Vec<u16>, py::Value)> = Vec::with_capacity(n);
            for _ in 0..n {
                let key = utf16(u)?;
                let value = py_value(u, depth + 1)?;
                if members.iter().all(|(k, _)| *k != key) {
                    members.push((key, value));
                }
            }
            py::Value::Object(members)
        }
    })
}

/// One connection in memory: reads yield the input in the given pieces, then end of stream;
/// writes are appended to `output`.
pub struct MemStream<'a> {
    input: &'a [u8],
    /// Offsets (modulo the input's length, in any order) where a piece ends.
    cuts: &'a [u16],
    pos: usize,
    output: &'a mut Vec<u8>,
}

impl<'a> MemStream<'a> {
    pub fn new(input: &'a [u8], cuts: &'a [u16], output: &'a mut Vec<u8>) -> MemStream<'a> {
        MemStream {
            input,
            cuts,
            pos: 0,
            output,
        }
    }

    /// Where the piece starting at `pos` ends: the nearest cut after it, or the end.
    fn piece_end(&self) -> usize {
        let len = self.input.len();
        self.cuts
            .iter()
            .map(|&c| usize::from(c) % len.max(1))
            .filter(|&c| c > self.pos)
            .fold(len, usize::min)
    }
}

impl AsyncRead for MemStream<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let end = self.piece_end();
        let n = (end - self.pos).min(buf.remaining());
        buf.put_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
