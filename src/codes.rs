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
/// one variant per registered protocol (the registry's lines, in [`crate::protocols`]), each
/// wrapping that protocol's `findings::$codes` enum, so a protocol's codes live in its own
/// folder.
#[macro_export]
macro_rules! catalogue {
    ($([$module:ident $static:ident $extra:ident $codes:ident])*; $name:ident; $($rest:tt)*) => {
        $crate::catalogue! { $name extra { $($extra($crate::protocol::$module::findings::$codes)),* }; $($rest)* }
    };
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

            pub fn info(self) -> &'static $crate::codes::Info {
                use $crate::codes::{Info, Severity};
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
        Code::WritesFiles,
        Code::Unexplained,
    ];

    /// Every code: the shared catalogue, then each protocol's own.
    pub fn all() -> impl Iterator<Item = Code> {
        Code::LISTED.iter().copied().chain(
            crate::protocol::REGISTRY
                .iter()
                .flat_map(|p| (p.own_codes)()),
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::protocols! { catalogue!
    Code;
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
    WritesFiles {
        code: "writes-files",
        area: "other",
        severity: Warning,
        title: "the server writes files into its own folder",
        explanation: "While it ran, your server created or changed files in the folder it runs from (a log file from logging.basicConfig(filename=...), a saved store, a dump). The lab asks for none. A grader often runs submissions from a folder they may not write, where opening the file raises at start-up and the server never listens; and files left behind mix with the submission.",
        fix: "log to the terminal (print, or logging without filename=) and keep state in memory; if a file is really needed, write it under a folder the command line names, such as tempfile.gettempdir()",
        wrong: "logging.basicConfig(filename=\"server.log\", level=logging.INFO)",
        right: "logging.basicConfig(level=logging.INFO)  # to the terminal",
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
