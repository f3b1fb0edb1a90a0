//! srpc's client cases: srpc-check plays a correct srpc server with a real store (the reference
//! server's own `respond`); what changes from case to case is how the replies are delivered
//! ([`Delivery`]): in one piece, the header split at every offset, the payload in pieces, a byte
//! at a time, a large value, non-ASCII text, a slow reply, or no reply at all.
//!
//! - `serve`: the server srpc-check plays for one run, and what it saw on each connection.
//! - `judge`: the case's verdict from that: the requests, whether each reply was read whole,
//!   how the program ended, and whether it printed (`Ret:...`) exactly the replies it got.
//! - `repr`: Python's repr of a reply, for that comparison.

mod judge;
pub mod repr;
pub mod serve;

use serde_json::{json, Value};

use crate::client::{ClientCase, Judged, Play, Stage};
use crate::server::supervisor::Supervised;

/// How the replies of a run are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    OnePiece,
    /// The header in two pieces, cut after this many bytes (1 to 7).
    HeaderSplit(usize),
    HeaderThenPayload,
    /// The payload in three pieces (the first with the header).
    PayloadSplit,
    /// One byte at a time.
    Dribble,
    /// A GET of a name nobody has PUT finds a large value, sent in 64 KiB pieces.
    Large,
    /// A GET of a name nobody has PUT finds text that is not ASCII (escaped on the wire).
    NonAscii,
    /// The first reply comes after [`serve::SLOW`].
    Slow,
    /// Every connection is closed without a reply.
    CloseWithoutReply,
}

const SPLIT_DESCRIPTIONS: [&str; 7] = [
    "each reply's 8-byte header arrives in two pieces, cut after byte 1",
    "each reply's 8-byte header arrives in two pieces, cut after byte 2",
    "each reply's 8-byte header arrives in two pieces, cut after byte 3",
    "each reply's 8-byte header arrives in two pieces, cut after byte 4",
    "each reply's 8-byte header arrives in two pieces, cut after byte 5",
    "each reply's 8-byte header arrives in two pieces, cut after byte 6",
    "each reply's 8-byte header arrives in two pieces, cut after byte 7",
];
const SPLIT_IDS: [&str; 7] = [
    "client/header-split-1",
    "client/header-split-2",
    "client/header-split-3",
    "client/header-split-4",
    "client/header-split-5",
    "client/header-split-6",
    "client/header-split-7",
];
const READ_WHOLE: &str = "the client reads each reply whole: the 8-byte header in a loop, then the payload in a loop until all `length` bytes have arrived";

/// Every client case, in run order.
pub fn cases() -> Vec<ClientCase> {
    let mut cases = vec![ClientCase {
        id: "client/one-piece",
        description: "each reply arrives in one piece",
        requirement: "the client sends well-formed requests (a little-endian header, exactly the declared length, JSON with func and params), reads each reply, closes the connection, and prints what it received",
        play: play(Delivery::OnePiece),
    }];
    for k in 1..=7 {
        cases.push(ClientCase {
            id: SPLIT_IDS[k - 1],
            description: SPLIT_DESCRIPTIONS[k - 1],
            requirement:
                "the client reads the reply header in a loop until all 8 bytes have arrived",
            play: play(Delivery::HeaderSplit(k)),
        });
    }
    cases.extend([
        ClientCase {
            id: "client/header-then-payload",
            description: "each reply's header, then its payload, in two pieces",
            requirement: "the client reads the header and the payload as separate reads: one recv() does not return a whole message",
            play: play(Delivery::HeaderThenPayload),
        },
        ClientCase {
            id: "client/payload-split",
            description: "each reply's payload arrives in three pieces",
            requirement: READ_WHOLE,
            play: play(Delivery::PayloadSplit),
        },
        ClientCase {
            id: "client/dribble",
            description: "every reply arrives one byte at a time",
            requirement: READ_WHOLE,
            play: play(Delivery::Dribble),
        },
        ClientCase {
            id: "client/large-reply",
            description: "a GET of a name not yet PUT finds a 256 KiB value (as if another client had stored it), sent in 64 KiB pieces",
            requirement: "the client reads a reply of any size whole",
            play: play(Delivery::Large),
        },
        ClientCase {
            id: "client/non-ascii",
            description: "a GET of a name not yet PUT finds a value with non-ASCII text, escaped (\\u00eb) as json.dumps writes it",
            requirement: "the client handles any text in a reply: json.loads gives back the real characters",
            play: play(Delivery::NonAscii),
        },
        ClientCase {
            id: "client/slow-reply",
            description: "the first reply comes after 1.5 s",
            requirement: "the client waits for a reply that takes its time",
            play: play(Delivery::Slow),
        },
        ClientCase {
            id: "client/server-closes",
            description: "the server closes every connection without replying",
            requirement: "the client does not hang when the server closes early: recv() returning b\"\" ends its wait",
            play: play(Delivery::CloseWithoutReply),
        },
    ]);
    cases
}

/// The value the large case's store already holds under any name the client GETs first.
pub fn large_value() -> Value {
    let chunk: String = (0..64).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    json!({
        "note": "stored by another client",
        "data": chunk.repeat(4096),
    })
}

/// The value the non-ASCII case's store already holds under any name the client GETs first.
pub fn non_ascii_value() -> Value {
    json!({
        "name": "Zoë",
        "city": "Kraków",
        "greeting": "こんにちは",
        "smile": "🙂",
        "text": "naïve café, “quoted”",
    })
}

/// Plays one run: serves the program's connections, delivering as `delivery` says, and judges.
fn play(delivery: Delivery) -> Play {
    Box::new(
        move |stage: &Stage<'_>, process: &mut Supervised| -> Judged {
            let preload = match delivery {
                Delivery::Large => Some(large_value()),
                Delivery::NonAscii => Some(non_ascii_value()),
                _ => None,
            };
            let log = serve::serve(
                &serve::Serve {
                    listeners: stage.listeners,
                    delivery,
                    timeout: stage.settings.timeout,
                    start_timeout: stage.settings.start_timeout,
                    preload: preload.as_ref(),
                },
                process,
            );
            judge::judge(delivery, &log, stage.settings)
        },
    )
}
