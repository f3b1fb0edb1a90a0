//! Clients one after another, and what follows the ack.

use std::time::Instant;

use super::{code, fresh_handshake, still_serving};
use crate::net::conn::ReadStatus;
use crate::protocol::handshake::findings::HandshakeCode;
use crate::protocol::handshake::pickle;
use crate::suite::{Case, Ctx, Group, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "protocol/second-client",
            group: Group::Protocol,
            description: "a second client, after the first has left",
            requirement: "The server serves one client until it leaves, then accepts the next: it never stops by itself.",
            run: |ctx| in_a_row(ctx, 2),
        },
        Case {
            id: "protocol/ten-in-a-row",
            group: Group::Protocol,
            description: "ten clients, one after another",
            requirement: "Every client gets its own id (its own port) and its ack.",
            run: |ctx| in_a_row(ctx, 10),
        },
        Case {
            id: "protocol/after-ack",
            group: Group::Protocol,
            description: "after the ack, the client keeps reading, then closes",
            requirement: "After the ack the server sends nothing more: it closes the connection, or waits for the client's next message or its close (the lab does not say the server closes, so a client that reads until the end of the stream waits until it closes itself). Once the client closes, the next one is served.",
            run: after_ack,
        },
    ]
}

fn in_a_row(ctx: &mut Ctx, clients: usize) -> Verdict {
    for n in 1..=clients {
        match fresh_handshake(ctx) {
            Ok(done) => {
                ctx.keep(done.shake.conn);
            }
            Err(v) if n == 1 => return v,
            Err(v) => {
                let message = format!("client {n} of {clients}: {}", v.message);
                return Verdict { message, ..v };
            }
        }
    }
    Verdict::pass()
}

fn after_ack(ctx: &mut Ctx) -> Verdict {
    let mut done = match fresh_handshake(ctx) {
        Ok(done) => done,
        Err(v) => return v,
    };
    let (status, _) = done
        .shake
        .conn
        .wait_close(Instant::now() + ctx.settings.timeout);
    let extra = done.shake.unread().to_vec();
    ctx.keep(done.shake.conn);
    if !extra.is_empty() {
        let shown = match pickle::read(&extra) {
            pickle::Read::Value(v, _) => pickle::repr(&v),
            _ => pickle::shown(&extra),
        };
        return Verdict::fail(format!(
            "after the ack the server sent {} more bytes",
            extra.len()
        ))
        .expected("nothing after the ack")
        .actual(shown)
        .because(
            code(HandshakeCode::AckWrong),
            "send the ack once, pickle.dumps(1), and nothing after it",
        );
    }
    let v = still_serving(ctx);
    if v.status != crate::suite::Status::Pass {
        return v;
    }
    Verdict::pass().hint(match status {
        ReadStatus::Eof | ReadStatus::Reset => "the server closed the connection after the ack",
        _ => "the server kept the connection open after the ack and served the next client once this one closed",
    })
}
