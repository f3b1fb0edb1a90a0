//! The app protocol's finding codes (lab 4): the catalogue entries, and where in a student's
//! code each one lives.
//!
//! Codes that mean the same in every protocol (`no-close`, `blocks-on-idle-client`,
//! `stops-answering`, ...) are the shared catalogue's, in [`crate::diagnose::code`].

use crate::codes::Code;
use crate::diagnose::source::{Fact, Source};
use crate::runner::Outcome;

crate::catalogue! {
    AppCode;
    DoubleNegateMissing {
        code: "double-negate-missing",
        area: "the binary commands",
        severity: Error,
        title: "double and negate get the plain tutorial's echo",
        explanation: "The lab 4 assignment adds two binary commands: a 10-byte request packed with struct.pack(\">6si\", b\"double\", n) (or b\"negate\") is answered with struct.pack(\">6si\", b\"result\", 2*n) (or -n). Your server answers them as the plain tutorial answers any binary request, `First 10 bytes of request: double...`: the commands were never added, or the result is computed and the echo sent anyway.",
        fix: "in the function that builds the binary response, check for b\"double\" and b\"negate\" and reply with struct.pack(\">6si\", b\"result\", value) instead of the echo",
        wrong: "def _create_response_binary_content(self):\n    content = b\"First 10 bytes of request: \" + self.request[:10]\n    return {\"content_bytes\": content, ...}",
        right: "def _create_response_binary_content(self):\n    data = self.request\n    if len(data) == 10 and data[:6] in (b\"double\", b\"negate\"):\n        command, n = struct.unpack(\">6si\", data)\n        value = 2 * n if command == b\"double\" else -n\n        content = struct.pack(\">6si\", b\"result\", value)\n    else:\n        content = b\"First 10 bytes of request: \" + data[:10]\n    return {\"content_bytes\": content, ...}",
    }
    ResultWrong {
        code: "result-wrong",
        area: "the binary commands",
        severity: Error,
        title: "the result is not b\"result\" and the right 4-byte value",
        explanation: "The reply to double or negate is exactly 10 bytes: b\"result\" and the value as a signed 32-bit integer in network order (struct.pack(\">6si\", b\"result\", value)). Yours has something else: a prefix such as `First 10 bytes of request: `, a wrong value, or a float (\"f\") where the lab packs an integer (\"i\").",
        fix: "send struct.pack(\">6si\", b\"result\", value) and nothing else as the content, with value an int (2 * n or -n)",
        wrong: "content = b\"First 10 bytes of request: \" + struct.pack(\">6si\", b\"result\", value)",
        right: "content = struct.pack(\">6si\", b\"result\", value)",
    }
    ResultByteOrder {
        code: "result-byte-order",
        area: "the binary commands",
        severity: Error,
        title: "the result is packed in the machine's byte order, not network order",
        explanation: "The lab packs the integer in network (big-endian) order, \">i\". Yours packs it little-endian (\"<i\", or \"i\", which is the machine's order on x86-64 and Apple silicon), so the lab's client unpacks another number: 15308642 arrives as -1650922496.",
        fix: "pack the result with \">6si\" (the \">\" is network order) and unpack the request with \">i\" or \">6si\"",
        wrong: "content = struct.pack(\"6si\", b\"result\", value)",
        right: "content = struct.pack(\">6si\", b\"result\", value)",
    }
    ResultOutOfRange {
        code: "result-out-of-range",
        area: "the binary commands",
        severity: Warning,
        title: "a result outside 32 bits is answered with a wrapped value",
        explanation: "2n or -n does not always fit a signed 32-bit integer (double 2000000000, negate -2147483648). The lab does not say what to do then; its own code raises struct.error and closes without a reply. Yours sends a wrapped value, a number the client takes for the answer although it is not.",
        fix: "check the range before packing (-2**31 <= value < 2**31) and refuse rather than wrap",
        wrong: "value = (2 * n) & 0xffffffff",
        right: "value = 2 * n\nif not -2**31 <= value < 2**31:\n    raise ValueError(\"result out of range\")",
    }
    BinaryEchoWrong {
        code: "binary-echo-wrong",
        area: "the binary commands",
        severity: Error,
        title: "a plain binary request does not get `First 10 bytes of request: `",
        explanation: "Any content type other than text/json is binary, and a binary request that is not double or negate is answered b\"First 10 bytes of request: \" + request[:10], content-type binary/custom-server-binary-type. Yours answers something else.",
        fix: "answer every other binary request with b\"First 10 bytes of request: \" + self.request[:10]",
        wrong: "content = b\"First 10 bytes of request: \" + self.request",
        right: "content = b\"First 10 bytes of request: \" + self.request[:10]",
    }
    SearchWrong {
        code: "search-wrong",
        area: "search",
        severity: Error,
        title: "search does not answer from the tutorial's table",
        explanation: "A text/json request {\"action\": \"search\", \"value\": Q} is answered {\"result\": ANSWER}, where ANSWER is the table's entry for Q (morpheus, ring and the dog emoji, code point for code point) or `No match for \"Q\".`, and any other action gets `Error: invalid action \"A\".`. Yours answers otherwise: the table was changed or the answer is built differently.",
        fix: "keep the tutorial's request_search table and answer request_search.get(query) or f'No match for \"{query}\".'",
        wrong: "request_search = {\"morpheus\": \"Take the red pill.\"}",
        right: "request_search = {\n    \"morpheus\": \"Follow the white rabbit. \\U0001f430\",\n    \"ring\": \"In the caves beneath the Misty Mountains. \\U0001f48d\",\n    \"\\U0001f436\": \"\\U0001f43e Playing ball! \\U0001f3d0\",\n}",
    }
    ClosesWithoutReply {
        code: "closes-without-reply",
        area: "answering",
        severity: Error,
        title: "every request of a kind is closed with no reply",
        explanation: "The tutorial's main loop catches any exception a connection raises, prints it, and closes that connection: the server stays up, but the client gets no reply at all. Every request of this kind raises in your server, for the reason its traceback names.",
        fix: "read the traceback your server printed (shown below): the line it names raises on every such request; make that code handle the request",
        wrong: "def _create_response_binary_content(self):\n    pass  # TODO",
        right: "def _create_response_binary_content(self):\n    return {\"content_bytes\": b\"First 10 bytes of request: \" + self.request[:10],\n            \"content_type\": \"binary/custom-server-binary-type\",\n            \"content_encoding\": \"binary\"}",
    }
    ProtoheaderPartialRead {
        code: "protoheader-partial-read",
        area: "reading a request",
        severity: Error,
        title: "the 2-byte length is read before both bytes have arrived",
        explanation: "recv(4096) returns whatever has arrived, which may be one byte of the 2-byte length. Your server unpacks the length before it has both bytes, so a request whose first piece is one byte long is misread.",
        fix: "unpack the length only once len(self._recv_buffer) >= 2, and keep what arrived in the buffer until then",
        wrong: "if self._recv_buffer:\n    self._jsonheader_len = struct.unpack(\">H\", self._recv_buffer[:2])[0]",
        right: "if len(self._recv_buffer) >= 2:\n    self._jsonheader_len = struct.unpack(\">H\", self._recv_buffer[:2])[0]\n    self._recv_buffer = self._recv_buffer[2:]",
    }
    JsonheaderPartialRead {
        code: "jsonheader-partial-read",
        area: "reading a request",
        severity: Error,
        title: "the JSON header is decoded before all of it has arrived",
        explanation: "The JSON header is as long as the 2-byte length says, and recv(4096) may return part of it. Your server decodes what has arrived so far, so a header that arrives in two pieces fails to decode.",
        fix: "decode the JSON header only once len(self._recv_buffer) >= self._jsonheader_len",
        wrong: "self.jsonheader = self._json_decode(self._recv_buffer[:hdrlen], \"utf-8\")",
        right: "if len(self._recv_buffer) >= hdrlen:\n    self.jsonheader = self._json_decode(self._recv_buffer[:hdrlen], \"utf-8\")\n    self._recv_buffer = self._recv_buffer[hdrlen:]",
    }
    ContentPartialRead {
        code: "content-partial-read",
        area: "reading a request",
        severity: Error,
        title: "the content is used before all of it has arrived",
        explanation: "The content is content-length bytes long, and recv(4096) may return part of it. Your server acts on what has arrived so far, so a request whose content arrives in pieces is answered wrongly or not at all.",
        fix: "wait until len(self._recv_buffer) >= content_len before you take the content",
        wrong: "data = self._recv_buffer",
        right: "if not len(self._recv_buffer) >= content_len:\n    return\ndata = self._recv_buffer[:content_len]",
    }
    ReplyHeaderWrong {
        code: "reply-header-wrong",
        area: "the reply",
        severity: Error,
        title: "the reply's JSON header is not the tutorial's",
        explanation: "Every reply starts with a JSON header of four keys spelled exactly byteorder, content-type, content-encoding and content-length, where content-length counts the content's bytes and content-type is text/json for JSON (binary/custom-server-binary-type for binary). The lab's client looks each key up by that spelling: a missing or respelled key makes it raise, and a wrong content-type makes it treat JSON as binary.",
        fix: "build the reply header with the four keys as the tutorial spells them, and content-length=len(content_bytes)",
        wrong: "jsonheader = {\"Content-length\": len(content_bytes), \"content-type\": \"application/json\", ...}",
        right: "jsonheader = {\n    \"byteorder\": sys.byteorder,\n    \"content-type\": content_type,\n    \"content-encoding\": content_encoding,\n    \"content-length\": len(content_bytes),\n}",
    }
    EchoesRequest {
        code: "echoes-request",
        area: "the reply",
        severity: Error,
        title: "the server sends the request back as it came",
        explanation: "Your server answers each request with the request itself, framing and all: an echo server, not the lab's. A reply carries the server's own JSON header and its answer.",
        fix: "build the reply with _create_message from the response, not from the bytes received",
        wrong: "self._send_buffer = self._recv_buffer",
        right: "response = self._create_response_json_content()\nself._send_buffer += self._create_message(**response)",
    }
    ReplyNotAMessage {
        code: "reply-not-a-message",
        area: "the reply",
        severity: Error,
        title: "the reply is not a lab 4 message",
        explanation: "A reply is a 2-byte big-endian length, a JSON header that long, and content-length bytes of content. What your server sent cannot be read that way: the length, the header or the content is missing or cut short.",
        fix: "send message_hdr + jsonheader_bytes + content_bytes, with message_hdr = struct.pack(\">H\", len(jsonheader_bytes)), and close only once all of it is sent",
        wrong: "self.sock.send(content_bytes)",
        right: "message_hdr = struct.pack(\">H\", len(jsonheader_bytes))\nself._send_buffer += message_hdr + jsonheader_bytes + content_bytes",
    }
    ClientRequestWrong {
        code: "client-request-wrong",
        area: "the client",
        severity: Error,
        title: "the client's request is not the one the tutorial's client sends",
        explanation: "The lab's server reads a 2-byte big-endian length, a JSON header with byteorder, content-type, content-encoding and content-length (spelled so: the server looks each one up), then exactly content-length bytes of content; double and negate are struct.pack(\">6si\", command, n), the integer in network order. Your client's request differs, so the lab's server misreads it, rejects it or answers another question.",
        fix: "build the request as the tutorial's client does: the header with its four keys, content-length in bytes, and double/negate packed with \">6si\"",
        wrong: "content = struct.pack(\"6si\", action.encode(), int(value))\njsonheader = {\"Content-length\": len(content), ...}",
        right: "content = struct.pack(\">6si\", action.encode(), int(value))\njsonheader = {\n    \"byteorder\": sys.byteorder,\n    \"content-type\": content_type,\n    \"content-encoding\": content_encoding,\n    \"content-length\": len(content),\n}",
    }
    ClientResultWrong {
        code: "client-result-wrong",
        area: "the client",
        severity: Error,
        title: "the client prints something other than the reply it got",
        explanation: "The lab's client prints `got result: ` and the text of a JSON reply, or `got response: ` and the repr of a binary one, and for the assignment's result also `result: ` and the integer unpacked with \">6si\". What your client printed differs from the reply srpc-check sent, although it read the reply whole: an integer unpacked in the wrong byte order, the result line missing, or a result printed for a reply that never came.",
        fix: "print what the reply carries: for b\"result\" + 4 bytes, struct.unpack(\">6si\", content)[1] after `result: `",
        wrong: "print(\"result: \", struct.unpack(\"6si\", content)[1])",
        right: "if content[:6] == b\"result\":\n    print(\"result: \", struct.unpack(\">6si\", content)[1])",
    }
    ClientPartialRead {
        code: "client-partial-read",
        area: "the client",
        severity: Error,
        title: "the client misreads a reply that arrives in pieces",
        explanation: "recv() returns what has arrived, which may be one byte of the 2-byte length, half of the JSON header or part of the content. The tutorial's client buffers what arrives and processes each part only once all of it is in the buffer. Yours takes what one recv() returned as a whole part, so a reply cut in pieces raises, hangs or prints half of it.",
        fix: "append what recv() returns to a buffer, and process the 2-byte length, the JSON header and the content each only when the buffer holds all of it",
        wrong: "data = self.sock.recv(4096)\nhdrlen = struct.unpack(\">H\", data[:2])[0]\nself.jsonheader = json.loads(data[2:2 + hdrlen])",
        right: "self._recv_buffer += self.sock.recv(4096)\nif self._jsonheader_len is None and len(self._recv_buffer) >= 2:\n    self._jsonheader_len = struct.unpack(\">H\", self._recv_buffer[:2])[0]\n    self._recv_buffer = self._recv_buffer[2:]",
    }
}

/// lab 4's rules over the engine's causes: a client that misprints a reply in pieces exactly as
/// it misprints the whole reply has one bug, the whole case's.
pub fn refine(
    report: &crate::runner::RunReport,
    codes: &mut [Option<Code>],
    _source: Option<&Source>,
) {
    let outcomes = &report.outcomes;
    let Some(whole) = outcomes.iter().position(|o| o.id == "client/whole") else {
        return;
    };
    let (Some(whole_code), Some(printed)) = (codes[whole], outcomes[whole].actual.as_deref())
    else {
        return;
    };
    for (o, c) in outcomes.iter().zip(codes.iter_mut()) {
        if *c == Some(Code::App(AppCode::ClientPartialRead)) && o.actual.as_deref() == Some(printed)
        {
            *c = Some(whole_code);
        }
    }
}

/// The line a finding lives on in a lab 4 server, from what the scan found and the tutorial's
/// own spellings (`None`: the engine falls back to the innermost own frame of a traceback the
/// server printed).
pub fn locate(code: Code, cases: &[&Outcome], source: &Source) -> Option<(String, u32)> {
    let first = |pick: &dyn Fn(&Fact) -> bool| {
        source
            .facts
            .iter()
            .find(|f| pick(f))
            .map(|f| (f.file.clone(), f.line))
    };
    let text = |needles: &[&str]| needles.iter().find_map(|n| source.find_text(n));
    let said = |words: &str| cases.iter().any(|o| o.message.contains(words));
    let packs = |f: &Fact, call: &str, pred: &dyn Fn(&str) -> bool| {
        f.kind == "struct"
            && f.call.as_deref() == Some(call)
            && f.format.as_deref().is_some_and(pred)
    };
    let result_format = |fmt: &str| fmt.contains('s') && (fmt.ends_with('i') || fmt.ends_with('f'));
    let app = match code {
        Code::App(c) => c,
        Code::NoClose => {
            return text(&[
                "_set_selector_events_mask(\"rw\")",
                "_set_selector_events_mask('rw')",
            ])
        }
        _ => return None,
    };
    match app {
        AppCode::ResultByteOrder => first(&|f| {
            packs(f, "pack", &|fmt| {
                result_format(fmt) && !fmt.starts_with(['>', '!'])
            })
        }),
        AppCode::ResultWrong if said("as a float") => {
            first(&|f| packs(f, "pack", &|fmt| fmt.ends_with('f')))
                .or_else(|| first(&|f| packs(f, "pack", &result_format)))
        }
        AppCode::ResultWrong if said("bytes before it") => text(&[
            "First 10 bytes of request: \" + struct.pack",
            "First 10 bytes of request: \" +",
        ])
        .or_else(|| first(&|f| packs(f, "pack", &result_format))),
        AppCode::ResultWrong => first(&|f| packs(f, "pack", &result_format)),
        AppCode::ResultOutOfRange => text(&["% 2**32", "& 0xffffffff", "& 0xFFFFFFFF"])
            .or_else(|| first(&|f| packs(f, "pack", &result_format))),
        AppCode::DoubleNegateMissing | AppCode::BinaryEchoWrong => {
            text(&["First 10 bytes of request"])
        }
        AppCode::ProtoheaderPartialRead => text(&["hdrlen = 1"])
            .or_else(|| first(&|f| packs(f, "unpack", &|fmt| fmt.contains('H')))),
        AppCode::JsonheaderPartialRead => {
            text(&["hdrlen = 0", "self.jsonheader = self._json_decode("])
        }
        AppCode::ContentPartialRead => text(&["content_len = min(", "data = self._recv_buffer["]),
        AppCode::ReplyHeaderWrong => header_spelling(cases)
            .and_then(|spelled| source.find_text(&spelled))
            .or_else(|| text(&["del jsonheader[", ".pop(\"byteorder\"", "jsonheader = {"])),
        AppCode::EchoesRequest => text(&["self._send_buffer = self._recv_buffer"]),
        AppCode::SearchWrong => text(&["request_search = {", "table = {"]),
        AppCode::ClosesWithoutReply | AppCode::ReplyNotAMessage => None,
        AppCode::ClientRequestWrong if said("little-endian") => first(&|f| {
            packs(f, "pack", &|fmt| {
                fmt.contains("6s") && !fmt.starts_with(['>', '!'])
            })
        })
        .or_else(|| {
            text(&[
                "struct.pack(\"<6si\"",
                "struct.pack('<6si'",
                "struct.pack(\"6si\"",
                "struct.pack('6si'",
            ])
        }),
        AppCode::ClientRequestWrong => header_spelling_in_request(cases)
            .and_then(|spelled| source.find_text(&spelled))
            .or_else(|| text(&["jsonheader = {"])),
        AppCode::ClientResultWrong if said("never printed") => text(&["got response: "]),
        AppCode::ClientResultWrong => first(&|f| {
            packs(f, "unpack", &|fmt| {
                fmt.contains("6s") && !fmt.starts_with(['>', '!'])
            })
        })
        .or_else(|| {
            text(&[
                "struct.unpack(\"<6si\"",
                "struct.unpack('<6si'",
                "struct.unpack(\"6si\"",
                "struct.unpack('6si'",
                "got response: ",
            ])
        }),
        AppCode::ClientPartialRead => None,
    }
}

/// The quoted key of a client's request header that the tutorial does not spell so.
fn header_spelling_in_request(cases: &[&Outcome]) -> Option<String> {
    use super::codec::KEYS;
    cases.iter().find_map(|o| {
        let text = &o.message[o.message.find('{')?..];
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::Deserializer::from_str(text)
                .into_iter()
                .next()?
                .ok()?;
        header
            .keys()
            .find(|k| !KEYS.contains(&k.as_str()))
            .map(|k| format!("\"{k}\""))
    })
}

/// The quoted spelling in a wrong reply header that the tutorial's has not: a key the tutorial
/// does not spell so, or a content type it does not use.
fn header_spelling(cases: &[&Outcome]) -> Option<String> {
    use super::codec::KEYS;
    cases.iter().find_map(|o| {
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(o.actual.as_deref()?).ok()?;
        if let Some(key) = header.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Some(format!("\"{key}\""));
        }
        let ct = header.get("content-type")?.as_str()?;
        (!ct.starts_with("text/json") && !ct.starts_with("binary/")).then(|| format!("\"{ct}\""))
    })
}
