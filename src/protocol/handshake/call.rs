//! `srpc-check call --protocol handshake NAME GITHUB SID`: the lab's client, once. The student
//! info is sent at once; the reply shown is what the lab's client prints for the id and the ack.

use std::time::{Duration, Instant};

use super::cases::{ack_problem, id_problem, read_message, Info};
use super::pickle;
use crate::cli::CallArgs;
use crate::net::conn::Conn;

/// How the registry calls it.
pub static CALL: crate::protocol::Caller = crate::protocol::Caller {
    request: from_args,
    reply,
};

/// NAME GITHUB SID from the command line.
fn from_args(args: &CallArgs) -> Result<Vec<u8>, String> {
    if args.json.is_some() {
        return Err("with --protocol handshake, call takes NAME GITHUB SID: srpc-check call --protocol handshake 'Ada Lovelace' ada 1234".into());
    }
    let (Some(name), Some(github), Some(sid)) = (&args.func, &args.name, &args.value) else {
        return Err("give the student info, NAME GITHUB SID: srpc-check call --protocol handshake 'Ada Lovelace' ada 1234".into());
    };
    let sid: i64 = sid
        .parse()
        .map_err(|_| format!("SID is an integer, not {sid:?}"))?;
    Ok(Info {
        name: name.clone(),
        github: github.clone(),
        sid,
    }
    .pickle())
}

/// The id and the ack, as the lab's client prints them, and whether both are right.
fn reply(conn: &mut Conn, timeout: Duration) -> Result<(String, bool), String> {
    let deadline = Instant::now() + timeout;
    let port = conn.local_port().unwrap_or(0);
    let mut at = 0;
    let id = read_message(conn, &mut at, deadline).map_err(|m| m.describe(timeout))?;
    let mut out = format!(
        "{} has successfully connected to {}\n",
        pickle::repr(&id),
        conn_peer(conn)
    );
    let id_wrong = id_problem(&id, port);
    if let Some(p) = &id_wrong {
        eprintln!("srpc-check: the client id is wrong: {p}");
    }
    let ack = read_message(conn, &mut at, deadline).map_err(|m| m.describe(timeout))?;
    let ack_wrong = ack_problem(&ack);
    match &ack_wrong {
        None => out.push_str("Data acknowledged by server and you passed the test\n"),
        Some(p) => {
            out.push_str(&format!("{}\n", pickle::repr(&ack)));
            eprintln!("srpc-check: {p}");
        }
    }
    Ok((out, id_wrong.is_none() && ack_wrong.is_none()))
}

fn conn_peer(conn: &Conn) -> String {
    conn.peer()
        .map(|a| format!("{}/{}", a.ip(), a.port()))
        .unwrap_or_else(|| "the server".into())
}
