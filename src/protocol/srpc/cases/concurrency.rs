//! Many clients at once, and clients that connect but do not (finish) sending. A sequential
//! server that times out idle clients within the operation timeout passes.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Case, Ctx, Group, Status, Verdict};
use crate::codes::Code;
use crate::net::conn::Conn;
use crate::protocol::srpc::codec;
use crate::protocol::srpc::findings::SrpcCode;
use crate::protocol::srpc::oracle::{self, Compare};
use crate::protocol::srpc::reply::{self, NoReply};

pub fn cases() -> Vec<Case> {
    let c = |id, description, requirement, run| Case {
        id,
        group: Group::Concurrency,
        description,
        requirement,
        run,
    };
    vec![
        c(
            "concurrency/parallel-clients",
            "8 clients at once, 5 PUTs and 5 unknown funcs each",
            "Every client gets its own correct answers, whatever else is connected.",
            parallel_clients,
        ),
        c(
            "concurrency/idle-client",
            "a client that connects and sends nothing does not block others",
            "One idle connection must not stop other clients being served.",
            idle_client,
        ),
        c(
            "concurrency/half-header-client",
            "a client that sent half a header does not block others",
            "One half-sent request must not stop other clients being served.",
            half_header_client,
        ),
    ]
}

const CLIENTS: usize = 8;
const ROUNDS: usize = 5;

fn parallel_clients(ctx: &mut Ctx) -> Verdict {
    let names: Vec<Vec<Value>> = (0..CLIENTS)
        .map(|_| (0..ROUNDS).map(|_| ctx.key()).collect())
        .collect();
    let (addr, timeout, deadline) = (ctx.settings.addr, ctx.settings.timeout, ctx.case_deadline());
    type Failure = (String, crate::net::conn::Transcript, Option<String>);
    let results: Vec<Result<(), Failure>> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(client, names)| {
                s.spawn(move || {
                    for (round, name) in names.iter().enumerate() {
                        // Both replies echo something of this client's, and neither depends on
                        // the store keeping anything (that is the state group's matter).
                        let val = Value::from(client * 100 + round);
                        let func = Value::String(format!("ECHO-{client}-{round}"));
                        let echo = format!(r#"{{"func": {func}, "params": {{}}}}"#).into_bytes();
                        for (request, expected) in [
                            (oracle::put_request(name, &val), oracle::put_reply(name)),
                            (echo, oracle::unknown_func_reply(&func)),
                        ] {
                            if Instant::now() > deadline {
                                return Err((
                                    super::over_budget(timeout).message,
                                    Default::default(),
                                    None,
                                ));
                            }
                            let mut conn = Conn::connect(addr, timeout)
                                .map_err(|e| (e.to_string(), Default::default(), None))?;
                            let _ = conn.send(&codec::request(&request));
                            match reply::read(&mut conn) {
                                Ok(r) => {
                                    if let Compare::Different(why) =
                                        oracle::compare(&expected, &r.json)
                                    {
                                        return Err((
                                            format!("client {client}: {why}"),
                                            conn.transcript,
                                            Some(r.json.to_string()),
                                        ));
                                    }
                                }
                                Err(e) => {
                                    return Err((
                                        format!("client {client}: {}", e.describe(timeout)),
                                        conn.transcript,
                                        None,
                                    ))
                                }
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(("client thread panicked".into(), Default::default(), None))
                })
            })
            .collect()
    });
    let failures: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    match failures.into_iter().next() {
        None => Verdict::pass(),
        Some((why, transcript, actual)) => Verdict {
            transcript: Some(Box::new(transcript)),
            actual,
            ..Verdict::fail(format!("with {CLIENTS} clients at once: {why}"))
                .because(Code::Srpc(SrpcCode::ParallelAnswersWrong), "answers were lost or mixed up under parallel clients: shared state needs a lock, and each connection needs its own buffers")
        },
    }
}

/// Opens a connection that has sent `prefix` (maybe nothing), then checks a second client is
/// served within the operation timeout. Afterwards the first connection is completed with a
/// valid request, so the server never sees it as an empty or broken connection.
/// The least wait that counts as the other client being served only after the idle one was
/// dropped (a server that serves clients at once answers sooner than the idle client is ever
/// timed out).
const DROPPED_FIRST: Duration = Duration::from_millis(20);

fn blocked_by(ctx: &mut Ctx, prefix_len: usize, what: &str) -> Verdict {
    let (idle_name, name) = (ctx.key(), ctx.key());
    let idle_frame = codec::request(&oracle::put_request(&idle_name, &Value::from(0)));
    let mut idle = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    if prefix_len > 0 {
        let _ = idle.send(&idle_frame[..prefix_len]);
    }
    let started = Instant::now();
    let result = ctx.exchange(
        &oracle::put_request(&name, &Value::from(1)),
        &[],
        Duration::ZERO,
    );
    let waited = started.elapsed();
    // Seen (on Linux) as a wait on the server's own timeout; or, where nothing can be seen (or
    // the look came too late), shown by the order of events: a server that serves one client
    // at a time dropped the idle one first, then served the other.
    let delayed = ctx
        .delayed
        .or_else(|| (waited >= DROPPED_FIRST && idle.closed_by_peer()).then_some(waited));
    // Finish the idle client properly, then let it go.
    let _ = idle.send(&idle_frame[prefix_len..]);
    let _ = reply::read(&mut idle);
    let held = crate::net::conn::Transcript {
        peer_reset: false,
        sent: idle
            .transcript
            .sent
            .iter()
            .take(usize::from(prefix_len > 0))
            .cloned()
            .collect(),
        half_closed: false,
        reset: false,
        received: Vec::new(),
    };
    ctx.keep(idle);
    // The other client's exchange is the one that shows the problem.
    let other = ctx
        .exchanges
        .len()
        .checked_sub(2)
        .map(|i| ctx.exchanges[i].clone());
    let timeout = ctx.settings.timeout;
    let expected = oracle::put_reply(&name).to_string();
    let v = match result {
        Err(v) => return v,
        // Served only once the server's own timeout on the idle client ended: the same
        // verdict however long the machine took, as that timeout is no longer than ours.
        Ok(Ok(r)) if r.status().as_deref() == Some("OK") => match delayed {
            None => return Verdict::pass(),
            Some(t) => {
                let t = crate::words::seconds(t);
                Verdict::new(
                    Status::Warn,
                    format!("while {what} was open, another client was served only when the server's own timeout of {t} on it ended"),
                )
                .because(Code::DelayedByIdleClient, format!("an idle client delays every other client by {t}, the server's own timeout: it serves one connection at a time"))
            }
        },
        Ok(Ok(r)) => Verdict::fail(format!("the other client got {}", r.json)).actual(r.json.to_string()),
        Ok(Err(NoReply::Silent(seen))) => {
            let waited = match &seen {
                Some(why) => format!("no reply: {why}"),
                None => format!("no reply within {}", humantime::format_duration(timeout)),
            };
            Verdict::fail(format!("while {what} was open, another client got {waited}"))
                .actual(format!("{waited} (the server was still serving {what})"))
        }
        .because(Code::BlocksOnIdleClient, "your server handles one connection at a time and waits on the idle one with no timeout, so every other client is stuck behind it. Serve each connection in its own thread (or with selectors), or at least give recv() a timeout (conn.settimeout)"),
        Ok(Err(e)) => {
            let v = super::no_reply_verdict(&e, timeout);
            Verdict {
                message: format!("{} (after {} with {what} open)", v.message, humantime::format_duration(crate::words::round_ms(waited))),
                ..v
            }
            .actual(e.describe(timeout))
        }
    };
    Verdict {
        transcript: other.map(Box::new),
        ..v.expected(expected).held(held)
    }
}

fn idle_client(ctx: &mut Ctx) -> Verdict {
    blocked_by(ctx, 0, "a client that sent nothing")
}

fn half_header_client(ctx: &mut Ctx) -> Verdict {
    blocked_by(ctx, 4, "a client that sent 4 of 8 header bytes")
}
