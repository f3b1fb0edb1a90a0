//! The catalogue of finding codes: one stable code per kind of bug, with its title, the
//! explanation in a student's words, the fix, and a minimal wrong and right example.
//!
//! Codes are a public interface, like rustc's error codes or ruff's rule codes: reports,
//! rubrics and course tooling name them, so a code is never renamed or reused for another bug.
//! This file depends on nothing else in the crate, so the cases can name the cause they see
//! (`Verdict::finding`) without depending on the diagnosis built on top of them.

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A bug: cases fail because of it.
    Error,
    /// Accepted by the lab's grader, but not what the protocol says (cases warn).
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Everything the catalogue says about one code.
pub struct Info {
    pub code: &'static str,
    pub area: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// What goes wrong and why, in a student's words.
    pub explanation: &'static str,
    pub fix: &'static str,
    /// Minimal Python that has the bug, and the same code mended.
    pub wrong: &'static str,
    pub right: &'static str,
}

/// Declares a catalogue of codes: an enum named `$name` with one variant per entry, its
/// `LISTED` codes in catalogue order and each one's [`Info`]. The shared catalogue (below) adds
/// one variant per protocol that brings codes of its own (`extra`), each wrapping that
/// protocol's enum, so a protocol's codes live in its own folder.
#[macro_export]
macro_rules! catalogue {
    ($name:ident $(extra { $($extra:ident($ty:ty)),* })?; $($variant:ident {
        code: $code:literal,
        area: $area:literal,
        severity: $severity:ident,
        title: $title:literal,
        explanation: $explanation:literal,
        fix: $fix:literal,
        wrong: $wrong:literal,
        right: $right:literal $(,)?
    })*) => {
        /// A kind of bug srpc-check can diagnose.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant,)* $($($extra($ty)),*)? }

        impl $name {
            /// This catalogue's own codes, in catalogue order.
            pub const LISTED: &'static [$name] = &[$($name::$variant),*];

            pub fn info(self) -> &'static $crate::diagnose::Info {
                use $crate::diagnose::{Info, Severity};
                match self {
                    $($name::$variant => &Info {
                        code: $code,
                        area: $area,
                        severity: Severity::$severity,
                        title: $title,
                        explanation: $explanation,
                        fix: $fix,
                        wrong: $wrong,
                        right: $right,
                    },)*
                    $($($name::$extra(c) => c.info(),)*)?
                }
            }
        }
    };
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.info().code
    }

    pub fn severity(self) -> Severity {
        self.info().severity
    }

    /// A finding about the student's client (`srpc-check client`), not their server.
    pub fn is_client(self) -> bool {
        self.info().area == "the client"
    }

    /// The code spelled `text`, if there is one.
    pub fn parse(text: &str) -> Option<Code> {
        Code::all().find(|c| c.as_str() == text)
    }

    /// The codes that mean the same in every protocol.
    pub const SHARED: &'static [Code] = &[
        Code::NeverListens,
        Code::CrashAtStart,
        Code::StopsAnswering,
        Code::CrashWhenClientLeaves,
        Code::BlocksOnIdleClient,
        Code::DelayedByIdleClient,
        Code::NoClose,
        Code::ExitsAfterOne,
        Code::TooSlow,
        Code::MemoryLimit,
        Code::Crash,
        Code::WrongProtocol,
        Code::Unexplained,
    ];

    /// Every code: the shared and srpc catalogue, then each protocol's own.
    pub fn all() -> impl Iterator<Item = Code> {
        Code::LISTED.iter().copied().chain(
            crate::protocol::app::findings::AppCode::LISTED
                .iter()
                .map(|&c| Code::App(c)),
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

catalogue! {
    Code extra { App(crate::protocol::app::findings::AppCode) };
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
    NoClose {
        code: "no-close",
        area: "connections",
        severity: Error,
        title: "the connection is not closed after the reply",
        explanation: "One request per connection (srpc and lab 4 alike): after the reply the server closes the connection. Yours leaves it open, so a client that reads until the end of the stream waits forever.",
        fix: "call conn.close() once the reply is sent (a `with conn:` block does it for you)",
        wrong: "send_message(conn, reply)",
        right: "send_message(conn, reply)\nconn.close()",
    }
    ExitsAfterOne {
        code: "exits-after-one",
        area: "connections",
        severity: Error,
        title: "the server exits after serving a connection",
        explanation: "The server stops by itself, without an error, after one client: accept() is called only once, or the loop ends after the first client.",
        fix: "keep accepting in a loop: while True: conn, addr = listener.accept(); handle(conn)",
        wrong: "conn, addr = listener.accept()\nhandle(conn)",
        right: "while True:\n    conn, addr = listener.accept()\n    handle(conn)",
    }
    BlocksOnIdleClient {
        code: "blocks-on-idle-client",
        area: "connections",
        severity: Error,
        title: "one idle client blocks every other client",
        explanation: "Your server handles one connection at a time and waits on it with no timeout. A client that connects and sends nothing (or half a header) stops everyone else from being served.",
        fix: "serve each connection in its own thread (threading.Thread(target=handle, args=(conn,)).start()), or at least give each connection a timeout with conn.settimeout(...)",
        wrong: "while True:\n    conn, _ = listener.accept()\n    handle(conn)",
        right: "while True:\n    conn, _ = listener.accept()\n    threading.Thread(target=handle, args=(conn,), daemon=True).start()",
    }
    DelayedByIdleClient {
        code: "delayed-by-idle-client",
        area: "connections",
        severity: Warning,
        title: "an idle client delays every other client until the server's own timeout",
        explanation: "Your server handles one connection at a time, with a socket timeout. A client that connects and sends nothing (or half a header) holds everyone else back until that timeout ends; only then is the next client served. Within srpc-check's --timeout that passes, but every client pays the delay.",
        fix: "serve each connection in its own thread (threading.Thread(target=handle, args=(conn,)).start()) or with selectors, so an idle client delays nobody",
        wrong: "while True:\n    conn, _ = listener.accept()\n    conn.settimeout(2)\n    handle(conn)",
        right: "while True:\n    conn, _ = listener.accept()\n    conn.settimeout(2)\n    threading.Thread(target=handle, args=(conn,), daemon=True).start()",
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
    StopsAnswering {
        code: "stops-answering",
        area: "connections",
        severity: Error,
        title: "the server stops answering",
        explanation: "After this input the server still accepts connections but answers nothing: it is stuck, waiting for something that will not come.",
        fix: "find where the server waits (a recv() with no timeout, a lock never released) and make every wait end: read only what the header declares, and give connections a timeout",
        wrong: "data = conn.recv(1 << 30)  # waits for a gigabyte",
        right: "data = recv_exactly(conn, length)",
    }
    TooSlow {
        code: "too-slow",
        area: "connections",
        severity: Error,
        title: "the server answers too slowly",
        explanation: "Each request took a large part of the timeout, so the case could not finish in its time budget.",
        fix: "answer as soon as the request is read: no sleep(), no polling loops, no per-request start-up work",
        wrong: "time.sleep(1)\nsend_message(conn, reply)",
        right: "send_message(conn, reply)",
    }
    MemoryLimit {
        code: "memory-limit",
        area: "connections",
        severity: Error,
        title: "the server used more memory than the grader allows",
        explanation: "The grader limits the memory of a whole submission: every process it starts, together, and the files it writes to its folder. Yours went over the limit, so the kernel stopped it. Forking a child per client that never exits, keeping every request, or reading a huge declared length into memory all do this.",
        fix: "keep memory bounded: let each client's thread or child finish, do not keep requests after answering them, and check the declared length before reading",
        wrong: "children.append(os.fork())  # never waited for",
        right: "threading.Thread(target=handle, args=(conn,), daemon=True).start()",
    }
    NeverListens {
        code: "never-listens",
        area: "connections",
        severity: Error,
        title: "the server never listens",
        explanation: "The server kept running but never listened on a port within the start-up limit: it is stuck before listen(), or waits for input.",
        fix: "bind and listen at start-up (listener.bind(...); listener.listen()) before anything slow, and never read from the keyboard",
        wrong: "name = input(\"port? \")\nlistener.bind((\"\", int(name)))",
        right: "listener.bind((socket.gethostname(), 4444))\nlistener.listen()",
    }
    CrashAtStart {
        code: "crash-at-start",
        area: "connections",
        severity: Error,
        title: "the server exits before it listens",
        explanation: "The server stopped before it listened: a SyntaxError, an ImportError, \"Address already in use\", or another exception at start-up. No case could run.",
        fix: "run the server yourself and read its traceback: fix the line it names",
        wrong: "listener.bind((socket.gethostname(), 4444)\n# SyntaxError: '(' was never closed",
        right: "listener.bind((socket.gethostname(), 4444))",
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
    CrashWhenClientLeaves {
        code: "crash-when-client-leaves",
        area: "crashes",
        severity: Error,
        title: "the server crashes when a client leaves early",
        explanation: "Sending to a client that has already gone raises BrokenPipeError or ConnectionResetError. Your server does not catch it (often it is raised inside an except block, while sending ERROR), so any client that leaves early stops the server. srpc-check's client leaves before your server gets to it and resets the connection, so your first send fails every time; with a client that only closes, it is the second send that fails, when the timing is against you.",
        fix: "catch OSError around every send, the ERROR reply included, and go on to the next client",
        wrong: "except Exception:\n    send_message(conn, {\"status\": \"ERROR\"})",
        right: "except Exception:\n    try:\n        send_message(conn, {\"status\": \"ERROR\"})\n    except OSError:\n        pass",
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
    Crash {
        code: "crash",
        area: "crashes",
        severity: Error,
        title: "the server crashes",
        explanation: "The server exited with an exception while it handled a request, so every client after it found nothing listening.",
        fix: "read the traceback and fix the line it names; catch exceptions per connection so that one request cannot stop the server",
        wrong: "handle(conn)",
        right: "try:\n    handle(conn)\nexcept Exception as e:\n    print(\"error:\", e)\nfinally:\n    conn.close()",
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
    ClientHangs {
        code: "client-hangs",
        area: "the client",
        severity: Error,
        title: "the client never finishes",
        explanation: "Your client kept running after its last reply had been delivered whole, without connecting again or exiting, until srpc-check stopped it. It may wait for bytes that never come (more than the header declared), or loop forever.",
        fix: "your client does not finish; read exactly the header's length of payload, close the socket, and return",
        wrong: "while True:\n    chunk = conn.recv(4096)\n    data += chunk",
        right: "payload = recv_exactly(conn, length)\nconn.close()",
    }
    ClientCrash {
        code: "client-crash",
        area: "the client",
        severity: Error,
        title: "the client crashes",
        explanation: "Your client ended with an exception (its traceback is shown) on a reply that a correct client handles.",
        fix: "read the traceback: the last line of your own code in it is where the client fails",
        wrong: "",
        right: "",
    }
    ClientNeverConnects {
        code: "client-never-connects",
        area: "the client",
        severity: Error,
        title: "the client never connects",
        explanation: "srpc-check listened where the lab's client connects ((socket.gethostname(), 4444)), but your program ended, or kept running, without ever connecting.",
        fix: "your client never connected; connect to (socket.gethostname(), 4444) as the lab's client_do_single_call does, and check the command runs the CLIENT mode",
        wrong: "client_socket.connect((\"localhost\", 5555))",
        right: "client_socket.connect((socket.gethostname(), 4444))",
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
    WrongProtocol {
        code: "wrong-protocol",
        area: "other",
        severity: Error,
        title: "the server speaks another lab's protocol",
        explanation: "The server answered no well-formed request of the protocol it was checked in, and answered a request of another lab's protocol as that protocol defines. It was checked in the wrong one: each case failed only for that reason, so no other finding is named.",
        fix: "run srpc-check again with the --protocol its cases' hint names (for example --protocol app for lab 4)",
        wrong: "srpc-check --exec 'python3 app-server.py 127.0.0.1 65432'",
        right: "srpc-check --protocol app --exec 'python3 app-server.py 127.0.0.1 65432'",
    }
    Unexplained {
        code: "unexplained",
        area: "other",
        severity: Error,
        title: "a failure srpc-check cannot explain",
        explanation: "The case failed in a way none of the diagnoses recognises. Its own message says what was expected and what came back.",
        fix: "read the case's problem, expected and actual, and run its reproducer",
        wrong: "",
        right: "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::all() {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{s}"
            );
            assert_eq!(Code::parse(s), Some(c));
            let info = c.info();
            assert!(!info.title.is_empty() && !info.fix.is_empty());
        }
        assert_eq!(Code::parse("no-such-code"), None);
    }
}
