//! The handshake protocol's finding codes (lab 3): the catalogue entries, and where in a
//! student's code each one lives.
//!
//! Codes that mean the same in every protocol (`exits-after-one`, `crash-when-client-leaves`,
//! `stops-answering`, ...) are the shared catalogue's, in [`crate::codes`].

use crate::codes::{Code, Info, Severity};
use crate::diagnose::source::Source;
use crate::runner::{Outcome, RunReport};

/// Lab 3's words for `crash-when-client-leaves`: the catalogue's speak of sending srpc's
/// ERROR reply, where a lab 3 server dies unpickling the b"" of a client that left.
static CRASH_WHEN_CLIENT_LEAVES: Info = Info {
    code: "crash-when-client-leaves",
    area: "crashes",
    severity: Severity::Error,
    title: "the server crashes when a client leaves early",
    explanation: "When a client closes, recv() returns b\"\", and pickle.loads(b\"\") raises EOFError: Ran out of input. A client that resets makes recv() raise ConnectionResetError, and sending to a client that has gone raises BrokenPipeError. Your server catches none of these around its handling of one client, so any client that leaves early, before it sends its info or right after the id, stops the server for every client after it.",
    fix: "treat b\"\" from recv() as the client having left (return before pickle.loads), and catch EOFError and OSError around the handling of each client, then go on to accept the next",
    wrong: "data = conn.recv(1024)\ninfo = pickle.loads(data)  # EOFError when the client left",
    right: "data = conn.recv(1024)\nif not data:\n    return  # the client left\ninfo = pickle.loads(data)",
};

/// Lab 3's own words for a shared code (see [`crate::protocol::Protocol::shared_text`]).
pub fn shared_text(code: Code) -> Option<&'static Info> {
    match code {
        Code::CrashWhenClientLeaves => Some(&CRASH_WHEN_CLIENT_LEAVES),
        _ => None,
    }
}

crate::catalogue! {
    HandshakeCode;
    NeverBinds {
        code: "never-binds",
        area: "connections",
        severity: Error,
        title: "the server listens, but not on the port it prints",
        explanation: "Your server prints that it listens at 127.0.0.1/12000, but the kernel shows it listening on another port: it called listen() on a socket it never bound, so the system gave it a random port. The lab's client connects to 12000 and finds nothing there. In the lab's skeleton, run() calls _listen() and _accept_clients(); _bind() has to be called first.",
        fix: "bind before you listen: call self._bind() (self.server.bind((HOST, PORT))) in run(), before self._listen()",
        wrong: "def run(self):\n    self._listen()\n    self._accept_clients()",
        right: "def run(self):\n    self._bind()\n    self._listen()\n    self._accept_clients()",
    }
    ClientidWrong {
        code: "clientid-wrong",
        area: "the handshake",
        severity: Error,
        title: "the first message is not {'clientid': the client's port}",
        explanation: "As soon as it accepts a client, the server sends pickle.dumps({'clientid': addr[1]}): a dict with one key, whose value is the client's own port, an int (accept() returns the socket and the address (host, port); the port is addr[1]). Yours sends something else: the dict wrapped in another dict, the whole address tuple, or another number.",
        fix: "send exactly pickle.dumps({'clientid': addr[1]}) right after accept(), with addr the address accept() returned",
        wrong: "conn, addr = self.server.accept()\nconn.send(pickle.dumps({'clientid': {'clientid': addr[1]}}))",
        right: "conn, addr = self.server.accept()\nconn.send(pickle.dumps({'clientid': addr[1]}))",
    }
    AckWrong {
        code: "ack-wrong",
        area: "the handshake",
        severity: Error,
        title: "the student info is not acknowledged with the int 1",
        explanation: "Once the server has the client's student info, it answers pickle.dumps(1), the int 1: the lab's client checks for exactly that and prints `Data acknowledged by server and you passed the test`. Yours sends something else (a dict, a string, True, another number) or nothing at all, so the client never passes; a client that waits for the ack hangs.",
        fix: "after printing the Connected line, send conn.send(pickle.dumps(1))",
        wrong: "conn.send(pickle.dumps({'ack': 1}))",
        right: "conn.send(pickle.dumps(1))",
    }
    LogLineWrong {
        code: "log-line-wrong",
        area: "the handshake",
        severity: Error,
        title: "a line the lab asks the server to print is missing or spelled otherwise",
        explanation: "The lab's server prints two lines that its grader reads: `Listening at 127.0.0.1/12000` once it listens (`Server listening at ...` is accepted too), and for every student info it receives `Connected: Student: NAME, Github Username: GH, sid: SID`, spelled exactly so (a colon after Student, a comma after each value). Yours printed something else, or nothing.",
        fix: "print(\"Connected: Student: \" + name + \", Github Username: \" + github + \", sid: \" + str(sid)) with the three values of the dict the client sent",
        wrong: "print(\"Connected Student \" + name + \" Github Username: \" + github)",
        right: "print(\"Connected: Student: \" + name + \", Github Username: \" + github + \", sid: \" + str(sid))",
    }
    CrashOnBadPickle {
        code: "crash-on-bad-pickle",
        area: "crashes",
        severity: Error,
        title: "the server crashes on a message it cannot use",
        explanation: "A client sent bytes that are not a pickle, or a dict without `sid`, or a name that is not a str. pickle.loads raises UnpicklingError, the dict lookup KeyError, the string concatenation TypeError. Your server catches only socket.error (or nothing), so the exception ends it and every later client finds nothing listening. The lab asks the server to keep running after any exception.",
        fix: "catch Exception around the handling of one client: print the error, close that client's socket, and go on accepting",
        wrong: "try:\n    self._handler(conn, addr)\nexcept socket.error as e:\n    print(e)",
        right: "try:\n    self._handler(conn, addr)\nexcept Exception as e:\n    print(e)\nfinally:\n    conn.close()",
    }
    InfoSingleRecv {
        code: "info-single-recv",
        area: "reading a message",
        severity: Warning,
        title: "a student info that arrives in two pieces is not read",
        explanation: "Pickles have no length in front of them, and one recv() returns whatever has arrived: a message sent with one send() usually arrives whole on loopback, but TCP may deliver it in two pieces. Your server unpickles what its first recv() returned, so a message in two pieces fails (`pickle data was truncated`). The lab's own client sends in one piece, so its grader does not see this.",
        fix: "keep what recv() returns until pickle.loads succeeds: data += conn.recv(4096), and try pickle.loads(data) again while it raises for truncated data",
        wrong: "info = pickle.loads(conn.recv(1024))",
        right: "data = b\"\"\nwhile True:\n    chunk = conn.recv(4096)\n    if not chunk:\n        break\n    data += chunk\n    try:\n        info = pickle.loads(data)\n        break\n    except (EOFError, pickle.UnpicklingError):\n        continue",
    }
    UnsafePickleRefused {
        code: "unsafe-pickle-refused",
        area: "safety",
        severity: Error,
        title: "a pickle that would run code was sent, and refused unread",
        explanation: "The message names a Python object (a GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ or NEWOBJ opcode): unpickling it imports and calls code, which is how a pickle takes over the machine that loads it. srpc-check never unpickles such data, and no peer in this lab should send it: the lab's messages are a dict of str and int, and the int 1. Yours pickled an object (an instance of a class of yours, a function, a datetime) instead of plain values.",
        fix: "send only plain values: pickle.dumps({'clientid': addr[1]}) and pickle.dumps(1) (a client: a dict of two str and an int)",
        wrong: "conn.send(pickle.dumps(Student(name, github, sid)))",
        right: "conn.send(pickle.dumps({'student_name': name, 'github_username': github, 'sid': sid}))",
    }
    ClientInfoWrong {
        code: "client-info-wrong",
        area: "the client",
        severity: Error,
        title: "the client's student info is not the dict the lab asks for",
        explanation: "After the client id, the client sends pickle.dumps({'student_name': str, 'github_username': str, 'sid': int}): those three keys spelled so, the name and username str (the server concatenates them), the sid an int. Yours sent something else: a key missing or respelled, a value of another type, or not a dict.",
        fix: "send pickle.dumps({'student_name': name, 'github_username': github, 'sid': int(sid)})",
        wrong: "client.send(pickle.dumps({'name': name, 'github': github, 'sid': sid_text}))",
        right: "client.send(pickle.dumps({'student_name': name, 'github_username': github, 'sid': int(sid_text)}))",
    }
    ClientLinesWrong {
        code: "client-lines-wrong",
        area: "the client",
        severity: Error,
        title: "the client does not print the lab's lines",
        explanation: "The lab's client prints two lines its grader reads: `{'clientid': N} has successfully connected to 127.0.0.1/12000` once it has its id (the dict as Python prints it), and `Data acknowledged by server and you passed the test` once the ack is the int 1, and only then. Yours printed something else, nothing, or the passed line for an ack that is not 1.",
        fix: "print(str(clientid) + \" has successfully connected to \" + HOST + \"/\" + str(PORT)); and print the passed line only when pickle.loads(...) == 1",
        wrong: "if ack:\n    print(\"Data acknowledged by server and you passed the test\")",
        right: "if ack == 1:\n    print(\"Data acknowledged by server and you passed the test\")",
    }
    ClientReadsTwice {
        code: "client-reads-twice",
        area: "the client",
        severity: Error,
        title: "the client breaks when the id and the ack arrive together",
        explanation: "Your client reads the client id with one recv() and the ack with a second. When both arrive before the first recv() (TCP keeps no message boundaries), the first recv() returns both pickles and pickle.loads reads only the first: the second recv() then waits for an ack that has already come, or gets nothing.",
        fix: "keep the bytes after the first pickle: read with pickle.Unpickler over a buffer (io.BytesIO) or a socket file (client.makefile('rb')), which stops at each pickle's end and keeps the rest for the next load",
        wrong: "clientid = pickle.loads(client.recv(4090))\n...\nack = pickle.loads(client.recv(4090))",
        right: "stream = client.makefile(\"rb\")\nclientid = pickle.load(stream)\n...\nack = pickle.load(stream)",
    }
    ClientSingleRecv {
        code: "client-single-recv",
        area: "the client",
        severity: Error,
        title: "the client misreads a message that arrives in two pieces",
        explanation: "One recv() returns what has arrived, which may be part of a message. Your client unpickles what one recv() returned, so a client id (or an ack) that arrives in two pieces fails with `pickle data was truncated`.",
        fix: "read with pickle.load(client.makefile('rb')), which waits for the whole pickle, or keep calling recv() until pickle.loads succeeds",
        wrong: "clientid = pickle.loads(client.recv(4090))",
        right: "clientid = pickle.load(client.makefile(\"rb\"))",
    }
}

/// handshake's own codes, as shared codes.
pub fn own() -> Vec<Code> {
    HandshakeCode::LISTED
        .iter()
        .map(|&c| Code::Handshake(c))
        .collect()
}

/// Where in the student's source the finding `code` lives, by lab 3's own patterns.
pub fn locate(code: Code, cases: &[&Outcome], source: &Source) -> Option<(String, u32)> {
    let text = |needles: &[&str]| needles.iter().find_map(|n| source.find_text(n));
    let Code::Handshake(code) = code else {
        return None;
    };
    match code {
        HandshakeCode::NeverBinds => text(&["self._listen()", ".listen(", "def _bind"]),
        HandshakeCode::ClientidWrong => text(&["'clientid'", "\"clientid\""]),
        HandshakeCode::AckWrong => text(&[
            "pickle.dumps(1)",
            "dumps({'ack'",
            "dumps(\"ack",
            "dumps('ack",
            "Connected: Student",
            "Connected",
        ]),
        HandshakeCode::LogLineWrong if cases.iter().all(|o| o.id == "grading/listening-line") => {
            text(&["Listening at", "listening at", "Listening", "listening", ".listen("])
        }
        HandshakeCode::LogLineWrong => text(&[
            "Connected",
            "Github Username",
            "Listening at",
            "listening at",
        ]),
        HandshakeCode::InfoSingleRecv => text(&["pickle.loads(conn.recv(", "pickle.loads(data)"]),
        HandshakeCode::ClientInfoWrong => text(&["'sid'", "\"sid\"", "student_name"]),
        HandshakeCode::ClientLinesWrong
            if cases.iter().any(|o| o.message.contains("printed its id")) =>
        {
            text(&["has successfully connected to", "clientid"])
        }
        HandshakeCode::ClientLinesWrong => text(&[
            "you passed the test",
            "has successfully connected to",
        ]),
        HandshakeCode::ClientReadsTwice | HandshakeCode::ClientSingleRecv => {
            text(&["pickle.loads(self.client.recv(", "pickle.loads(client.recv(", ".recv("])
        }
        HandshakeCode::UnsafePickleRefused => {
            text(&["'clientid'", "\"clientid\"", "pickle.dumps("])
        }
        HandshakeCode::CrashOnBadPickle => None,
    }
}

/// A client that hangs with the id and the ack delivered whole hangs for that reason whatever
/// the delivery: its hangs in the split and together cases are the same bug, not a misread.
pub fn refine(report: &RunReport, codes: &mut [Option<Code>], _source: Option<&Source>) {
    let whole_hangs = report
        .outcomes
        .iter()
        .zip(codes.iter())
        .any(|(o, c)| o.id == "client/whole" && *c == Some(Code::ClientHangs));
    if !whole_hangs {
        return;
    }
    for (o, c) in report.outcomes.iter().zip(codes.iter_mut()) {
        let misread = matches!(
            c,
            Some(Code::Handshake(
                HandshakeCode::ClientReadsTwice | HandshakeCode::ClientSingleRecv
            ))
        );
        if misread && o.message.starts_with("the client hung") {
            *c = Some(Code::ClientHangs);
        }
    }
}
