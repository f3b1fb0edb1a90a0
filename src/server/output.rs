//! What a program srpc-check runs (or the embedded reference server) has printed: one ring
//! buffer for the whole session, across restarts. The supervisor fills it from the program's
//! output; cases that check a line the lab asks the server to print read it through
//! [`crate::suite::Settings::printed`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Bytes of the server's output kept (the most recent ones).
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// The server's output: one ring buffer for the whole session, across restarts.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<Ring>>);

struct Ring {
    bytes: VecDeque<u8>,
    /// Bytes ever written.
    total: u64,
    /// Bytes kept.
    limit: usize,
}

impl Default for Ring {
    fn default() -> Ring {
        Ring {
            bytes: VecDeque::new(),
            total: 0,
            limit: OUTPUT_LIMIT,
        }
    }
}

impl Output {
    /// A ring that keeps the last `limit` bytes.
    pub fn with_limit(limit: usize) -> Output {
        Output(Arc::new(Mutex::new(Ring {
            limit,
            ..Ring::default()
        })))
    }

    /// Appends what the program printed.
    pub fn push(&self, data: &[u8]) {
        let mut ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        ring.total += data.len() as u64;
        ring.bytes.extend(data);
        let excess = ring.bytes.len().saturating_sub(ring.limit);
        ring.bytes.drain(..excess);
    }

    /// Bytes written so far.
    pub fn total(&self) -> u64 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// What was written after `mark` (as far as the ring still holds it).
    pub fn since(&self, mark: u64) -> String {
        let ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let held_from = ring.total - ring.bytes.len() as u64;
        let skip = mark.saturating_sub(held_from) as usize;
        let bytes: Vec<u8> = ring.bytes.iter().skip(skip).copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Everything the ring holds.
    pub fn all(&self) -> String {
        self.since(0)
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Output({} bytes)", self.total())
    }
}
