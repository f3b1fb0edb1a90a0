//! lab 3's client cases: srpc-check plays the lab's server on 12000 for one run of the
//! student's client per case. It sends the client id, reads the student info, and sends the
//! ack; what changes from case to case is how the id and the ack are delivered ([`Delivery`]).
//!
//! - `serve`: the server srpc-check plays for one run, and what it saw.
//! - `judge`: the verdict: the student info (its three keys and their types), how the program
//!   ended, and whether it printed the lab's connected and passed lines.

mod judge;
pub mod serve;

use crate::client::{ClientCase, Judged, Play, Stage};
use crate::server::supervisor::Supervised;

/// How the id and the ack of a run are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Each in one segment.
    Whole,
    /// The id and the ack together, in one segment, before the info is read.
    Together,
    /// The id in two segments.
    SplitId,
    /// The ack in two segments.
    SplitAck,
    /// The ack after [`serve::SLOW`].
    SlowAck,
    /// No ack: the connection is closed after the info.
    NoAck,
    /// The ack is the int 0, not 1.
    WrongAck,
    /// The connection is closed right after the id.
    ClosesAfterId,
}

impl Delivery {
    /// The run ends without the ack 1: the client must not print that it passed.
    pub fn withholds(self) -> bool {
        matches!(
            self,
            Delivery::NoAck | Delivery::WrongAck | Delivery::ClosesAfterId
        )
    }

    /// A message is cut in two.
    pub fn splits(self) -> bool {
        matches!(self, Delivery::SplitId | Delivery::SplitAck)
    }
}

const READ_WHOLE: &str = "the client reads each message whole, whatever pieces it arrives in: it keeps what recv() returns until pickle.loads has a whole pickle (pickle.load over client.makefile('rb') does it)";

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
            "the id and the ack each arrive in one segment",
            "the client reads its id, prints `{'clientid': N} has successfully connected to 127.0.0.1/12000`, sends {'student_name': str, 'github_username': str, 'sid': int}, reads the ack 1, prints `Data acknowledged by server and you passed the test`, and exits",
            Delivery::Whole,
        ),
        case(
            "client/id-and-ack-together",
            "the id and the ack arrive together, in one segment",
            "the client reads the ack that came with its id (TCP keeps no message boundaries): it keeps the bytes after the first pickle",
            Delivery::Together,
        ),
        case(
            "client/id-split",
            "the id arrives in two segments",
            READ_WHOLE,
            Delivery::SplitId,
        ),
        case(
            "client/ack-split",
            "the ack arrives in two segments",
            READ_WHOLE,
            Delivery::SplitAck,
        ),
        case(
            "client/slow-ack",
            "the ack comes 1.5 s after the student info",
            "the client waits for an ack that takes its time",
            Delivery::SlowAck,
        ),
        case(
            "client/no-ack",
            "the server closes the connection without an ack",
            "the client does not hang when the server closes (recv() returns b\"\"), and it does not print that it passed",
            Delivery::NoAck,
        ),
        case(
            "client/wrong-ack",
            "the ack is the int 0, not 1",
            "the client checks the ack: it prints that it passed only for the int 1",
            Delivery::WrongAck,
        ),
        case(
            "client/closes-after-id",
            "the server closes the connection right after the id",
            "the client does not hang, and does not print that it passed, when the server closes before the ack",
            Delivery::ClosesAfterId,
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
