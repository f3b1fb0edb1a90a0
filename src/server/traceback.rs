//! Reading a crashed server's own output: the last Python traceback in it, and what it most
//! likely means, in a student's words and with the student's file and line.

/// One `File "...", line N, in F` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub file: String,
    pub line: u32,
    pub function: String,
}

/// The last traceback in a server's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traceback {
    /// The frames, outermost first.
    pub frames: Vec<Frame>,
    /// The exception's type as printed, e.g. `BrokenPipeError` or `json.decoder.JSONDecodeError`.
    pub exception: String,
    /// What follows the type on the last line (may be empty).
    pub message: String,
    /// It was raised while an earlier exception was being handled (inside an except block).
    pub during_handling: bool,
    /// The whole traceback text, as printed.
    pub text: String,
}

const HEAD: &str = "Traceback (most recent call last):";
const CHAINED: &str = "During handling of the above exception, another exception occurred:";

impl Traceback {
    /// Finds the last traceback in `output`, if there is one.
    pub fn parse(output: &str) -> Option<Traceback> {
        // Threads that die together print their tracebacks into each other, and a process
        // that ends at once can cut the last one short: the last one that is whole counts.
        output
            .rmatch_indices(HEAD)
            .find_map(|(start, _)| Self::parse_at(output, start))
    }

    /// The traceback that starts at `start`, if it is whole: frames, then the exception line.
    fn parse_at(output: &str, start: usize) -> Option<Traceback> {
        let during_handling = output[..start].trim_end().ends_with(CHAINED);
        let mut frames = Vec::new();
        let mut last_line = None;
        let mut end = output.len();
        let mut offset = start;
        for line in output[start..].split_inclusive('\n') {
            let here = offset;
            offset += line.len();
            let trimmed = line.trim_end();
            if here == start {
                continue;
            }
            if let Some(frame) = parse_frame(trimmed) {
                frames.push(frame);
            } else if trimmed.starts_with(' ') || trimmed.is_empty() {
                // Source lines, carets, and the like.
            } else if trimmed.starts_with(HEAD) {
                return None; // another traceback began inside this one
            } else {
                last_line = Some(trimmed.to_owned());
                end = offset;
                break;
            }
        }
        let last_line = last_line?;
        if frames.is_empty() {
            return None;
        }
        let (exception, message) = match last_line.split_once(": ") {
            Some((e, m)) if !e.contains(' ') => (e.to_owned(), m.to_owned()),
            _ => (last_line.trim_end_matches(':').to_owned(), String::new()),
        };
        Some(Traceback {
            frames,
            exception,
            message,
            during_handling,
            text: output[start..end].trim_end().to_owned(),
        })
    }

    /// The innermost frame in the student's own code (not in Python's library).
    pub fn own_frame(&self) -> Option<&Frame> {
        self.frames
            .iter()
            .rev()
            .find(|f| !is_library(&f.file))
            .or(self.frames.last())
    }

    /// "srpc_lab.py line 42 (in handle)", naming the student's own code where the exception
    /// left it.
    pub fn location(&self) -> String {
        match self.own_frame() {
            Some(f) => {
                let file = f.file.rsplit('/').next().unwrap_or(&f.file);
                format!("{file} line {} (in {})", f.line, f.function)
            }
            None => "an unknown place".into(),
        }
    }

    /// The exception's short type name: `JSONDecodeError` for `json.decoder.JSONDecodeError`.
    pub fn kind(&self) -> &str {
        self.exception.rsplit('.').next().unwrap_or(&self.exception)
    }

    /// The exception a server raises when the client has gone.
    pub fn is_departure(&self) -> bool {
        matches!(
            self.kind(),
            "BrokenPipeError" | "ConnectionResetError" | "ConnectionAbortedError"
        )
    }

    /// The likely cause of the crash, in a student's words.
    pub fn explain(&self) -> String {
        let at = self.location();
        let raised = format!("{}: {}", self.exception, self.message);
        let raised = raised.trim_end_matches([' ', ':']);
        match self.kind() {
            _ if self.is_departure() => {
                let inside = if self.during_handling {
                    ", inside an except block (while it was handling an earlier error)"
                } else {
                    ""
                };
                format!(
                    "your server crashed with {raised} at {at}: it sent to a client that had already left{inside}. Catch errors around every send, including the send of the ERROR reply, so that one departed client cannot stop the server"
                )
            }
            "JSONDecodeError" => format!(
                "your server crashed with {raised} at {at}: json.loads got half a payload, because a single recv() returned only part of the message. Keep calling recv() until you have as many bytes as the header declares, and catch errors per connection"
            ),
            "UnicodeDecodeError" => format!(
                "your server crashed with {raised} at {at}: it decoded bytes that were not (or not yet all) UTF-8. Read the whole payload before decoding, and catch errors per connection"
            ),
            "error" if self.exception.starts_with("struct") => format!(
                "your server crashed with {raised} at {at}: struct.unpack got a header shorter than 8 bytes, because recv() returned fewer bytes (or none: the client had left). Keep reading until you have 8 bytes, and treat b\"\" as a closed connection"
            ),
            "KeyError" => format!(
                "your server crashed with {raised} at {at}: the request had no {} key, and nothing caught the KeyError. Check the request's keys (or catch the error) and answer {{\"status\": \"ERROR\"}}",
                if self.message.is_empty() { "such" } else { &self.message }
            ),
            "TypeError" if self.message.contains("JSON object must be") => format!(
                "your server crashed with {raised} at {at}: json.loads was called on something already decoded (a dict, not text). Decode the payload once"
            ),
            "TypeError" if self.message.contains("unhashable") => format!(
                "your server crashed with {raised} at {at}: a list or dict was used as the object's name. Check that obj is a string or number, or catch the error and answer ERROR"
            ),
            "ValueError" if self.message.contains("negative buffersize") => format!(
                "your server crashed with {raised} at {at}: it passed a negative declared length to recv(). Check the length before reading, and answer ERROR"
            ),
            "MemoryError" | "OverflowError" => format!(
                "your server crashed with {raised} at {at}: it believed a huge declared length. Check the length against a limit before reading"
            ),
            "RecursionError" => format!(
                "your server crashed with {raised} at {at}: a deeply nested value exhausted Python's recursion limit. Catch exceptions per connection"
            ),
            _ => format!(
                "your server crashed with {raised} at {at}. Catch exceptions around the handling of each connection so that one bad request cannot stop the server"
            ),
        }
    }
}

fn is_library(file: &str) -> bool {
    file.starts_with('<') || file.contains("/lib/python") || file.contains("\\lib\\")
}

fn parse_frame(line: &str) -> Option<Frame> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once("\", line ")?;
    let (line_no, function) = match rest.split_once(", in ") {
        Some((n, f)) => (n, f),
        None => (rest, "?"),
    };
    Some(Frame {
        file: file.to_owned(),
        line: line_no.trim().parse().ok()?,
        function: function.to_owned(),
    })
}

/// The likely cause of a server's exit, from its output and exit status.
pub fn explain_exit(output: &str, status: &str) -> String {
    match Traceback::parse(output) {
        Some(tb) => tb.explain(),
        None if status == "exit status 0" => "your server exited by itself, without an error, after serving: does it call accept() only once, or leave its loop after one client? Keep accepting in a loop".into(),
        None => format!(
            "your server exited ({status}) without printing a traceback; look at its own output for why"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROKEN_PIPE: &str = r#"listening
Traceback (most recent call last):
  File "/home/s/srpc_lab.py", line 30, in handle
    header = conn.recv(8)
             ^^^^^^^^^^^^
struct.error: unpack requires a buffer of 8 bytes

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/home/s/srpc_lab.py", line 80, in <module>
    main()
  File "/home/s/srpc_lab.py", line 44, in handle
    conn.sendall(reply)
BrokenPipeError: [Errno 32] Broken pipe
"#;

    #[test]
    fn the_last_traceback_is_read_with_its_chain() {
        let tb = Traceback::parse(BROKEN_PIPE).unwrap();
        assert_eq!(tb.exception, "BrokenPipeError");
        assert_eq!(tb.message, "[Errno 32] Broken pipe");
        assert!(tb.during_handling);
        assert_eq!(tb.frames.len(), 2);
        assert_eq!(tb.location(), "srpc_lab.py line 44 (in handle)");
        let why = tb.explain();
        assert!(why.contains("client that had already left"), "{why}");
        assert!(why.contains("inside an except block"), "{why}");
        assert!(tb.text.ends_with("Broken pipe"));
    }

    #[test]
    fn threads_that_die_together_leave_the_last_whole_traceback() {
        // Two threads print at once, and the process ends before the second has finished.
        let out = "Traceback (most recent call last):\n  File \"/s/server.py\", line 136, in call\nTraceback (most recent call last):\n    raise ValueError(\"unknown function \" + func)\nValueError: unknown function ECHO-1\n  File \"/s/server.py\", line 136, in call\nTraceback (most recent call last):\n  File \"/s/server.py\", line 130, in call\n    raise ValueError(\"unknown function \" + func)\nValueError: unknown function ECHO-2\nTraceback (most recent call last):\n  File \"/s/ser";
        let tb = Traceback::parse(out).unwrap();
        assert_eq!(tb.exception, "ValueError");
        assert_eq!(tb.message, "unknown function ECHO-2");
        assert_eq!(tb.location(), "server.py line 130 (in call)");
        assert!(Traceback::parse(
            "Traceback (most recent call last):\n  File \"/s/x.py\", line 1, in f\n"
        )
        .is_none());
    }

    #[test]
    fn library_frames_are_passed_over_for_the_students_line() {
        let out = r#"Traceback (most recent call last):
  File "/srv/x/server.py", line 12, in serve
    msg = json.loads(data)
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
json.decoder.JSONDecodeError: Unterminated string starting at: line 1 column 10 (char 9)
"#;
        let tb = Traceback::parse(out).unwrap();
        assert_eq!(tb.exception, "json.decoder.JSONDecodeError");
        assert_eq!(tb.location(), "server.py line 12 (in serve)");
        assert!(tb.explain().contains("single recv()"));
    }

    #[test]
    fn each_common_crash_has_its_own_cause() {
        for (last, phrase) in [
            (
                "struct.error: unpack requires a buffer of 8 bytes",
                "shorter than 8 bytes",
            ),
            ("KeyError: 'func'", "no 'func' key"),
            (
                "ConnectionResetError: [Errno 104] Connection reset by peer",
                "already left",
            ),
            ("ZeroDivisionError: division by zero", "Catch exceptions"),
        ] {
            let out = format!("Traceback (most recent call last):\n  File \"s.py\", line 3, in f\n    x()\n{last}\n");
            let why = Traceback::parse(&out).unwrap().explain();
            assert!(why.contains(phrase), "{last}: {why}");
            assert!(why.contains("s.py line 3 (in f)"), "{why}");
        }
    }

    #[test]
    fn no_traceback_says_so() {
        assert!(Traceback::parse("just exited\n").is_none());
        assert!(explain_exit("bye\n", "exit status 3").contains("exit status 3"));
    }
}
