//! The app protocol's cases (lab 4), one file per group, and the verifiers they share: send a
//! request (whole or in pieces), read the reply as a lab 4 message, and judge it against the
//! oracle with the finding its difference points to.

use std::time::{Duration, Instant};

use super::codec::{self, py_bytes, Message};
use super::findings::AppCode;
use super::oracle::{self, Expected};
use crate::codes::Code;
use crate::net::reply::NoReply;
use crate::suite::{Case, Ctx, Verdict};

mod assignment;
mod concurrency;
mod fragment;
mod grading;
mod protocol;
mod robust;

/// Every case, in run order (the destructive groups last).
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(grading::cases());
    cases.extend(protocol::cases());
    cases.extend(fragment::cases());
    cases.extend(concurrency::cases());
    cases.extend(assignment::cases());
    cases.extend(robust::cases());
    cases
}

pub(crate) fn code(c: AppCode) -> Code {
    Code::App(c)
}

/// What a request is, for judging its reply.
#[derive(Debug, Clone, Copy)]
pub enum Kind<'a> {
    Search(&'a str),
    /// A plain binary request (its content).
    Echo(&'a [u8]),
    /// double or negate of n.
    Command(&'a [u8; 6], i32),
}

impl Kind<'_> {
    pub fn request(&self) -> Vec<u8> {
        match *self {
            Kind::Search(q) => codec::search(q),
            Kind::Echo(content) => codec::binary(content),
            Kind::Command(name, n) => codec::command(name, n),
        }
    }

    fn expected(&self) -> Expected {
        match *self {
            Kind::Search(q) => oracle::search(q),
            Kind::Echo(content) => oracle::echo(content),
            Kind::Command(name, n) => {
                oracle::command(oracle::compute(name, n).expect("cases pick values that fit"))
            }
        }
    }
}

/// Sends `bytes` (cut at `cuts`, `pause` between pieces) and reads one reply.
pub fn send(
    ctx: &mut Ctx,
    bytes: &[u8],
    cuts: &[usize],
    pause: Duration,
    wait_close: bool,
) -> Result<Result<Message, NoReply>, Verdict> {
    send_paced(ctx, bytes, cuts, &|_| pause, wait_close)
}

/// [`send`] with a pause of its own before each piece (see [`crate::net::Conn::send_paced`]).
pub fn send_paced(
    ctx: &mut Ctx,
    bytes: &[u8],
    cuts: &[usize],
    pause_at: &dyn Fn(usize) -> Duration,
    wait_close: bool,
) -> Result<Result<Message, NoReply>, Verdict> {
    let mut conn = ctx.connect()?;
    let _ = conn.send_paced(bytes, cuts, pause_at);
    let deadline = Instant::now() + ctx.settings.timeout;
    let reply = codec::read_reply(&mut conn, deadline, wait_close);
    ctx.delayed = conn.delayed_by();
    ctx.keep(conn);
    Ok(reply)
}

/// A missing reply as a verdict.
pub fn no_reply(e: &NoReply, timeout: Duration) -> Verdict {
    let v = Verdict::fail(e.describe(timeout));
    match e {
        NoReply::ClosedSilently | NoReply::Reset => v.because(
            code(AppCode::ClosesWithoutReply),
            "the server closed this connection without a reply: an exception while handling the request (the tutorial's main loop prints it, closes the connection and goes on)",
        ),
        NoReply::Garbled { reason } => {
            let reason = reason.clone();
            v.because(code(AppCode::ReplyNotAMessage), reason)
        }
        NoReply::Silent(_) => v.hint("the server accepted the connection and never answered: it waits for more than the request (are all its bytes read and acted on?)"),
    }
}

/// Sends the request of `kind` whole and judges the reply.
pub fn expect(ctx: &mut Ctx, kind: Kind<'_>) -> Verdict {
    expect_split(ctx, kind, &[], Duration::ZERO)
}

/// Sends the request of `kind` cut at `cuts` and judges the reply.
pub fn expect_split(ctx: &mut Ctx, kind: Kind<'_>, cuts: &[usize], pause: Duration) -> Verdict {
    expect_paced(ctx, kind, cuts, &|_| pause)
}

/// [`expect_split`] with a pause of its own before each piece.
pub fn expect_paced(
    ctx: &mut Ctx,
    kind: Kind<'_>,
    cuts: &[usize],
    pause_at: &dyn Fn(usize) -> Duration,
) -> Verdict {
    let request = kind.request();
    match send_paced(ctx, &request, cuts, pause_at, false) {
        Err(v) => v,
        Ok(Err(e)) => no_reply(&e, ctx.settings.timeout),
        Ok(Ok(m)) => judge(&request, &m, kind),
    }
}

/// The reply to `request`, judged against the oracle.
pub fn judge(request: &[u8], got: &Message, kind: Kind<'_>) -> Verdict {
    let want = kind.expected();
    let fail = |message: String| {
        Verdict::fail(message)
            .expected(py_bytes(&want.content))
            .actual(py_bytes(&got.content))
    };
    if let Some(v) = check_message(request, got) {
        return v.expected(py_bytes(&want.content));
    }
    if got.content != want.content {
        return content_wrong(fail, got, &want, kind);
    }
    let (ct, ce) = (got.text("content-type"), got.text("content-encoding"));
    if ct != Some(want.content_type) || ce != Some(want.content_encoding) {
        let m = format!(
            "the reply's content-type is {:?} and content-encoding {:?}; the lab's are {:?} and {:?}",
            ct.unwrap_or(""),
            ce.unwrap_or(""),
            want.content_type,
            want.content_encoding
        );
        return Verdict::fail(m.clone())
            .expected(format!("content-type {}", want.content_type))
            .actual(got.header_text.clone())
            .because(code(AppCode::ReplyHeaderWrong), m);
    }
    Verdict::pass()
}

/// What is wrong with any reply, whatever it answers: the request sent back, or a header that
/// is not the tutorial's.
pub fn check_message(request: &[u8], got: &Message) -> Option<Verdict> {
    if got.raw.len() >= request.len() && got.raw[..request.len()] == *request {
        return Some(
            Verdict::fail("the reply is the request itself, sent back")
                .actual(py_bytes(&got.raw))
                .because(
                    code(AppCode::EchoesRequest),
                    "the server echoes what it receives instead of answering it",
                ),
        );
    }
    let problem = got.header_problem()?;
    Some(
        Verdict::fail(problem.clone())
            .actual(got.header_text.clone())
            .because(code(AppCode::ReplyHeaderWrong), problem),
    )
}

/// The finding for a request that failed when cut at `cut` (and not whole): the part whose
/// reading does not wait for all its bytes.
pub fn part_at(request: &[u8], cut: usize) -> (AppCode, &'static str) {
    match codec::boundaries(request) {
        Some((_, header_end, _)) if cut >= header_end => {
            (AppCode::ContentPartialRead, "inside the content")
        }
        _ if cut >= 2 => (AppCode::JsonheaderPartialRead, "inside the JSON header"),
        _ => (AppCode::ProtoheaderPartialRead, "inside the 2-byte length"),
    }
}

fn content_wrong(
    fail: impl Fn(String) -> Verdict,
    got: &Message,
    want: &Expected,
    kind: Kind<'_>,
) -> Verdict {
    let c = &got.content;
    match kind {
        Kind::Search(q) => fail(format!("search {q:?} is not answered as the tutorial answers it"))
            .because(code(AppCode::SearchWrong), "the answer does not come from the tutorial's table, or is built differently"),
        Kind::Echo(_) => fail("a plain binary request is not answered `First 10 bytes of request: ` and its first 10 bytes".into())
            .because(code(AppCode::BinaryEchoWrong), "only double and negate get a result; every other binary request gets the tutorial's echo"),
        Kind::Command(name, n) => {
            let value = oracle::compute(name, n).expect("cases pick values that fit");
            let command = String::from_utf8_lossy(name).into_owned();
            let request: Vec<u8> = [&name[..], &n.to_be_bytes()].concat();
            if *c == oracle::echo(&request).content {
                fail(format!("{command} {n} got the plain echo, not a result"))
                    .because(code(AppCode::DoubleNegateMissing), format!("the binary {command} command is answered like any binary request: {command} was never added, or the result is not what is sent"))
            } else if *c == [&b"result"[..], &value.to_le_bytes()].concat() {
                fail(format!("{command} {n}: the result {value} is packed little-endian (it reads {} in network order)", i32::from_be_bytes(value.to_le_bytes())))
                    .because(code(AppCode::ResultByteOrder), "pack the result with \">6si\": network order")
            } else if c.len() > 10 && c.ends_with(&want.content) {
                fail(format!("{command} {n}: the result has {} bytes before it", c.len() - 10))
                    .because(code(AppCode::ResultWrong), format!("the content is b\"result\" and the value, nothing before it (here: {})", py_bytes(&c[..c.len() - 10])))
            } else if c.len() == 10 && c.starts_with(b"result") {
                let f = f32::from_be_bytes(c[6..].try_into().expect("4 bytes"));
                let got_value = i32::from_be_bytes(c[6..].try_into().expect("4 bytes"));
                let why = if f == value as f32 {
                    format!("the value is packed as a float ({f}), not an int")
                } else {
                    format!("the value is {got_value}, and {command} {n} is {value}")
                };
                fail(format!("{command} {n}: {why}")).because(code(AppCode::ResultWrong), why)
            } else {
                fail(format!("{command} {n} is not answered b\"result\" and {value}"))
                    .because(code(AppCode::ResultWrong), "the reply's content is exactly struct.pack(\">6si\", b\"result\", value)")
            }
        }
    }
}

/// The well-formed request after a bad one: any reply shows the server still serves.
pub fn still_serving(ctx: &mut Ctx) -> Verdict {
    use crate::net::reply::NoReply;
    use crate::protocol::Fresh;
    let timeout = ctx.settings.timeout;
    match (ctx.protocol.fresh)(ctx) {
        Fresh::Answered { .. } => Verdict::pass(),
        // Up, but it closes well-formed requests too: that is not this case's doing.
        Fresh::NoReply(e @ (NoReply::ClosedSilently | NoReply::Reset)) => {
            no_reply(&e, timeout).hint(
                "a well-formed search after this case was closed unanswered too: the server closes every such request (see the grading cases)",
            )
        }
        Fresh::NoReply(e) => Verdict::fail(format!(
            "a well-formed request after this case got no reply: {}",
            e.describe(timeout)
        ))
        .hint("the server accepts connections but no longer answers: it is stuck, perhaps still waiting on the connection this case opened"),
        Fresh::Connect(e) => Verdict::fail(format!("the server no longer accepts connections ({e})"))
            .hint("the server exited or crashed on what this case sent; the tutorial's main loop catches each connection's exception, prints it and closes that connection"),
    }
}

/// The search the engine sends to tell whether the server is serving.
pub fn fresh(ctx: &mut Ctx) -> crate::protocol::Fresh {
    use crate::protocol::Fresh;
    let kind = Kind::Search("morpheus");
    let request = kind.request();
    let mut conn = match crate::net::conn::Conn::connect(ctx.settings.addr, ctx.settings.timeout) {
        Ok(c) => c.watched(&ctx.settings.watch),
        Err(e) => return Fresh::Connect(e),
    };
    let _ = conn.send(&request);
    let reply = codec::read_reply(&mut conn, Instant::now() + ctx.settings.timeout, false);
    ctx.keep(conn);
    // Any lab 4 message shows a server that serves; what it says is the cases' business.
    match reply {
        Err(e) => Fresh::NoReply(e),
        Ok(m) => Fresh::Answered {
            right: true,
            shown: py_bytes(&m.content),
        },
    }
}

/// A search for morpheus: is the reply a lab 4 message with the tutorial's keys?
pub fn sniff(addr: std::net::SocketAddr, timeout: Duration, watch: &crate::observe::Watch) -> bool {
    let Ok(conn) = crate::net::conn::Conn::connect(addr, timeout) else {
        return false;
    };
    let mut conn = conn.watched(watch);
    let _ = conn.send(&codec::search("morpheus"));
    codec::read_reply(&mut conn, Instant::now() + timeout, false)
        .is_ok_and(|m| m.header.contains_key("content-type"))
}
