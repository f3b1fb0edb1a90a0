//! srpc's finding codes: the catalogue entries, the rules that make one finding of several
//! cases' causes, and where in a student's code each one lives.
//!
//! Codes that mean the same in every protocol (`no-close`, `stops-answering`, ...) are the
//! shared catalogue's, in [`crate::codes`].

use crate::codes::Code;
use crate::diagnose::source::{Fact, Source};
use crate::diagnose::{needs_finding, Diagnosis, Finding};
use crate::runner::{Outcome, RunReport};
use crate::server::traceback::Traceback;
use crate::suite::Group;

use super::probe::ERROR_REPLY;

/// srpc's own codes, as shared codes.
pub fn own() -> Vec<Code> {
    SrpcCode::LISTED.iter().map(|&c| Code::Srpc(c)).collect()
}

/// Failures that an ERROR reply to a well-formed request explains, whatever the case set out to
/// show: a server that answers every such request ERROR answers ERROR to a split one, to eight
/// clients at once and beside an idle one too, and none of that is a second bug. It closes as
/// soon as it has answered, so a split or large request may instead meet a reset (closing with
/// bytes unread, the kernel resets and may drop the ERROR): the same, by timing.
const ERROR_EXPLAINS: [Code; 7] = [
    Code::Srpc(SrpcCode::UnknownFuncReply),
    Code::Srpc(SrpcCode::HeaderSingleRecv),
    Code::Srpc(SrpcCode::PayloadSingleRecv),
    Code::Srpc(SrpcCode::MessageSingleRecv),
    Code::Srpc(SrpcCode::ReplyPartialSend),
    Code::Srpc(SrpcCode::ParallelAnswersWrong),
    Code::BlocksOnIdleClient,
];

/// Header, payload, whole message: the last is what the first two are when both show.
const READ_CODES: [Code; 3] = [
    Code::Srpc(SrpcCode::HeaderSingleRecv),
    Code::Srpc(SrpcCode::PayloadSingleRecv),
    Code::Srpc(SrpcCode::MessageSingleRecv),
];

/// The same three, on the client's side.
const CLIENT_READ_CODES: [Code; 3] = [
    Code::Srpc(SrpcCode::ClientHeaderSingleRecv),
    Code::Srpc(SrpcCode::ClientPayloadSingleRecv),
    Code::Srpc(SrpcCode::ClientMessageSingleRecv),
];

/// The crash a case's own input explains, whatever the traceback says: a request misread by
/// one recv() keeps its reading's code, and the robust cases name what they sent.
pub fn crash_cause(o: &Outcome) -> Option<Code> {
    if let Some(read) = o.finding.filter(|c| READ_CODES.contains(c)) {
        return Some(read);
    }
    Some(match o.id {
        // The large reply is an unknown func's echo of its 1 MiB name.
        "protocol/unknown-func" | "fragment/large-reply" => {
            Code::Srpc(SrpcCode::CrashOnUnknownFunc)
        }
        "robust/empty-connection" | "robust/short-header" => {
            Code::Srpc(SrpcCode::CrashOnShortHeader)
        }
        "robust/client-gone" => Code::CrashWhenClientLeaves,
        c if c.starts_with("robust/") => Code::Srpc(SrpcCode::CrashOnBadRequest),
        _ => return None,
    })
}

/// srpc's rules over the engine's causes (see [`crate::protocol::Protocol::refine`]).
pub fn refine(report: &RunReport, codes: &mut [Option<Code>], source: Option<&Source>) {
    let outcomes = &report.outcomes;
    let probe_confirmed = report.probe.as_ref().is_some_and(|p| p.confirmed);
    // What the engine could only call a hang, or could not explain: ERROR to a well-formed
    // request, or a header read big-endian, which the probe showed.
    for (o, c) in outcomes.iter().zip(codes.iter_mut()) {
        if o.finding.is_some() || o.group == Group::Client || !needs_finding(o) {
            continue;
        }
        *c = match *c {
            Some(Code::StopsAnswering) if probe_confirmed => {
                Some(Code::Srpc(SrpcCode::RequestReadBigEndian))
            }
            Some(Code::Unexplained) if o.server.is_none() && o.went_down.is_none() => {
                if o.actual.as_deref() == Some(ERROR_REPLY) {
                    Some(Code::Srpc(SrpcCode::AnswersError))
                } else if probe_confirmed && o.message.contains("no reply within") {
                    Some(Code::Srpc(SrpcCode::RequestReadBigEndian))
                } else {
                    *c
                }
            }
            other => other,
        };
    }
    // A server that answers ERROR to every well-formed request (shown by a case that sent one
    // whole) answers ERROR to the other cases' requests too, for the same reason.
    let answers_error = outcomes.iter().zip(codes.iter()).any(|(o, c)| {
        *c == Some(Code::Srpc(SrpcCode::AnswersError)) && o.group != crate::suite::Group::Fragment
    });
    if answers_error {
        for (i, o) in outcomes.iter().enumerate() {
            if codes[i].is_some_and(|c| ERROR_EXPLAINS.contains(&c))
                && (o.actual.as_deref() == Some(ERROR_REPLY)
                    || o.transcript.as_ref().is_some_and(|t| t.peer_reset))
            {
                codes[i] = Some(Code::Srpc(SrpcCode::AnswersError));
            }
        }
    }
    // ERROR because the request was misread: the probe showed the server reads the header
    // big-endian (a big-endian request was answered, and not with ERROR).
    if probe_confirmed {
        for c in codes.iter_mut().flatten() {
            if *c == Code::Srpc(SrpcCode::AnswersError) {
                *c = Code::Srpc(SrpcCode::RequestReadBigEndian);
            }
        }
    }
    // Read and written big-endian: one bug, one fix, one finding.
    let reply_be = report.probe.as_ref().is_some_and(|p| p.reply_big_endian)
        || codes.contains(&Some(Code::Srpc(SrpcCode::ReplyBigEndian)));
    if reply_be && codes.contains(&Some(Code::Srpc(SrpcCode::RequestReadBigEndian))) {
        for c in codes.iter_mut().flatten() {
            if matches!(
                c,
                Code::Srpc(SrpcCode::RequestReadBigEndian) | Code::Srpc(SrpcCode::ReplyBigEndian)
            ) {
                *c = Code::Srpc(SrpcCode::HeaderBigEndian);
            }
        }
    }
    // One recv() for the whole message shows in header and payload splits alike, on the
    // server's side and on the client's.
    for reading in [READ_CODES, CLIENT_READ_CODES] {
        let whole = reading[2];
        if codes.contains(&Some(whole)) {
            for c in codes.iter_mut().flatten() {
                if reading.contains(c) {
                    *c = whole;
                }
            }
        }
    }
    // A 1 MiB reply cannot come back for a 1 MiB request that was never read whole.
    let large_request = outcomes
        .iter()
        .position(|o| o.id == "fragment/large-request")
        .and_then(|i| codes[i])
        .filter(|c| READ_CODES.contains(c));
    if let Some(read) = large_request {
        for c in codes.iter_mut().flatten() {
            if *c == Code::Srpc(SrpcCode::ReplyPartialSend) {
                *c = read;
            }
        }
    }
    // A client that waits on after a whole reply reads its header big-endian only if its
    // code unpacks a header so; otherwise it just hangs.
    let client_source = source.map(|s| s.client.as_deref().unwrap_or(s));
    if !client_source.is_some_and(|s| s.facts.iter().any(|f| big_endian_struct("unpack", f))) {
        for c in codes.iter_mut().flatten() {
            if *c == Code::Srpc(SrpcCode::ClientReplyReadBigEndian) {
                *c = Code::ClientHangs;
            }
        }
    }
}

/// Findings no case shows by itself (see [`crate::protocol::Protocol::more_findings`]).
pub fn more_findings(report: &RunReport, diagnosis: &mut Diagnosis, source: Option<&Source>) {
    if let Some(finding) = behind_byte_order(report, diagnosis, source) {
        diagnosis.findings.push(finding);
    }
}

/// A second bug the big-endian probe showed: sent in the byte order the server reads, the
/// request made it raise an exception. That is a bug of its own when the exception is not
/// how a connection ends (a client that left), and the request read big-endian is a finding.
/// It lists the case the probe followed, whose own finding stays the byte order's.
fn behind_byte_order(
    report: &RunReport,
    diagnosis: &Diagnosis,
    source: Option<&Source>,
) -> Option<Finding> {
    let probe = report.probe.as_ref().filter(|p| p.confirmed)?;
    let tb = Traceback::parse(probe.crash.as_deref()?)?;
    let read_be = diagnosis.findings.iter().any(|f| {
        matches!(
            f.code,
            Code::Srpc(SrpcCode::RequestReadBigEndian) | Code::Srpc(SrpcCode::HeaderBigEndian)
        )
    });
    if !read_be || tb.is_departure() {
        return None;
    }
    let location = source.and_then(|s| {
        let f = tb.own_frame()?;
        Some(crate::diagnose::at(s, &f.file, f.line))
    });
    Some(Finding {
        code: Code::Srpc(SrpcCode::CrashBehindByteOrder),
        cases: vec![probe.case],
        representative: probe.case,
        location,
        from_probe: true,
        note: None,
    })
}

/// A `struct.pack`/`unpack` (as `call` names it) with a big-endian format.
fn big_endian_struct(call: &str, f: &Fact) -> bool {
    f.kind == "struct"
        && f.call.as_deref().is_some_and(|c| c.starts_with(call))
        && f.format
            .as_deref()
            .is_some_and(|s| s.starts_with(['!', '>']))
}

/// The line a finding lives on in an srpc server or client, from what the scan found.
pub fn locate(code: Code, _cases: &[&Outcome], source: &Source) -> Option<(String, u32)> {
    let fact = |pick: &dyn Fn(&Fact) -> bool| {
        source
            .facts
            .iter()
            .find(|f| pick(f))
            .map(|f| (f.file.clone(), f.line))
    };
    let once = |f: &Fact| f.kind == "recv" && f.in_loop == Some(false);
    let byte_order = big_endian_struct;
    let kind = |k: &'static str| move |f: &Fact| f.kind == k;
    match code {
        Code::Srpc(SrpcCode::HeaderSingleRecv) | Code::Srpc(SrpcCode::ClientHeaderSingleRecv) => {
            fact(&|f| once(f) && f.size == Some(8))
                .or_else(|| fact(&|f| once(f) && f.size.is_some_and(|n| n < 64)))
                .or_else(|| fact(&once))
        }
        Code::Srpc(SrpcCode::PayloadSingleRecv) | Code::Srpc(SrpcCode::ClientPayloadSingleRecv) => {
            fact(&|f| once(f) && f.size.is_none())
                .or_else(|| fact(&|f| once(f) && f.size != Some(8)))
        }
        Code::Srpc(SrpcCode::MessageSingleRecv) | Code::Srpc(SrpcCode::ClientMessageSingleRecv) => {
            fact(&|f| once(f) && f.size.is_some_and(|n| n >= 64)).or_else(|| fact(&once))
        }
        Code::Srpc(SrpcCode::RequestReadBigEndian)
        | Code::Srpc(SrpcCode::ClientReplyReadBigEndian) => fact(&|f| byte_order("unpack", f)),
        Code::Srpc(SrpcCode::HeaderBigEndian) => {
            fact(&|f| byte_order("unpack", f)).or_else(|| fact(&|f| byte_order("pack", f)))
        }
        Code::Srpc(SrpcCode::ReplyBigEndian) => fact(&|f| byte_order("pack", f)),
        Code::Srpc(SrpcCode::ClientRequestMalformed) => fact(&|f| byte_order("pack", f)),
        Code::Srpc(SrpcCode::ReplyDoubleEncoded) => fact(&kind("dumps_twice")),
        Code::Srpc(SrpcCode::ReplyLengthCountsChars) => fact(&kind("ensure_ascii_false")),
        Code::Srpc(SrpcCode::StatusSpelling) => fact(&kind("status_literal")),
        Code::Srpc(SrpcCode::ReplyPartialSend) => fact(&kind("send")),
        Code::Srpc(SrpcCode::StoreNotKept) => fact(&kind("store_fresh")),
        Code::Srpc(SrpcCode::ValueStringified) => fact(&kind("stringify")),
        Code::Srpc(SrpcCode::PutMerges) => fact(&kind("update")),
        _ => None,
    }
}

crate::catalogue! {
    SrpcCode;
    HeaderSingleRecv {
        code: "header-single-recv",
        area: "reading a request",
        severity: Error,
        title: "the request header is read with a single recv()",
        explanation: "recv(8) returns whatever has arrived, which may be fewer than 8 bytes: on a slow network, or when a client writes the header in pieces. Your server takes what one recv() returns as the whole header, so a header that arrives in two pieces is misread.",
        fix: "your server reads the header with one recv(); loop until all 8 bytes have arrived (and treat b\"\" as a closed connection)",
        wrong: "header = conn.recv(8)\nversion, length = struct.unpack(\"ii\", header)",
        right: "header = b\"\"\nwhile len(header) < 8:\n    chunk = conn.recv(8 - len(header))\n    if not chunk:\n        raise ConnectionError(\"client closed early\")\n    header += chunk\nversion, length = struct.unpack(\"ii\", header)",
    }
    PayloadSingleRecv {
        code: "payload-single-recv",
        area: "reading a request",
        severity: Error,
        title: "the request payload is read with a single recv()",
        explanation: "recv(length) returns at most length bytes, and often fewer: a large request, or one that arrives in pieces, is cut short, and json.loads then fails on half a payload.",
        fix: "your server reads the payload with one recv(length); loop until all `length` bytes have arrived",
        wrong: "payload = conn.recv(length)\nrequest = json.loads(payload.decode())",
        right: "payload = b\"\"\nwhile len(payload) < length:\n    chunk = conn.recv(length - len(payload))\n    if not chunk:\n        raise ConnectionError(\"client closed early\")\n    payload += chunk\nrequest = json.loads(payload.decode())",
    }
    MessageSingleRecv {
        code: "message-single-recv",
        area: "reading a request",
        severity: Error,
        title: "the whole request is read with one recv(4096)",
        explanation: "One recv(4096) returns what has arrived so far, not one whole message: when the header and the payload arrive separately, or the request is larger than 4096 bytes, your server sees only part of it.",
        fix: "your server reads the whole message with one recv(); read the 8-byte header in a loop, then loop until all `length` payload bytes have arrived",
        wrong: "data = conn.recv(4096)\nrequest = json.loads(data[8:].decode())",
        right: "header = recv_exactly(conn, 8)\nversion, length = struct.unpack(\"ii\", header)\nrequest = json.loads(recv_exactly(conn, length).decode())",
    }
    RequestReadBigEndian {
        code: "request-read-big-endian",
        area: "reading a request",
        severity: Error,
        title: "the request header is read as big-endian",
        explanation: "Clients pack the header with struct.pack(\"ii\", ...), which is little-endian on every student machine. Your server unpacks it with \"!II\" or \">ii\", so version 1 and a 60-byte length read as 16777216 and 1006632960, and the server waits for bytes that never come.",
        fix: "your server unpacks the request header as big-endian; use struct.unpack(\"ii\", header), as the clients pack it",
        wrong: "version, length = struct.unpack(\"!II\", header)",
        right: "version, length = struct.unpack(\"ii\", header)",
    }
    HeaderBigEndian {
        code: "header-big-endian",
        area: "reading a request",
        severity: Error,
        title: "the header is read and written as big-endian",
        explanation: "Clients pack the header with struct.pack(\"ii\", ...), which is little-endian on every student machine, and read the reply's header the same way. Your server unpacks the request header and packs the reply header with \">ii\" or \"!II\": version 1 and a 60-byte length read as 16777216 and 1006632960, so it waits for bytes that never come (or gives up and answers ERROR), and the lab's client cannot read its replies either.",
        fix: "your server reads and writes the header as big-endian; use \"ii\" in both struct.unpack (the request) and struct.pack (the reply)",
        wrong: "version, length = struct.unpack(\"!II\", header)\n...\nconn.sendall(struct.pack(\"!II\", 1, len(body)) + body)",
        right: "version, length = struct.unpack(\"ii\", header)\n...\nconn.sendall(struct.pack(\"ii\", 1, len(body)) + body)",
    }
    EofNotHandled {
        code: "eof-not-handled",
        area: "reading a request",
        severity: Error,
        title: "a client that closed its side keeps the server waiting",
        explanation: "When a client closes its side, recv() returns b\"\" at once and forever. Your server keeps waiting (or looping) for the rest of a request that can no longer come.",
        fix: "treat recv() returning b\"\" as a closed connection: stop reading, answer ERROR if you can, and close",
        wrong: "while len(data) < length:\n    data += conn.recv(length - len(data))",
        right: "while len(data) < length:\n    chunk = conn.recv(length - len(data))\n    if not chunk:\n        raise ConnectionError(\"client closed early\")\n    data += chunk",
    }
    LengthNotChecked {
        code: "length-not-checked",
        area: "reading a request",
        severity: Error,
        title: "a declared length that cannot be right is believed",
        explanation: "The length comes from the client. A negative or huge length makes your server wait for bytes that will never come, or ask recv() for a negative size.",
        fix: "check the declared length before reading: answer ERROR to a length below 0 or above a limit (say 16 MiB)",
        wrong: "payload = recv_exactly(conn, length)",
        right: "if length < 0 or length > 16 * 1024 * 1024:\n    send_message(conn, {\"status\": \"ERROR\"})\n    return\npayload = recv_exactly(conn, length)",
    }
    ReplyNoHeader {
        code: "reply-no-header",
        area: "the reply",
        severity: Error,
        title: "the reply has no header",
        explanation: "Every srpc message starts with an 8-byte header: version, then the payload's length. Your server sends the JSON alone, so a client reads its first 8 characters as the header.",
        fix: "send struct.pack(\"ii\", 1, len(payload)) before the payload",
        wrong: "conn.sendall(json.dumps(reply).encode())",
        right: "payload = json.dumps(reply).encode()\nconn.sendall(struct.pack(\"ii\", 1, len(payload)) + payload)",
    }
    ReplyBigEndian {
        code: "reply-big-endian",
        area: "the reply",
        severity: Error,
        title: "the reply header is big-endian",
        explanation: "srpc headers are struct.pack(\"ii\", ...): native order, little-endian on every student machine. Your server packs them in network order (\">ii\" or \"!II\"), so the lab's client reads a length of millions.",
        fix: "pack the reply header with struct.pack(\"ii\", 1, length)",
        wrong: "header = struct.pack(\"!II\", 1, len(payload))",
        right: "header = struct.pack(\"ii\", 1, len(payload))",
    }
    ReplyVersion {
        code: "reply-version",
        area: "the reply",
        severity: Error,
        title: "the reply header's version is not 1",
        explanation: "The first four bytes of the header are the protocol version, which is 1. Your server writes something else there (often the length first).",
        fix: "pack the header as version, then length: struct.pack(\"ii\", 1, length)",
        wrong: "header = struct.pack(\"ii\", len(payload), 1)",
        right: "header = struct.pack(\"ii\", 1, len(payload))",
    }
    ReplyLengthWrong {
        code: "reply-length-wrong",
        area: "the reply",
        severity: Error,
        title: "the reply header declares the wrong length",
        explanation: "The header's length must be exactly the number of payload bytes that follow. A client reads exactly that many: too few cuts the JSON short, too many makes it wait for bytes that never come.",
        fix: "declare len(payload) of the bytes you send, with nothing added or removed",
        wrong: "conn.sendall(struct.pack(\"ii\", 1, len(payload) + 1) + payload)",
        right: "conn.sendall(struct.pack(\"ii\", 1, len(payload)) + payload)",
    }
    ReplyLengthCountsChars {
        code: "reply-length-counts-chars",
        area: "the reply",
        severity: Error,
        title: "the reply length counts characters, not bytes",
        explanation: "With json.dumps(..., ensure_ascii=False) the text keeps non-ASCII characters, which take 2 to 4 bytes each in UTF-8. len(text) counts characters, so the header declares too few bytes and the client cuts the reply short.",
        fix: "take the length of the encoded bytes: payload = text.encode(); declare len(payload) (or keep json.dumps's default ensure_ascii=True)",
        wrong: "text = json.dumps(reply, ensure_ascii=False)\nconn.sendall(struct.pack(\"ii\", 1, len(text)) + text.encode())",
        right: "payload = json.dumps(reply).encode()\nconn.sendall(struct.pack(\"ii\", 1, len(payload)) + payload)",
    }
    ReplyDoubleEncoded {
        code: "reply-double-encoded",
        area: "the reply",
        severity: Error,
        title: "the reply is JSON-encoded twice",
        explanation: "json.dumps was applied to text that was already JSON, so the payload is a JSON string holding the reply: the client's json.loads gives back a str, not a dict.",
        fix: "call json.dumps once, on the reply dict itself",
        wrong: "text = json.dumps(json.dumps(reply))",
        right: "text = json.dumps(reply)",
    }
    StatusSpelling {
        code: "status-spelling",
        area: "the reply",
        severity: Error,
        title: "the status is not spelled \"OK\" or \"ERROR\"",
        explanation: "Status values are compared exactly, and they are case-sensitive: \"ok\" or \"Ok\" is not \"OK\".",
        fix: "answer {\"status\": \"OK\", ...} or {\"status\": \"ERROR\"}, spelled exactly so",
        wrong: "return {\"status\": \"ok\", \"response\": result}",
        right: "return {\"status\": \"OK\", \"response\": result}",
    }
    ReplyPartialSend {
        code: "reply-partial-send",
        area: "the reply",
        severity: Error,
        title: "a large reply is not sent whole",
        explanation: "send() may write only part of what it is given and returns how much it wrote. A large reply sent with one send() arrives cut short.",
        fix: "use conn.sendall(...), which keeps writing until everything is sent",
        wrong: "conn.send(header + payload)",
        right: "conn.sendall(header + payload)",
    }
    UnknownFuncReply {
        code: "unknown-func-reply",
        area: "the reply",
        severity: Error,
        title: "an unknown func gets the wrong reply",
        explanation: "For any func other than GET or PUT, the lab's make_call answers status OK with the func echoed and \"ERROR - Function doesn't exist\" as the response.",
        fix: "answer {\"status\": \"OK\", \"response\": {\"func\": FUNC, \"response\": \"ERROR - Function doesn't exist\"}}",
        wrong: "return {\"status\": \"ERROR\"}",
        right: "return {\"status\": \"OK\", \"response\": {\"func\": func, \"response\": \"ERROR - Function doesn't exist\"}}",
    }
    BadRequestReply {
        code: "bad-request-reply",
        area: "the reply",
        severity: Warning,
        title: "a malformed request is not answered with ERROR",
        explanation: "The server survives the malformed request, but answers it with something other than {\"status\": \"ERROR\"}.",
        fix: "answer {\"status\": \"ERROR\"} to a request you cannot read or understand",
        wrong: "except ValueError:\n    send_message(conn, {\"status\": \"OK\"})",
        right: "except ValueError:\n    send_message(conn, {\"status\": \"ERROR\"})",
    }
    AnswersError {
        code: "answers-error",
        area: "the reply",
        severity: Error,
        title: "well-formed requests are answered ERROR",
        explanation: "A correct GET or PUT got {\"status\": \"ERROR\"}. Most often the handling raised an exception (a wrong key name, json.loads on something already decoded, a typo) and an except block turned it into ERROR, hiding the traceback.",
        fix: "print the exception in your except block (traceback.print_exc()) and run one PUT by hand: the traceback names the line that fails",
        wrong: "except Exception:\n    return {\"status\": \"ERROR\"}",
        right: "except Exception:\n    traceback.print_exc()\n    return {\"status\": \"ERROR\"}",
    }
    StoreNotKept {
        code: "store-not-kept",
        area: "the store",
        severity: Error,
        title: "stored values are gone on the next connection",
        explanation: "A GET on a new connection does not see the PUT made on an earlier one. The dictionary is created inside the code that handles one connection, so every connection starts with an empty store.",
        fix: "create the dictionary once, before the accept loop, and use that one for every connection",
        wrong: "while True:\n    conn, _ = listener.accept()\n    store = {}\n    handle(conn, store)",
        right: "store = {}\nwhile True:\n    conn, _ = listener.accept()\n    handle(conn, store)",
    }
    MissingIsError {
        code: "missing-is-error",
        area: "the store",
        severity: Error,
        title: "a GET of a missing name answers ERROR",
        explanation: "The lab's test comments this call \"Should be Error\", but the provided code that the autograder runs answers {\"obj\": NAME, \"val\": null}. (Pass --allow-missing-error if your course wants ERROR.)",
        fix: "answer a missing name with \"val\": None, as dictionary.get(name) gives",
        wrong: "if name not in store:\n    return {\"status\": \"ERROR\"}",
        right: "return {\"status\": \"OK\", \"response\": {\"func\": \"GET\", \"response\": {\"obj\": name, \"val\": store.get(name)}}}",
    }
    ValueStringified {
        code: "value-stringified",
        area: "the store",
        severity: Error,
        title: "values are stored as strings",
        explanation: "A value comes back as a string of what was stored: the server keeps str(val) or json.dumps(val) instead of the value json.loads gave it.",
        fix: "store params[\"val\"] itself; json.dumps the whole reply once when sending",
        wrong: "store[name] = str(params[\"val\"])",
        right: "store[name] = params[\"val\"]",
    }
    NumbersChanged {
        code: "numbers-changed",
        area: "the store",
        severity: Error,
        title: "numbers come back changed",
        explanation: "A stored number comes back as a different number: large integers were cut to 64 bits, or a float was rounded. Python's json keeps integers of any size and floats exactly.",
        fix: "keep the value json.loads gave you; do not convert numbers (int(), float(), round()) on the way in or out",
        wrong: "store[name] = float(params[\"val\"])",
        right: "store[name] = params[\"val\"]",
    }
    NumberTypeChanged {
        code: "number-type-changed",
        area: "the store",
        severity: Warning,
        title: "a number comes back with another type (111.0 for 111)",
        explanation: "The value is equal under Python's ==, so the lab's grader accepts it, but an integer came back as a float (or the other way round).",
        fix: "keep the value json.loads gave you, without converting its numbers",
        wrong: "store[name] = {k: float(v) for k, v in val.items()}",
        right: "store[name] = val",
    }
    ValueChanged {
        code: "value-changed",
        area: "the store",
        severity: Error,
        title: "a stored value comes back changed",
        explanation: "A GET returns a value that is not the one stored: characters, nesting or types were altered on the way in or out.",
        fix: "store params[\"val\"] exactly as json.loads gave it, and send it back through one json.dumps",
        wrong: "store[name] = params[\"val\"].strip()",
        right: "store[name] = params[\"val\"]",
    }
    PutMerges {
        code: "put-merges",
        area: "the store",
        severity: Error,
        title: "a PUT merges into the old value instead of replacing it",
        explanation: "A second PUT of an object under the same name must replace the first. Your server merges the two (dict.update), so keys of the old value survive.",
        fix: "assign the new value: store[name] = val",
        wrong: "store.setdefault(name, {}).update(val)",
        right: "store[name] = val",
    }
    ParallelAnswersWrong {
        code: "parallel-answers-wrong",
        area: "connections",
        severity: Error,
        title: "answers are lost or mixed up when clients come at once",
        explanation: "With several clients at once, some got no answer or another client's answer: state shared between connections (a buffer, the current request) is not per connection, or the store is changed without a lock.",
        fix: "keep each connection's data in local variables of its handler, and guard the shared store with a threading.Lock",
        wrong: "buffer = b\"\"  # shared by every thread\ndef handle(conn):\n    global buffer\n    buffer = conn.recv(8)",
        right: "def handle(conn):\n    header = recv_exactly(conn, 8)",
    }
    CrashOnShortHeader {
        code: "crash-on-short-header",
        area: "crashes",
        severity: Error,
        title: "the server crashes on a connection that sends less than a header",
        explanation: "A client that connects and leaves, or sends fewer than 8 bytes, makes recv() return b\"\" or a short header. Your server unpacks it anyway; struct.error is raised and nothing catches it, so the whole server stops.",
        fix: "when recv() returns b\"\" (or fewer than 8 header bytes in all), close that connection and go back to accept(); catch exceptions per connection",
        wrong: "header = conn.recv(8)\nversion, length = struct.unpack(\"ii\", header)",
        right: "header = recv_exactly(conn, 8)\nif len(header) < 8:\n    conn.close()\n    continue",
    }
    CrashOnBadRequest {
        code: "crash-on-bad-request",
        area: "crashes",
        severity: Error,
        title: "the server crashes on a malformed request",
        explanation: "Invalid JSON, a missing key or a value of the wrong type raises an exception (JSONDecodeError, KeyError, TypeError...) that nothing catches, so one bad client stops the server and everything it stored is lost.",
        fix: "wrap the handling of each connection in try/except Exception, answer {\"status\": \"ERROR\"} and keep serving",
        wrong: "request = json.loads(payload)\nfunc = request[\"func\"]",
        right: "try:\n    request = json.loads(payload)\n    reply = make_call(request)\nexcept Exception:\n    reply = {\"status\": \"ERROR\"}",
    }
    CrashOnUnknownFunc {
        code: "crash-on-unknown-func",
        area: "crashes",
        severity: Error,
        title: "the server crashes on an unknown func",
        explanation: "A request whose func is neither GET nor PUT raises inside your server, and nothing catches it.",
        fix: "answer any other func with \"ERROR - Function doesn't exist\" instead of raising, and catch exceptions per connection",
        wrong: "handlers = {\"GET\": get, \"PUT\": put}\nreturn handlers[func](params)",
        right: "if func not in handlers:\n    return {\"status\": \"OK\", \"response\": {\"func\": func, \"response\": \"ERROR - Function doesn't exist\"}}",
    }
    CrashBehindByteOrder {
        code: "crash-behind-byte-order",
        area: "crashes",
        severity: Error,
        title: "behind the byte order, the server fails on a request it reads",
        explanation: "Your server reads the header as big-endian, so no request as clients send it gets through. srpc-check sent one in the byte order your server reads, and handling it raised an exception (the traceback is shown). Once the byte order is fixed, every request meets this bug.",
        fix: "fix the byte order first; then read the traceback and fix the line it names (a common one: json.loads on what recv_message already decoded)",
        wrong: "request = json.loads(recv_message(conn))  # recv_message already returns a dict",
        right: "request = recv_message(conn)",
    }
    ClientHeaderSingleRecv {
        code: "client-header-single-recv",
        area: "the client",
        severity: Error,
        title: "the client reads the reply header with a single recv()",
        explanation: "recv(8) returns whatever has arrived, which may be fewer than 8 bytes: the server's reply can arrive in pieces (a slow network, a server that writes the header in two steps). Your client takes what one recv() returns as the whole header, so a header that arrives in two pieces is misread: struct.unpack fails, or recv_message gives up and returns None.",
        fix: "your client reads the reply header with one recv(); loop until all 8 bytes have arrived (recv_message serves the client too)",
        wrong: "header = conn.recv(8)\nversion, length = struct.unpack(\"ii\", header)",
        right: "header = b\"\"\nwhile len(header) < 8:\n    chunk = conn.recv(8 - len(header))\n    if not chunk:\n        return None  # the server closed the connection\n    header += chunk\nversion, length = struct.unpack(\"ii\", header)",
    }
    ClientPayloadSingleRecv {
        code: "client-payload-single-recv",
        area: "the client",
        severity: Error,
        title: "the client reads the reply payload with a single recv()",
        explanation: "recv(length) returns at most length bytes, and often fewer: a large reply, or one that arrives in pieces, is cut short, and json.loads then fails on half a payload.",
        fix: "your client reads the reply payload with one recv(length); loop until all `length` bytes have arrived (recv_message serves the client too)",
        wrong: "payload = conn.recv(length)\nreply = json.loads(payload.decode())",
        right: "payload = b\"\"\nwhile len(payload) < length:\n    chunk = conn.recv(length - len(payload))\n    if not chunk:\n        return None  # the server closed the connection\n    payload += chunk\nreply = json.loads(payload.decode())",
    }
    ClientMessageSingleRecv {
        code: "client-message-single-recv",
        area: "the client",
        severity: Error,
        title: "the client reads the whole reply with one recv(4096)",
        explanation: "One recv(4096) returns what has arrived so far, not one whole message: when the header and the payload arrive separately, or the reply is larger than 4096 bytes, your client sees only part of it.",
        fix: "your client reads the whole reply with one recv(); read the 8-byte header in a loop, then loop until all `length` payload bytes have arrived",
        wrong: "data = conn.recv(4096)\nreply = json.loads(data[8:].decode())",
        right: "header = recv_exactly(conn, 8)\nversion, length = struct.unpack(\"ii\", header)\nreply = json.loads(recv_exactly(conn, length).decode())",
    }
    ClientRequestMalformed {
        code: "client-request-malformed",
        area: "the client",
        severity: Error,
        title: "the client's request is not a well-formed srpc message",
        explanation: "A request is an 8-byte header (version 1 and the payload's length, two little-endian ints: struct.pack(\"ii\", 1, len(payload))) followed by exactly that many bytes of JSON: an object with \"func\" and \"params\". A server reads exactly what the header declares, so any other shape is misread.",
        fix: "send struct.pack(\"ii\", 1, len(payload)) and then exactly that payload, where payload = json.dumps({\"func\": ..., \"params\": {...}}).encode(); count bytes, not characters",
        wrong: "blob = json.dumps(call)\nconn.send(struct.pack(\"!ii\", 1, len(blob)) + blob.encode())",
        right: "blob = json.dumps(call).encode()\nconn.sendall(struct.pack(\"ii\", 1, len(blob)) + blob)",
    }
    ClientNonAscii {
        code: "client-non-ascii",
        area: "the client",
        severity: Error,
        title: "the client fails on a reply with non-ASCII text",
        explanation: "Values may hold any text. On the wire it is escaped (\\u00eb for ë), so the bytes are ASCII, but json.loads gives back the real characters, and code that then encodes or prints them as ASCII fails.",
        fix: "your client fails on non-ASCII text in a reply; decode the payload with .decode() (UTF-8) and keep what json.loads returns as str, without encoding it to ASCII",
        wrong: "print((\"Ret:\" + str(reply)).encode(\"ascii\"))",
        right: "print(\"Ret:\" + str(reply))",
    }
    ClientGivesUpEarly {
        code: "client-gives-up-early",
        area: "the client",
        severity: Error,
        title: "the client gives up on a reply that takes 1.5 s",
        explanation: "A busy server may take a while to answer. Your client stopped waiting (a short socket timeout, or a loop that stops when nothing has arrived yet) before a reply that came after 1.5 s.",
        fix: "your client gives up on a slow reply; wait for it in a blocking recv() loop, with a timeout of several seconds at least, if any",
        wrong: "client_socket.settimeout(0.5)",
        right: "client_socket.settimeout(10)",
    }
    ClientHangsOnClose {
        code: "client-hangs-on-close",
        area: "the client",
        severity: Error,
        title: "the client hangs when the server closes without replying",
        explanation: "When the server closes the connection, recv() returns b\"\" at once, every time it is called. A loop that waits for more bytes without checking for b\"\" never ends: your client spins (or waits) forever instead of reporting that no reply came.",
        fix: "your client loops forever when the server closes early; stop reading when recv() returns b\"\" (and return None, or raise an error)",
        wrong: "while len(header) < 8:\n    header += conn.recv(8 - len(header))",
        right: "while len(header) < 8:\n    chunk = conn.recv(8 - len(header))\n    if not chunk:\n        return None  # the server closed the connection\n    header += chunk",
    }
    ClientReplyReadBigEndian {
        code: "client-reply-read-big-endian",
        area: "the client",
        severity: Error,
        title: "the client reads the reply header as big-endian",
        explanation: "Servers pack the reply header with struct.pack(\"ii\", ...), little-endian on every student machine. Your client unpacks it with \"!II\" or \">ii\", so a 60-byte length reads as 1006632960: the client reads the whole reply and then waits for a gigabyte that never comes.",
        fix: "your client unpacks the reply header as big-endian; use struct.unpack(\"ii\", header), as servers pack it",
        wrong: "version, length = struct.unpack(\"!II\", header)",
        right: "version, length = struct.unpack(\"ii\", header)",
    }
    ClientWrongOutput {
        code: "client-wrong-output",
        area: "the client",
        severity: Error,
        title: "the client prints something other than the reply it received",
        explanation: "The lab's test program prints \"Ret:\" and the reply as a Python dict, the value recv_message returned. What your client printed differs from the reply srpc-check sent, although it read the reply whole.",
        fix: "your client prints a different value from the reply it received; return json.loads(payload) from recv_message unchanged",
        wrong: "return json.loads(payload)[\"response\"]",
        right: "return json.loads(payload)",
    }
    ClientNeverCloses {
        code: "client-never-closes",
        area: "the client",
        severity: Warning,
        title: "the client leaves its connections open",
        explanation: "Your client opened its next connection while the one before was still open: it never closes its sockets, so each call keeps a connection (and a file descriptor, and the server's resources) until the program exits.",
        fix: "your client never closes its connections; call client_socket.close() once the reply is read (or use `with socket.socket() as s:`)",
        wrong: "json_dict = recv_message(client_socket)\nreturn json_dict",
        right: "json_dict = recv_message(client_socket)\nclient_socket.close()\nreturn json_dict",
    }
}
