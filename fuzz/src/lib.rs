//! Helpers shared by the fuzz targets: JSON values built from fuzz input, and an in-memory
//! stream whose reads are split wherever the fuzz input says.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use arbitrary::{Result, Unstructured};

/// AddressSanitizer's defaults for every target (each target calls this macro once). Detecting
/// stack use after return puts every large stack frame on a heap-allocated fake stack, which
/// halves throughput here; safe Rust cannot return a reference to its own stack, so the other
/// checks (heap overflow, use after free, leaks) stay and this one goes.
#[macro_export]
macro_rules! asan_defaults {
    () => {
        #[no_mangle]
        pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
            c"detect_stack_use_after_return=0".as_ptr()
        }
    };
}
use serde_json::Value;
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
        3 => serde_json::from_str(&u.arbitrary::<u128>()?.to_string()).expect("digits are JSON"),
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

/// One connection in memory: reads yield the input in the given pieces, then end of stream;
/// writes are collected.
pub struct MemStream {
    input: VecDeque<Vec<u8>>,
    pub output: Vec<u8>,
}

impl MemStream {
    /// Splits `bytes` at the given offsets (taken modulo the length, in any order).
    pub fn new(bytes: &[u8], cuts: &[u16]) -> MemStream {
        let mut points: Vec<usize> = cuts
            .iter()
            .filter(|_| !bytes.is_empty())
            .map(|&c| usize::from(c) % bytes.len())
            .collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        points.dedup();
        let input = points
            .windows(2)
            .map(|w| bytes[w[0]..w[1]].to_vec())
            .collect();
        MemStream {
            input,
            output: Vec::new(),
        }
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(mut chunk) = self.input.pop_front() {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                self.input.push_front(chunk.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream {
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
