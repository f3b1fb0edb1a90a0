//! Clients that send what the server cannot use, or leave early, each followed by a client
//! that must still be served. The lab's server prints the exception and goes on: a printed
//! traceback is normal for it; only a server that exits or stops serving has failed. Whether
//! the bad client itself gets an ack is not judged.

use std::time::Instant;

use super::{pickle, still_serving, Shake, PICKLE_PROTOCOL};
use crate::protocol::handshake::pickle::Py;
use crate::suite::{Case, Ctx, Group, Verdict};

/// What the client does once connected.
#[derive(Clone, Copy)]
enum Then {
    /// Closes at once, without reading the id.
    LeaveAtOnce,
    /// Sends nothing and half-closes at once; waits for the server to close.
    Empty,
    /// Reads the id, then closes.
    LeaveAfterId,
    /// Reads the id, then resets the connection.
    ResetAfterId,
    /// Reads the id, sends these bytes and half-closes; waits for the server to close.
    Send(fn() -> Vec<u8>),
}

fn bad_client(ctx: &mut Ctx, then: Then) -> Verdict {
    let mut shake = match Shake::open(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let deadline = Instant::now() + ctx.settings.timeout;
    match then {
        Then::LeaveAtOnce => {
            ctx.keep(shake.conn);
        }
        Then::Empty => {
            shake.conn.half_close();
            let _ = shake.conn.wait_close(deadline);
            ctx.keep(shake.conn);
        }
        Then::LeaveAfterId => {
            let _ = shake.message(deadline);
            ctx.keep(shake.conn);
        }
        Then::ResetAfterId => {
            let _ = shake.message(deadline);
            let t = shake.conn.leave_with_reset();
            ctx.exchanges.push(t);
        }
        Then::Send(bytes) => {
            let _ = shake.message(deadline);
            let _ = shake.conn.send(&bytes());
            shake.conn.half_close();
            let _ = shake.conn.wait_close(deadline);
            ctx.keep(shake.conn);
        }
    }
    still_serving(ctx)
}

fn info_with(items: Vec<(&str, Py)>) -> Vec<u8> {
    pickle::dumps(
        &Py::Dict(items.into_iter().map(|(k, v)| (Py::str(k), v)).collect()),
        PICKLE_PROTOCOL,
    )
}

macro_rules! robust {
    ($($id:literal, $description:literal, $requirement:literal => $then:expr;)*) => {
        pub fn cases() -> Vec<Case> {
            vec![$(Case {
                id: $id,
                group: Group::Robust,
                description: $description,
                requirement: $requirement,
                run: |ctx: &mut Ctx| bad_client(ctx, $then),
            }),*]
        }
    };
}

robust! {
    "robust/not-a-pickle", "a client that sends bytes that are not a pickle",
    "pickle.loads raising UnpicklingError does not stop the server." =>
        Then::Send(|| b"not a pickle\n".to_vec());
    "robust/no-sid", "a student info without sid",
    "A dict without a key the server looks up (KeyError) does not stop the server." =>
        Then::Send(|| info_with(vec![
            ("student_name", Py::str("Ada Lovelace")),
            ("github_username", Py::str("srpc-check")),
        ]));
    "robust/name-is-number", "a student info whose name is a number",
    "A name that is not a str (TypeError in the string concatenation) does not stop the server." =>
        Then::Send(|| info_with(vec![
            ("student_name", Py::Int(42)),
            ("github_username", Py::str("srpc-check")),
            ("sid", Py::Int(1)),
        ]));
    "robust/not-a-dict", "a client that sends a list instead of the info dict",
    "A message of another type (TypeError on the lookup) does not stop the server." =>
        Then::Send(|| pickle::dumps(&Py::List(vec![Py::str("Ada Lovelace"), Py::Int(1)]), PICKLE_PROTOCOL));
    "robust/leaves-before-id", "a client that connects and leaves before reading its id",
    "A client that is gone before the server sends the id does not stop the server." =>
        Then::LeaveAtOnce;
    "robust/leaves-after-id", "a client that reads its id and leaves without sending",
    "recv() returning b\"\" ends that client (pickle.loads(b\"\") raises EOFError: check for b\"\" first); the server goes on." =>
        Then::LeaveAfterId;
    "robust/reset-after-id", "a client that reads its id and resets the connection",
    "A reset (ConnectionResetError in recv) does not stop the server." =>
        Then::ResetAfterId;
    "robust/empty-connection", "a client that connects, sends nothing and half-closes at once",
    "An empty connection does not stop the server." =>
        Then::Empty;
}
