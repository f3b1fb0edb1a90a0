//! Malformed and abandoned requests, each followed by a well-formed one that must still be
//! answered. The tutorial's server raises on each of them, prints the traceback and closes that
//! one connection: a printed traceback is normal for it, only a server that exits or stops
//! answering has failed. Whether the bad request itself gets a reply is not judged.

use std::time::Instant;

use super::super::codec::{self, framed, framed_with_length, header, CLIENT_BINARY};
use crate::suite::{Case, Ctx, Group, Verdict};

/// How a case's connection ends.
#[derive(Clone, Copy)]
enum End {
    /// Half-close, then wait for the server to close (or the timeout).
    HalfClose,
    /// Reset the connection (the client is gone at once).
    Reset,
}

fn send_bad(ctx: &mut Ctx, bytes: &[u8], end: End) -> Verdict {
    let mut conn = match ctx.connect() {
        Ok(c) => c,
        Err(v) => return v,
    };
    let _ = conn.send(bytes);
    match end {
        End::HalfClose => {
            conn.half_close();
            let _ = conn.wait_close(Instant::now() + ctx.settings.timeout);
            ctx.keep(conn);
        }
        End::Reset => {
            let t = conn.leave_with_reset();
            ctx.exchanges.push(t);
        }
    }
    super::still_serving(ctx)
}

macro_rules! robust {
    ($($id:literal, $description:literal, $requirement:literal => $run:expr;)*) => {
        pub fn cases() -> Vec<Case> {
            vec![$(Case {
                id: $id,
                group: Group::Robust,
                description: $description,
                requirement: $requirement,
                run: $run,
            }),*]
        }
    };
}

fn text_header_without(key: &str, content: &[u8]) -> Vec<u8> {
    let mut h: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header("text/json", "utf-8", content.len())).expect("json");
    h.remove(key);
    framed(serde_json::to_string(&h).expect("json").as_bytes(), content)
}

fn with_length(length: &str) -> Vec<u8> {
    let h = format!(
        r#"{{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": {length}}}"#
    );
    framed(h.as_bytes(), br#"{"action": "search", "value": "ring"}"#)
}

const SEARCH: &[u8] = br#"{"action": "search", "value": "ring"}"#;

robust! {
    "robust/missing-header-key", "a request header without content-type",
    "A header missing one of the four keys is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &text_header_without("content-type", SEARCH), End::HalfClose);
    "robust/header-not-json", "a JSON header that is not JSON",
    "A header that is not JSON is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &framed(b"{\"byteorder\": little", SEARCH), End::HalfClose);
    "robust/zero-length-header", "a 2-byte length of 0",
    "An empty JSON header is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &framed(b"", SEARCH), End::HalfClose);
    "robust/header-longer-than-sent", "a 2-byte length larger than the header that arrives",
    "A client that declares more header than it sends, then leaves, does not stop the server." =>
        |ctx: &mut Ctx| send_bad(ctx, &framed_with_length(500, &header("text/json", "utf-8", 5), b""), End::HalfClose);
    "robust/content-longer-than-sent", "content-length larger than the content that arrives",
    "A client that declares more content than it sends, then leaves, does not stop the server." =>
        |ctx: &mut Ctx| send_bad(ctx, &with_length("1000"), End::HalfClose);
    "robust/content-length-negative", "content-length -1",
    "A negative content-length is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &with_length("-1"), End::HalfClose);
    "robust/content-length-not-a-number", "content-length \"37\", a string",
    "A content-length that is not an int is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &with_length("\"37\""), End::HalfClose);
    "robust/unknown-encoding", "content-encoding no-such-codec",
    "An encoding Python does not know (LookupError) is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &codec::request("text/json", "no-such-codec", SEARCH), End::HalfClose);
    "robust/bad-utf8", "text/json content that is not UTF-8",
    "Content that does not decode (UnicodeDecodeError) is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &codec::request("text/json", "utf-8", b"{\"action\": \"search\", \"value\": \"\xff\xfe\"}"), End::HalfClose);
    "robust/content-not-json", "text/json content that is not JSON",
    "Content that is not JSON is refused; the server stays up." =>
        |ctx: &mut Ctx| send_bad(ctx, &codec::request("text/json", "utf-8", b"search ring"), End::HalfClose);
    "robust/double-not-10-bytes", "a binary request that starts with double but is 13 bytes",
    "Only a 10-byte request is a command; a longer one starting with double must not stop the server." =>
        |ctx: &mut Ctx| send_bad(ctx, &codec::request(CLIENT_BINARY, "binary", b"double 123456"), End::HalfClose);
    "robust/empty-connection", "a client that connects and leaves without sending",
    "An empty connection (b\"\" at once) does not stop the server." =>
        |ctx: &mut Ctx| send_bad(ctx, b"", End::HalfClose);
    "robust/client-gone", "a client that sends half a request and leaves",
    "A client that leaves mid-request (\"Peer closed.\") does not stop the server." =>
        |ctx: &mut Ctx| send_bad(ctx, &codec::search("ring")[..40], End::HalfClose);
    "robust/reset", "a client that sends a request and resets the connection",
    "A reset connection (the send of the reply fails) does not stop the server." =>
        |ctx: &mut Ctx| send_bad(ctx, &codec::search("morpheus"), End::Reset);
}
