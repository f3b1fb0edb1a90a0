//! lab 4's client cases: srpc-check plays the tutorial's server for one run of the student's
//! `app-client.py HOST PORT ACTION VALUE` per case. It answers the one request as the lab's
//! server does (the harness's own [`oracle`](super::oracle)); what changes from case to case
//! is how the reply is delivered ([`Delivery`]).
//!
//! - `serve`: the server srpc-check plays for one run, and what it saw.
//! - `judge`: the verdict: the request byte for byte against the tutorial client's, how the
//!   program ended, and whether it printed (`got result: ...`, `got response: b'...'`,
//!   `result: N`) exactly the reply it got.

mod judge;
pub mod serve;

use crate::client::{ClientCase, Judged, Play, Stage};
use crate::server::supervisor::Supervised;

/// How the reply of a run is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Whole,
    /// Cut after the first byte of the 2-byte length.
    SplitLength,
    /// Cut in the middle of the JSON header.
    SplitHeader,
    /// Cut in the middle of the content.
    SplitContent,
    /// One byte at a time.
    ByteAtATime,
    /// A reply of [`serve::LARGE`] bytes of content, in 64 KiB pieces.
    Large,
    /// A search answered with text that is not ASCII.
    NonAscii,
    /// The reply comes after [`serve::SLOW`].
    Slow,
    /// The connection is closed without a reply.
    NoReply,
    /// The 2-byte length and the JSON header arrive, then the connection closes.
    ClosesEarly,
}

impl Delivery {
    /// Whether the case cuts the reply, so that a client that takes one recv() for a whole
    /// part misreads it.
    pub fn splits(self) -> bool {
        matches!(
            self,
            Delivery::SplitLength
                | Delivery::SplitHeader
                | Delivery::SplitContent
                | Delivery::ByteAtATime
                | Delivery::Large
        )
    }

    /// Whether no whole reply is sent.
    pub fn withholds(self) -> bool {
        matches!(self, Delivery::NoReply | Delivery::ClosesEarly)
    }
}

const READ_WHOLE: &str = "the client reads the reply whole, whatever pieces it arrives in: it buffers what recv() returns and processes the 2-byte length, the JSON header and the content each once all of it has arrived";

fn case(
    id: &'static str,
    description: &'static str,
    requirement: &'static str,
    delivery: Delivery,
) -> ClientCase {
    ClientCase {
        id,
        description,
        requirement,
        play: play(delivery),
    }
}

/// Every client case, in run order.
pub fn cases() -> Vec<ClientCase> {
    vec![
        case(
            "client/whole",
            "the reply arrives in one piece",
            "the client sends the request the tutorial's client sends (the 2-byte length, the JSON header with its four keys, the content), reads the reply, prints it as the lab's client does, and exits",
            Delivery::Whole,
        ),
        case(
            "client/split-length",
            "the reply's 2-byte length arrives in two pieces, one byte each",
            READ_WHOLE,
            Delivery::SplitLength,
        ),
        case(
            "client/split-header",
            "the reply's JSON header arrives in two pieces",
            READ_WHOLE,
            Delivery::SplitHeader,
        ),
        case(
            "client/split-content",
            "the reply's content arrives in two pieces",
            READ_WHOLE,
            Delivery::SplitContent,
        ),
        case(
            "client/byte-at-a-time",
            "the reply arrives one byte at a time",
            READ_WHOLE,
            Delivery::ByteAtATime,
        ),
        case(
            "client/large-reply",
            "a reply with 256 KiB of content, sent in 64 KiB pieces",
            "the client reads a reply of any size whole",
            Delivery::Large,
        ),
        case(
            "client/non-ascii",
            "a search is answered with text that is not ASCII (emoji, accents, kana), UTF-8 encoded",
            "the client decodes the content with the header's content-encoding and prints the text itself",
            Delivery::NonAscii,
        ),
        case(
            "client/slow-reply",
            "the reply comes after 1.5 s",
            "the client waits for a reply that takes its time",
            Delivery::Slow,
        ),
        case(
            "client/no-reply",
            "the server closes the connection without replying",
            "the client does not hang when the server closes early: recv() returning b\"\" ends its wait, and it prints no result",
            Delivery::NoReply,
        ),
        case(
            "client/closes-early",
            "the server sends the 2-byte length and the JSON header, then closes the connection",
            "the client does not hang, and prints no result, when the reply stops before its content",
            Delivery::ClosesEarly,
        ),
    ]
}

/// Plays one run: serves the program's connection, delivering as `delivery` says, and judges.
fn play(delivery: Delivery) -> Play {
    Box::new(
        move |stage: &Stage<'_>, process: &mut Supervised| -> Judged {
            let log = serve::serve(stage, delivery, process);
            judge::judge(delivery, &log, stage.settings)
        },
    )
}
