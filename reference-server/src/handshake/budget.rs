//! What a pickle of plain values decodes into, counted before anything is decoded.
//!
//! A short pickle can decode into something far larger than itself: a memo lookup (GET) or a
//! DUP repeats what it names, so a few dozen two-byte opcodes double a list a few dozen times;
//! and thirty thousand nested lists in 60 KB are deeper than any recursive decoder's stack.
//! [`Budget`] follows a pickle's opcodes as the unpickler would, but keeps only the shape of
//! what they build: which containers hold which, and how many bytes each leaf carries. It
//! counts the copies a decoder makes as it reads (`serde-pickle` copies at each DUP, even a
//! value it later drops), and at STOP it measures the value as the decoder returns it (every
//! memo lookup a copy). It refuses a pickle when those weigh more than [`MAX_WEIGHT`] or the
//! value nests deeper than [`MAX_DEPTH`].
//!
//! Both pickle readers feed it: the reference server's walk ([`super::pickle::walk`]) and
//! srpc-check's own. It sees only opcodes the readers have already accepted as plain values.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// The most a decoded message may weigh: a leaf weighs its bytes plus one, a container one
/// plus what it holds. A message of [`super::MAX_MESSAGE`] bytes without memo lookups weighs
/// less than that; this leaves room for a lookup or two of a large value, and keeps any
/// decoded message to a few megabytes.
pub const MAX_WEIGHT: u64 = 256 * 1024;

/// The deepest a decoded message may nest. The student info, a dict of leaves, is one deep.
pub const MAX_DEPTH: u32 = 100;

/// Why a pickle's value was refused before it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Over {
    /// It would weigh more than [`MAX_WEIGHT`] once decoded.
    Weight,
    /// It would nest deeper than [`MAX_DEPTH`].
    Depth,
    /// It holds itself (a list appended to itself through the memo).
    Recursive,
    /// An opcode that needs what is not there: an empty stack, no mark, a memo slot never
    /// filled, an item added to something that is no container.
    Malformed(&'static str),
}

impl fmt::Display for Over {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Over::Weight => write!(
                f,
                "it would decode into more than {MAX_WEIGHT} bytes (memo lookups or DUP repeat what they name)"
            ),
            Over::Depth => write!(f, "it nests deeper than {MAX_DEPTH} levels"),
            Over::Recursive => write!(f, "it contains itself"),
            Over::Malformed(why) => write!(f, "{why}"),
        }
    }
}

/// A stack or memo item: a leaf of this many bytes, or a container.
#[derive(Clone, Copy)]
enum Item {
    Leaf(u64),
    Container(usize),
}

#[derive(Default)]
struct Container {
    /// The bytes of the leaves it holds directly, plus one per leaf.
    leaves: u64,
    children: Vec<usize>,
}

/// The unpickler's stack, marks and memo, holding shapes instead of values.
#[derive(Default)]
pub struct Budget {
    stack: Vec<Item>,
    marks: Vec<usize>,
    memo: HashMap<u64, Item>,
    /// The containers the memo holds.
    memoized: HashSet<usize>,
    containers: Vec<Container>,
    /// The weight of the copies a decoder makes while it reads (DUP, a put of a memoized
    /// value), on top of the value it returns.
    copies: u64,
}

impl Budget {
    pub fn new() -> Budget {
        Budget::default()
    }

    /// Follows one accepted opcode. `arg` is its argument as it stands in the pickle (for a
    /// sized one, the length field and the bytes).
    pub fn op(&mut self, op: u8, arg: &[u8]) -> Result<(), Over> {
        match op {
            // MARK
            b'(' => self.marks.push(self.stack.len()),
            // PROTO, FRAME, STOP: nothing on the stack.
            0x80 | 0x95 | b'.' => {}
            // POP, POP_MARK, DUP
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = *self
                    .stack
                    .last()
                    .ok_or(Over::Malformed("DUP on an empty stack"))?;
                // A decoder copies the value there and then, even one it later drops.
                self.copied(top)?;
                self.stack.push(top);
            }
            // Empty containers.
            b']' | b'}' | b')' | 0x8f => self.new_container(Vec::new()),
            // Containers of the items since the mark, or of the top one to three.
            b'l' | b'd' | b't' | 0x91 => {
                let items = self.pop_mark()?;
                self.new_container(items);
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if self.stack.len() < n {
                    return Err(Over::Malformed(
                        "a tuple of more items than the stack holds",
                    ));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.new_container(items);
            }
            // APPEND, SETITEM, and their batched forms.
            b'a' => {
                let item = self.pop()?;
                self.add(vec![item])?;
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.add(vec![key, value])?;
            }
            b'e' | b'u' | 0x90 => {
                let items = self.pop_mark()?;
                self.add(items)?;
            }
            // PUT, BINPUT, LONG_BINPUT, MEMOIZE
            b'p' | b'q' | b'r' | 0x94 => {
                let top = *self
                    .stack
                    .last()
                    .ok_or(Over::Malformed("a memo put of nothing"))?;
                let slot = if op == 0x94 {
                    self.memo.len() as u64
                } else {
                    memo_slot(op, arg)?
                };
                // Putting what the memo already holds copies it.
                if let Item::Container(id) = top {
                    if !self.memoized.insert(id) {
                        self.copied(top)?;
                    }
                }
                self.memo.insert(slot, top);
            }
            // GET, BINGET, LONG_BINGET
            b'g' | b'h' | b'j' => {
                let slot = memo_slot(op, arg)?;
                let item = *self
                    .memo
                    .get(&slot)
                    .ok_or(Over::Malformed("a memo lookup of a slot never filled"))?;
                self.stack.push(item);
            }
            // Every other accepted opcode pushes one leaf carrying its argument.
            _ => self.stack.push(Item::Leaf(arg.len() as u64 + 1)),
        }
        Ok(())
    }

    /// At STOP: the weight and depth of the value the pickle returns, as its decoder builds
    /// it, or why it is refused.
    pub fn finish(&self) -> Result<(u64, u32), Over> {
        let top = *self
            .stack
            .last()
            .ok_or(Over::Malformed("STOP on an empty stack"))?;
        let (weight, depth) = self.measure(top)?;
        if weight.saturating_add(self.copies) > MAX_WEIGHT {
            return Err(Over::Weight);
        }
        Ok((weight, depth))
    }

    /// Counts a copy of `item` as it stands.
    fn copied(&mut self, item: Item) -> Result<(), Over> {
        let (weight, _) = self.measure(item)?;
        self.copies = self.copies.saturating_add(weight);
        if self.copies > MAX_WEIGHT {
            return Err(Over::Weight);
        }
        Ok(())
    }

    fn new_container(&mut self, items: Vec<Item>) {
        let id = self.containers.len();
        self.containers.push(Container::default());
        // A container built whole holds its items as a new one that is appended to.
        self.fill(id, items);
        self.stack.push(Item::Container(id));
    }

    fn add(&mut self, items: Vec<Item>) -> Result<(), Over> {
        match self.stack.last() {
            Some(Item::Container(id)) => {
                let id = *id;
                self.fill(id, items);
                Ok(())
            }
            _ => Err(Over::Malformed(
                "items added to something that is no container",
            )),
        }
    }

    fn fill(&mut self, id: usize, items: Vec<Item>) {
        for item in items {
            match item {
                Item::Leaf(weight) => {
                    let c = &mut self.containers[id];
                    c.leaves = c.leaves.saturating_add(weight);
                }
                Item::Container(child) => self.containers[id].children.push(child),
            }
        }
    }

    fn pop(&mut self) -> Result<Item, Over> {
        self.stack
            .pop()
            .ok_or(Over::Malformed("a pop from an empty stack"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Item>, Over> {
        let mark = self
            .marks
            .pop()
            .ok_or(Over::Malformed("no mark to pop to"))?;
        if mark > self.stack.len() {
            return Err(Over::Malformed("a mark above the stack"));
        }
        Ok(self.stack.split_off(mark))
    }

    /// The weight and depth of container `root` with every shared container counted once per
    /// place it appears (the decoder copies each), without recursion: the pickle decides how
    /// deep the containers go.
    ///
    /// Its cost is bounded by the containers it reaches, so by the weight it finds (or by
    /// [`MAX_WEIGHT`], where it stops).
    fn measure(&self, item: Item) -> Result<(u64, u32), Over> {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            Open,
            Done(u64, u32),
        }
        let root = match item {
            Item::Leaf(weight) => return Ok((weight, 0)),
            Item::Container(root) => root,
        };
        let mut state: HashMap<usize, State> = HashMap::new();
        let mut work = vec![root];
        while let Some(&id) = work.last() {
            match state.get(&id).copied().unwrap_or(State::New) {
                State::New => {
                    state.insert(id, State::Open);
                    for &child in &self.containers[id].children {
                        match state.get(&child).copied().unwrap_or(State::New) {
                            State::Open => return Err(Over::Recursive),
                            State::New => work.push(child),
                            State::Done(..) => {}
                        }
                    }
                }
                State::Open => {
                    let c = &self.containers[id];
                    let mut weight = 1u64.saturating_add(c.leaves);
                    let mut depth = 1u32;
                    for &child in &c.children {
                        let Some(&State::Done(w, d)) = state.get(&child) else {
                            // A child pushed twice is measured by its first visit; one still
                            // open here holds its parent.
                            return Err(Over::Recursive);
                        };
                        weight = weight.saturating_add(w);
                        depth = depth.max(d + 1);
                    }
                    if weight > MAX_WEIGHT {
                        return Err(Over::Weight);
                    }
                    if depth > MAX_DEPTH {
                        return Err(Over::Depth);
                    }
                    state.insert(id, State::Done(weight, depth));
                    work.pop();
                }
                State::Done(..) => {
                    work.pop();
                }
            }
        }
        match state.get(&root) {
            Some(&State::Done(weight, depth)) => Ok((weight, depth)),
            _ => Err(Over::Recursive),
        }
    }
}

/// The memo slot a PUT or GET names: a decimal line, one byte, or four little-endian bytes.
fn memo_slot(op: u8, arg: &[u8]) -> Result<u64, Over> {
    match op {
        b'p' | b'g' => std::str::from_utf8(arg)
            .ok()
            .and_then(|line| line.trim_end_matches('\n').trim().parse::<u64>().ok())
            .ok_or(Over::Malformed("a memo slot that is no number")),
        b'q' | b'h' => arg
            .first()
            .map(|&b| u64::from(b))
            .ok_or(Over::Malformed("a memo slot missing")),
        _ => arg
            .get(..4)
            .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .ok_or(Over::Malformed("a memo slot missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds opcodes and their arguments to a budget, then STOP.
    fn run(ops: &[(u8, &[u8])]) -> Result<(u64, u32), Over> {
        let mut budget = Budget::new();
        for &(op, arg) in ops {
            budget.op(op, arg)?;
        }
        budget.finish()
    }

    #[test]
    fn the_student_info_is_small_and_one_deep() {
        // {'sid': 7}: EMPTY_DICT, SHORT_BINUNICODE 'sid', BININT1 7, SETITEM.
        let info = run(&[
            (b'}', b""),
            (0x8c, b"\x03sid"),
            (b'K', b"\x07"),
            (b's', b""),
        ]);
        assert_eq!(info, Ok((1 + 5 + 2, 1)));
    }

    #[test]
    fn dup_and_memo_lookups_count_every_copy() {
        // [1], then DUP TUPLE2 repeated: (x, x) of the one before, each doubling it.
        let mut ops: Vec<(u8, &[u8])> = vec![(b']', b""), (b'K', b"\x01"), (b'a', b"")];
        for _ in 0..10 {
            ops.extend([(b'2', &b""[..]), (0x86, b"")]);
        }
        let (weight, depth) = run(&ops).unwrap();
        assert_eq!(depth, 11);
        assert_eq!(weight, (1 << 10) * 3 + (1 << 10) - 1);
        for _ in 0..30 {
            ops.extend([(b'2', &b""[..]), (0x86, b"")]);
        }
        assert_eq!(run(&ops), Err(Over::Weight));
        // A 200-byte string put in the memo, then looked up 2,000 times.
        let mut ops: Vec<(u8, &[u8])> = vec![(b']', b""), (b'C', &[200; 201][..])];
        ops.push((b'q', b"\x00"));
        ops.push((b'a', b""));
        for _ in 0..2000 {
            ops.extend([(b'h', &b"\x00"[..]), (b'a', b"")]);
        }
        assert_eq!(run(&ops), Err(Over::Weight));
        // Pairs doubled by DUP and then dropped: the copies were made all the same.
        let mut ops: Vec<(u8, &[u8])> = vec![(b']', b""), (b'K', b"\x01"), (b'a', b"")];
        for _ in 0..40 {
            ops.extend([(b'2', &b""[..]), (0x86, b"")]);
        }
        ops.extend([(b'0', &b""[..]), (b'N', b"")]);
        assert_eq!(run(&ops), Err(Over::Weight));
        // DUP APPEND appends a list to itself, as Python's unpickler does.
        let ops = [(b']', &b""[..]), (b'2', b""), (b'a', b"")];
        assert_eq!(run(&ops), Err(Over::Recursive));
    }

    #[test]
    fn deep_nesting_and_self_reference_are_refused_without_recursion() {
        let n = 30_000;
        let mut ops: Vec<(u8, &[u8])> = vec![(b']', b""); n];
        ops.extend(std::iter::repeat_n((b'a', &b""[..]), n - 1));
        assert_eq!(run(&ops), Err(Over::Depth));
        // ] q0 h0 a: a list appended to itself.
        let ops = [
            (b']', &b""[..]),
            (b'q', b"\x00"),
            (b'h', b"\x00"),
            (b'a', b""),
        ];
        assert_eq!(run(&ops), Err(Over::Recursive));
    }

    #[test]
    fn opcodes_without_what_they_need_are_malformed() {
        assert!(matches!(run(&[(b'a', b"")]), Err(Over::Malformed(_))));
        assert!(matches!(run(&[(b'e', b"")]), Err(Over::Malformed(_))));
        assert!(matches!(
            run(&[(b'K', b"\x01"), (b'K', b"\x02"), (b'a', b"")]),
            Err(Over::Malformed(_))
        ));
        assert!(matches!(run(&[(b'h', b"\x03")]), Err(Over::Malformed(_))));
        assert!(matches!(run(&[]), Err(Over::Malformed(_))));
    }
}
