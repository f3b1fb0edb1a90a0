//! The student info in pieces: TCP keeps no message boundaries, and a pickle has no length.

use super::{code, fresh_handshake, handshake, Info};
use crate::protocol::handshake::findings::HandshakeCode;
use crate::suite::{Case, Ctx, Group, Status, Verdict};

pub fn cases() -> Vec<Case> {
    vec![Case {
        id: "fragment/info-split",
        group: Group::Fragment,
        description: "the student info arrives in two pieces",
        requirement: "The server reads a message whole, whatever pieces it arrives in: it keeps what recv() returns until the pickle is complete.",
        run: info_split,
    }]
}

fn info_split(ctx: &mut Ctx) -> Verdict {
    let info = Info::fresh(ctx);
    let half = info.pickle().len() / 2;
    let split = match handshake(ctx, &info, &[half], ctx.settings.split_pause) {
        Ok(done) => {
            ctx.keep(done.shake.conn);
            return Verdict::pass();
        }
        Err(v) => v,
    };
    // The same info sent whole: if that is not served either, the bug is not the split's.
    match fresh_handshake(ctx) {
        Ok(done) => {
            ctx.keep(done.shake.conn);
            Verdict {
                status: Status::Warn,
                ..split.because(
                    code(HandshakeCode::InfoSingleRecv),
                    "the same info sent whole was acknowledged: the server unpickled the first piece alone; keep calling recv() until pickle.loads has the whole message",
                )
            }
        }
        Err(whole) => whole,
    }
}
