//! Where a pickle ends, and whether it is one the server may decode: a walk over its opcodes
//! that accepts plain values only.
//!
//! The walk never builds anything. It refuses every opcode that names or calls a Python object
//! (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1-4, PERSID,
//! BINPERSID) and out-of-band buffers, and it caps the memo lookups (each one may copy what it
//! names, so a few dozen could make a short pickle decode into gigabytes) and, through
//! [`Budget`], the size and depth of what the pickle would decode into. What it accepts,
//! [`serde_pickle`] decodes into plain values.

use super::budget::Budget;

/// What the walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// A whole pickle, `end` bytes long (its STOP included).
    Whole(usize),
    /// The bytes end before the pickle does.
    Incomplete,
    /// An opcode the server never decodes, at this offset.
    Refused(u8, usize),
    /// Not a pickle: an unknown opcode, a bad length, too many memo lookups, or a value that
    /// would decode too large or too deep ([`Budget`]).
    Malformed,
}

/// Memo lookups one pickle may make.
pub const MAX_GETS: usize = 8;

/// Walks the pickle at the start of `bytes`.
pub fn walk(bytes: &[u8]) -> Walk {
    let mut at = 0;
    let mut gets = 0;
    let mut budget = Budget::new();
    loop {
        let Some(&op) = bytes.get(at) else {
            return Walk::Incomplete;
        };
        let arg = match op {
            // STOP
            b'.' => {
                return match budget.finish() {
                    Ok(_) => Walk::Whole(at + 1),
                    Err(_) => Walk::Malformed,
                }
            }
            // Opcodes with no argument that build plain values.
            b'('
            | b'0'
            | b'1'
            | b'2'
            | b'N'
            | b'a'
            | b'd'
            | b'}'
            | b'e'
            | b'l'
            | b']'
            | b's'
            | b't'
            | b')'
            | b'u'
            | 0x85..=0x89
            | 0x8f
            | 0x90
            | 0x91
            | 0x94 => Arg::None,
            b'K' | b'q' | 0x80 => Arg::Fixed(1),
            b'h' => {
                gets += 1;
                Arg::Fixed(1)
            }
            b'M' => Arg::Fixed(2),
            b'J' | b'r' => Arg::Fixed(4),
            b'j' => {
                gets += 1;
                Arg::Fixed(4)
            }
            b'G' | 0x95 => Arg::Fixed(8),
            b'F' | b'I' | b'L' | b'S' | b'V' | b'p' => Arg::Line,
            b'g' => {
                gets += 1;
                Arg::Line
            }
            b'U' | b'C' | 0x8a | 0x8c => Arg::Counted(1),
            b'T' | b'X' | b'B' | 0x8b => Arg::Counted(4),
            0x8d | 0x8e | 0x96 => Arg::Counted(8),
            b'c'
            | b'\x93'
            | b'R'
            | b'b'
            | b'i'
            | b'o'
            | 0x81
            | 0x92
            | 0x82..=0x84
            | b'P'
            | b'Q'
            | 0x97
            | 0x98 => return Walk::Refused(op, at),
            _ => return Walk::Malformed,
        };
        if gets > MAX_GETS {
            return Walk::Malformed;
        }
        at += 1;
        let rest = &bytes[at..];
        let len = match arg {
            Arg::None => 0,
            Arg::Fixed(n) => n,
            Arg::Line => match rest.iter().position(|&b| b == b'\n') {
                Some(n) => n + 1,
                None => return Walk::Incomplete,
            },
            Arg::Counted(width) => {
                let Some(count) = rest.get(..width) else {
                    return Walk::Incomplete;
                };
                let mut n: u64 = 0;
                for (i, &b) in count.iter().enumerate() {
                    n |= u64::from(b) << (8 * i);
                }
                // LONG4's count is signed: a negative one is no pickle.
                if op == 0x8b && n > i32::MAX as u64 {
                    return Walk::Malformed;
                }
                match usize::try_from(n).ok().and_then(|n| n.checked_add(width)) {
                    Some(n) => n,
                    None => return Walk::Malformed,
                }
            }
        };
        if rest.len() < len {
            return Walk::Incomplete;
        }
        if budget.op(op, &rest[..len]).is_err() {
            return Walk::Malformed;
        }
        at += len;
    }
}

enum Arg {
    None,
    Fixed(usize),
    /// Up to and with a newline.
    Line,
    /// A little-endian count this many bytes wide, then that many bytes.
    Counted(usize),
}

/// `pickle.dumps(value)` for the server's two messages, as Python's default protocol 4 writes
/// them: a dict of one str key and a small int, and an int.
pub fn dict_of_int(key: &str, value: u16) -> Vec<u8> {
    let mut body = vec![b'}', 0x94, 0x8c, key.len() as u8];
    body.extend_from_slice(key.as_bytes());
    body.push(0x94);
    body.extend(int(value));
    body.extend_from_slice(b"s.");
    let mut out = vec![0x80, 4, 0x95];
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend(body);
    out
}

/// `pickle.dumps(n)`: too short for a frame.
pub fn just_int(n: u16) -> Vec<u8> {
    let mut out = vec![0x80, 4];
    out.extend(int(n));
    out.push(b'.');
    out
}

fn int(n: u16) -> Vec<u8> {
    match u8::try_from(n) {
        Ok(small) => vec![b'K', small],
        Err(_) => {
            let [lo, hi] = n.to_le_bytes();
            vec![b'M', lo, hi]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_messages_are_pythons_bytes() {
        // pickle.dumps({'clientid': 54321}) and pickle.dumps(1) on CPython 3.11.
        assert_eq!(
            dict_of_int("clientid", 54321),
            b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s."
        );
        assert_eq!(just_int(1), b"\x80\x04K\x01.");
        assert_eq!(walk(&dict_of_int("clientid", 7)), Walk::Whole(28));
    }

    #[test]
    fn walks_stop_where_the_pickle_does_and_refuse_globals() {
        let info = b"\x80\x04\x95:\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x0cstudent_name\x94\x8c\x03Ann\x94\x8c\x0fgithub_username\x94\x8c\x03ann\x94\x8c\x03sid\x94K\x07u.";
        assert_eq!(walk(info), Walk::Whole(info.len()));
        for cut in 0..info.len() {
            assert_eq!(walk(&info[..cut]), Walk::Incomplete, "{cut}");
        }
        let mut two = info.to_vec();
        two.extend_from_slice(b"\x80\x04K\x01.");
        assert_eq!(walk(&two), Walk::Whole(info.len()));
        // pickle.dumps(os.system) style: cposix\nsystem\n(S'id'\ntR.
        assert_eq!(walk(b"cposix\nsystem\n(S'id'\ntR."), Walk::Refused(b'c', 0));
        assert_eq!(
            walk(b"\x80\x04\x8c\x02os\x8c\x06system\x93."),
            Walk::Refused(0x93, 14)
        );
        assert_eq!(walk(b"\xffhello"), Walk::Malformed);
        assert_eq!(walk(b"\x80\x04\x8b\xff\xff\xff\xff"), Walk::Malformed);
        assert_eq!(walk(&[b'h', 0].repeat(MAX_GETS + 1)), Walk::Malformed);
        // Plain opcodes whose value would be 2^40 items, or 30,000 lists deep.
        let mut dup = vec![0x80, 4, b']', b'K', 1, b'a'];
        dup.extend(b"2\x86".repeat(40));
        dup.push(b'.');
        assert_eq!(walk(&dup), Walk::Malformed);
        let mut deep = vec![0x80, 4];
        deep.extend([b']'; 30_000]);
        deep.extend([b'a'; 29_999]);
        deep.push(b'.');
        assert_eq!(walk(&deep), Walk::Malformed);
    }
}
