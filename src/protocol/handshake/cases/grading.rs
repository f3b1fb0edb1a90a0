//! The lab's own run: the client id, the ack, and the two lines the server prints.

use std::time::Duration;

use super::{code, fresh_handshake, handshake, mark, printed_line, Info};
use crate::protocol::handshake::findings::HandshakeCode;
use crate::suite::{Case, Ctx, Group, Status, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "grading/client-id",
            group: Group::Grading,
            description: "on accept, the server sends the client id",
            requirement: "The first message is pickle.dumps({'clientid': addr[1]}): a dict whose one value is the client's own port, an int.",
            run: |ctx| match fresh_handshake(ctx) {
                // A wrong ack is the next case's; this one judged the id on the way.
                Ok(done) => {
                    ctx.keep(done.shake.conn);
                    Verdict::pass()
                }
                Err(v) if v.finding == Some(code(HandshakeCode::AckWrong)) => Verdict::pass(),
                Err(v) => v,
            },
        },
        Case {
            id: "grading/ack",
            group: Group::Grading,
            description: "the student info is acknowledged with the int 1",
            requirement: "After the client sends {'student_name': str, 'github_username': str, 'sid': int}, the server answers pickle.dumps(1).",
            run: |ctx| match fresh_handshake(ctx) {
                Ok(done) => {
                    ctx.keep(done.shake.conn);
                    Verdict::pass()
                }
                Err(v) => v,
            },
        },
        Case {
            id: "grading/connected-line",
            group: Group::Grading,
            description: "the server prints the Connected line for the student info",
            requirement: "For each student info the server prints `Connected: Student: NAME, Github Username: GH, sid: SID`, exactly so.",
            run: connected_line,
        },
        Case {
            id: "grading/listening-line",
            group: Group::Grading,
            description: "the server prints where it listens, and listens there",
            requirement: "Once it listens the server prints `Listening at 127.0.0.1/12000` (or `Server listening at ...`), and the port it prints is the one it listens on.",
            run: listening_line,
        },
    ]
}

/// How long a printed line has to appear after the reply that follows it.
const PRINT_WAIT: Duration = Duration::from_secs(1);

fn connected_line(ctx: &mut Ctx) -> Verdict {
    let before = mark(ctx);
    let info = Info::fresh(ctx);
    let done = match handshake(ctx, &info, &[], Duration::ZERO) {
        Ok(done) => done,
        Err(v) => return v,
    };
    ctx.keep(done.shake.conn);
    let want = info.connected_line();
    let seen = printed_line(ctx, before, PRINT_WAIT, |l| l.trim_end() == want);
    let wrong = |actual: String, why: &str| {
        Verdict::fail(format!("the Connected line is {why}"))
            .expected(want.clone())
            .actual(actual)
            .because(
                code(HandshakeCode::LogLineWrong),
                "print the line exactly as the lab spells it, with the three values the client sent",
            )
    };
    match seen {
        None => Verdict::new(
            Status::Skip,
            "srpc-check cannot see what a server it did not start prints (run it with --exec)",
        ),
        Some(Ok(_)) => Verdict::pass(),
        Some(Err(printed)) => {
            // A line about this client, spelled otherwise.
            let near = printed
                .lines()
                .find(|l| l.contains(&info.github) || l.contains("Connected"));
            match near {
                Some(line) => wrong(line.to_owned(), "spelled otherwise"),
                None => wrong(super::last_lines(&printed), "not printed"),
            }
        }
    }
}

/// The port of a `Listening at HOST/PORT` line, or None when the line is spelled otherwise.
fn listening_port(line: &str) -> Option<u16> {
    let rest = line
        .trim()
        .strip_prefix("Listening at ")
        .or_else(|| line.trim().strip_prefix("Server listening at "))?;
    let (_host, port) = rest.rsplit_once('/')?;
    port.trim().parse().ok()
}

fn listening_line(ctx: &mut Ctx) -> Verdict {
    let listens = ctx.settings.addr.port();
    let (Some(Ok(line)) | Some(Err(line))) = printed_line(ctx, 0, Duration::ZERO, |l| {
        l.to_ascii_lowercase().contains("listening")
    }) else {
        return Verdict::new(
            Status::Skip,
            "srpc-check cannot see what a server it did not start prints (run it with --exec)",
        );
    };
    let is_line = line.to_ascii_lowercase().contains("listening");
    let want = format!("Listening at 127.0.0.1/{listens}");
    let line = line.trim_end().to_owned();
    if !is_line {
        return Verdict::fail("the server never printed where it listens")
            .expected(want)
            .actual(super::last_lines(&line))
            .because(
                code(HandshakeCode::LogLineWrong),
                "print(\"Listening at \" + HOST + \"/\" + str(PORT)) once listen() has returned",
            );
    }
    match listening_port(&line) {
        Some(port) if port == listens => Verdict::pass(),
        Some(port) => Verdict::fail(format!(
            "the server prints that it listens on port {port}, but it listens on port {listens}"
        ))
        .expected(format!("listening on port {port}, as printed"))
        .actual(format!("{line:?}; the kernel shows it listening on port {listens}"))
        .because(
            code(HandshakeCode::NeverBinds),
            "the listening socket was never bound to the port, so listen() took a random one: call _bind() before _listen()",
        ),
        None => Verdict::fail("the listening line is spelled otherwise")
            .expected(want)
            .actual(line)
            .because(
                code(HandshakeCode::LogLineWrong),
                "the lab prints `Listening at 127.0.0.1/12000`: the host and port joined by a slash",
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn reads_the_port_of_a_listening_line() {
        assert_eq!(listening_port("Listening at 127.0.0.1/12000"), Some(12000));
        assert_eq!(listening_port("Server listening at 127.0.0.1/12000\r"), Some(12000));
        assert_eq!(listening_port("Listening on 127.0.0.1:12000"), None);
        assert_eq!(listening_port("listening at 127.0.0.1/x"), None);
    }
}
