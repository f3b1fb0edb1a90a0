//! `srpc-check call`: one request to a server and its reply, printed, as redis-cli and grpcurl
//! are for their protocols; what a student uses instead of the lab's CLIENT mode to try a
//! server by hand.

use super::connect_any;
use crate::cli::CallArgs;
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::net::conn::Conn;
use crate::report::{hex_dump_upto, write_stdout};
use crate::server::builtin::BuiltinServer;
use crate::server::Target;

/// Bytes of each direction `--hex` shows.
const HEX_LIMIT: usize = 64 * 1024;

pub(crate) fn call_command(args: CallArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    let frame = (protocol.call.request)(&args).map_err(Error::Usage)?;
    let timeout = args.timeout;
    let target = args.target.clone().unwrap_or(Target::Remote {
        host: "localhost".into(),
        port: protocol.default_port,
    });
    // Held for the length of the call: the embedded server lives as long as this does.
    let _builtin;
    let mut conn = match &target {
        Target::Builtin => {
            let server = BuiltinServer::speaking(protocol.name, 1)
                .map_err(|e| Error::io("cannot start the reference server", e))?;
            let conn = Conn::connect(server.addr(), timeout).map_err(|e| Error::Unreachable {
                target: "builtin".into(),
                reason: e.to_string(),
            })?;
            _builtin = Some(server);
            conn
        }
        Target::Remote { host, port } => {
            _builtin = None;
            let not_running = "is the server running? Start it, then call again (or try --target builtin, the reference server)";
            connect_any(host, *port, timeout, "srpc-check call ...", not_running)?.1
        }
    };
    let reply = match conn.send(&frame) {
        Ok(()) => (protocol.call.reply)(&mut conn, timeout),
        Err(e) => Err(format!("the request could not be sent: {e}")),
    };
    let mut out = String::new();
    if args.hex {
        out.push_str(&dumps(&frame, &conn.transcript.received));
    }
    let code = match reply {
        Ok((text, ok)) => {
            out.push_str(&text);
            if ok {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        Err(why) => {
            eprintln!("srpc-check: no reply: {why}");
            EXIT_FAILED
        }
    };
    write_stdout(&out)?;
    Ok(code)
}

/// The bytes both ways, as `--hex` shows them.
fn dumps(sent: &[u8], received: &[u8]) -> String {
    let mut out = format!("sent {} bytes:\n", sent.len());
    out.push_str(&hex_dump_upto(sent, "  ", HEX_LIMIT));
    out.push_str(&format!("received {} bytes:\n", received.len()));
    out.push_str(&hex_dump_upto(received, "  ", HEX_LIMIT));
    out
}
