//! Many clients at once, the reason the lab's server uses selectors: a client holding half a
//! request while others are served, many clients at once, and a client that never reads its
//! reply.

use std::time::Instant;

use super::super::codec;
use super::{code, judge, no_reply, part_at, Kind};
use crate::codes::Code;
use crate::net::conn::Conn;
use crate::suite::{Case, Ctx, Group, Status, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "concurrency/half-request-held",
            group: Group::Concurrency,
            description: "a client holds half a request while another is served",
            requirement: "A client that has sent half a request never holds up another: the server serves many connections at once.",
            run: half_request_held,
        },
        Case {
            id: "concurrency/many-clients",
            group: Group::Concurrency,
            description: "16 clients connect, then all send, then all read",
            requirement: "Every client gets its own reply, whatever the others do.",
            run: many_clients,
        },
        Case {
            id: "concurrency/never-reads",
            group: Group::Concurrency,
            description: "a client that never reads its 1 MB reply, while another is served",
            requirement: "A reply the client does not read fills the socket's buffers; the server goes on serving others.",
            run: never_reads,
        },
    ]
}

fn blocked(held: &Conn, what: &str, v: Verdict) -> Verdict {
    let mut v = Verdict {
        message: format!("{what}: {}", v.message),
        ..v
    }
    .because(
        Code::BlocksOnIdleClient,
        format!("the server waits on one connection while another is ready (here: {what}); register every socket with the selector, non-blocking, and act on whichever is ready"),
    );
    let related = v.related.get_or_insert_with(Default::default);
    related.held = Some(held.transcript.clone());
    v
}

fn half_request_held(ctx: &mut Ctx) -> Verdict {
    let kind = Kind::Search("ring");
    let request = kind.request();
    let mut held = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    let half = request.len() / 2;
    let _ = held.send(&request[..half]);
    // Let the server take in the first half before the other client comes.
    std::thread::sleep(ctx.settings.split_pause);
    let v = super::expect(ctx, Kind::Search("morpheus"));
    if v.status != Status::Pass {
        let v = if v.message.contains("no reply") {
            blocked(&held, "a client holds half a request", v)
        } else {
            v
        };
        ctx.keep(held);
        return v;
    }
    // The held client finishes and is answered too.
    let _ = held.send(&request[half..]);
    let reply = codec::read_reply(&mut held, Instant::now() + ctx.settings.timeout, false);
    ctx.keep(held);
    let v = match reply {
        Err(e) => no_reply(&e, ctx.settings.timeout),
        Ok(m) => judge(&request, &m, kind),
    };
    if v.status == Status::Pass {
        return v;
    }
    // Sent whole, the same request is answered (grading): it is the split that fails.
    let (c, part) = part_at(&request, half);
    Verdict {
        message: format!("the held request, split {part}: {}", v.message),
        ..v
    }
    .because(
        code(c),
        format!("served whole but not split {part}: each part must wait until all its bytes are in the buffer"),
    )
}

fn many_clients(ctx: &mut Ctx) -> Verdict {
    let kinds: Vec<Kind<'static>> = (0..16)
        .map(|n| match n % 4 {
            0 => Kind::Search("morpheus"),
            1 => Kind::Search("\u{1f436}"),
            2 => Kind::Search("ring"),
            _ => Kind::Echo(b"parallel request"),
        })
        .collect();
    let mut conns = Vec::new();
    for _ in &kinds {
        match ctx.connect() {
            Ok(c) => conns.push(c),
            Err(v) => return v,
        }
    }
    for (conn, kind) in conns.iter_mut().zip(&kinds) {
        let _ = conn.send(&kind.request());
    }
    let deadline = Instant::now() + ctx.settings.timeout;
    let mut verdict = Verdict::pass();
    for (n, (mut conn, kind)) in conns.into_iter().zip(&kinds).enumerate() {
        let reply = codec::read_reply(&mut conn, deadline, false);
        let t = ctx.keep(conn);
        if verdict.status != Status::Pass {
            continue;
        }
        let v = match reply {
            Err(e) => no_reply(&e, ctx.settings.timeout),
            Ok(m) => judge(&kind.request(), &m, *kind),
        };
        if v.status != Status::Pass {
            verdict = Verdict {
                message: format!("client {} of 16: {}", n + 1, v.message),
                transcript: Some(Box::new(t)),
                ..v
            };
        }
    }
    verdict
}

fn never_reads(ctx: &mut Ctx) -> Verdict {
    let value = "y".repeat(1 << 20);
    let mut idle = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    let _ = idle.send(&codec::search(&value));
    std::thread::sleep(ctx.settings.split_pause);
    let v = super::expect(ctx, Kind::Search("morpheus"));
    let v = if v.status != Status::Pass && v.message.contains("no reply") {
        blocked(&idle, "a client does not read its 1 MB reply", v)
    } else {
        v
    };
    ctx.keep(idle);
    v
}
