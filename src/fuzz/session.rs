//! A fuzz session, in any protocol: a short sequence of steps, each an operation of the
//! protocol's model and a split plan, so every request can reach the server in pieces with
//! pauses between them; and the proptest strategy that generates sessions from the model's
//! operations.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session<Op> {
    pub steps: Vec<Step<Op>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step<Op> {
    pub op: Op,
    /// Byte offsets at which the request is cut; offsets outside the request are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<u16>,
    /// Pause before each later piece, in milliseconds.
    #[serde(default)]
    pub pause_ms: u8,
}

fn step<Op: std::fmt::Debug + Clone>(op: BoxedStrategy<Op>) -> impl Strategy<Value = Step<Op>> {
    let split = prop_oneof![
        3 => Just((Vec::new(), 0u8)),
        // Conn::send_pieces also waits for a local server to read each piece, so short pauses
        // are enough to make every split show.
        1 => (prop::collection::vec(1u16..160, 1..4), 2u8..=10),
    ];
    (op, split).prop_map(|(op, (cuts, pause_ms))| Step { op, cuts, pause_ms })
}

/// Sessions of one to eight steps of `op`.
pub fn session<Op: std::fmt::Debug + Clone>(
    op: BoxedStrategy<Op>,
) -> impl Strategy<Value = Session<Op>> {
    prop::collection::vec(step(op), 1..=8).prop_map(|steps| Session { steps })
}
