//! `srpc-check call`: one request to a server and its reply, printed, as redis-cli and grpcurl
//! are for their protocols; what a student uses instead of the lab's CLIENT mode to try a
//! server by hand.

use std::io::IsTerminal;

use serde_json::Value;

use super::connect_any;
use crate::cli::CallArgs;
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::net::conn::Conn;
use crate::protocol::srpc::oracle;
use crate::protocol::srpc::{codec, reply};
use crate::report::{hex_dump_upto, write_stdout};
use crate::server::builtin::BuiltinServer;
use crate::server::Target;

/// Bytes of each direction `--hex` shows.
const HEX_LIMIT: usize = 64 * 1024;

/// The payload `args` asks for: GET NAME, PUT NAME VALUE, or --json as given.
pub(crate) fn payload(args: &CallArgs) -> Result<Vec<u8>> {
    if let Some(text) = &args.json {
        return Ok(text.clone().into_bytes());
    }
    let usage = |m: &str| Err(Error::Usage(m.into()));
    let func = args.func.as_deref().unwrap_or("").to_ascii_uppercase();
    let Some(name) = &args.name else {
        return usage("give a NAME: srpc-check call GET NAME, or srpc-check call PUT NAME VALUE");
    };
    let name = Value::String(name.clone());
    match (func.as_str(), &args.value) {
        ("GET", None) => Ok(oracle::get_request(&name)),
        ("GET", Some(_)) => usage("GET takes a NAME and no VALUE"),
        ("PUT", Some(value)) => Ok(oracle::put_request(&name, &value_of(value, args.string))),
        ("PUT", None) => usage("PUT takes a NAME and a VALUE: srpc-check call PUT NAME VALUE"),
        _ => usage("the request is GET or PUT; any other goes with --json"),
    }
}

/// VALUE as JSON when it parses as JSON, else (or with --string) as a string.
pub(crate) fn value_of(text: &str, string: bool) -> Value {
    if string {
        return Value::String(text.to_owned());
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

pub(crate) fn call_command(args: CallArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    let app = *protocol == crate::protocol::app::APP;
    let frame = if app {
        if args.json.is_some() || args.value.is_some() {
            return Err(Error::Usage(
                "with --protocol app, call takes an ACTION and a VALUE: srpc-check call --protocol app search morpheus".into(),
            ));
        }
        let (Some(action), Some(value)) = (&args.func, &args.name) else {
            return Err(Error::Usage(
                "give an ACTION and a VALUE: srpc-check call --protocol app double 7".into(),
            ));
        };
        crate::protocol::app::call::request(action, value).map_err(Error::Usage)?
    } else {
        codec::request(&payload(&args)?)
    };
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
    if app {
        let _ = conn.send(&frame);
        let reply = crate::protocol::app::codec::read_reply(
            &mut conn,
            std::time::Instant::now() + timeout,
            false,
        );
        let mut out = String::new();
        if args.hex {
            out.push_str(&dumps(&frame, &conn.transcript.received));
        }
        let code = match reply {
            Ok(m) => {
                let (text, ok) = crate::protocol::app::call::show(&m);
                out.push_str(&text);
                if ok {
                    EXIT_OK
                } else {
                    EXIT_FAILED
                }
            }
            Err(no) => {
                eprintln!("srpc-check: no reply: {}", no.describe(timeout));
                EXIT_FAILED
            }
        };
        write_stdout(&out)?;
        return Ok(code);
    }
    let sent = conn.send(&frame);
    let result = match sent {
        Ok(()) => reply::read(&mut conn),
        Err(e) => Err(reply::NoReply::Garbled {
            reason: format!("the request could not be sent: {e}"),
        }),
    };
    let mut out = String::new();
    if args.hex {
        out.push_str(&dumps(&frame, &conn.transcript.received));
    }
    let code = match result {
        Ok(r) => {
            let pretty = std::io::stdout().is_terminal();
            let text = if pretty {
                serde_json::to_string_pretty(&r.json)
            } else {
                serde_json::to_string(&r.json)
            }
            .expect("a JSON value serialises");
            out.push_str(&text);
            out.push('\n');
            for anomaly in &r.anomalies {
                let (what, cause) = anomaly.explain();
                eprintln!("srpc-check: the reply is malformed: {what}. Likely cause: {cause}");
            }
            let ok = r.anomalies.is_empty() && r.json.get("status") == Some(&"OK".into());
            if ok {
                EXIT_OK
            } else {
                if r.anomalies.is_empty() {
                    eprintln!("srpc-check: the server answered, but not OK");
                }
                EXIT_FAILED
            }
        }
        Err(no) => {
            eprintln!("srpc-check: no reply: {}", no.describe(timeout));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(func: &str, name: &str, value: Option<&str>, string: bool) -> CallArgs {
        CallArgs {
            protocol: crate::cli::ProtocolArg {
                name: "srpc".into(),
            },
            func: Some(func.into()),
            name: Some(name.into()),
            value: value.map(String::from),
            json: None,
            string,
            hex: false,
            target: None,
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn values_are_json_when_they_parse_and_strings_otherwise() {
        assert_eq!(value_of("42", false), Value::from(42));
        assert_eq!(
            value_of("{\"a\": [1]}", false),
            serde_json::json!({"a": [1]})
        );
        assert_eq!(value_of("\"x\"", false), Value::from("x"));
        assert_eq!(value_of("hello world", false), Value::from("hello world"));
        assert_eq!(value_of("42", true), Value::from("42"));
    }

    #[test]
    fn requests_are_the_protocols_and_mistakes_are_usage_errors() {
        let put = payload(&args("put", "k", Some("[1, 2]"), false)).unwrap();
        let put: Value = serde_json::from_slice(&put).unwrap();
        assert_eq!(
            put,
            serde_json::json!({"func": "PUT", "params": {"obj": "k", "val": [1, 2]}})
        );
        let get: Value =
            serde_json::from_slice(&payload(&args("GET", "k", None, false)).unwrap()).unwrap();
        assert_eq!(
            get,
            serde_json::json!({"func": "GET", "params": {"obj": "k"}})
        );
        for bad in [
            args("GET", "k", Some("1"), false),
            args("PUT", "k", None, false),
            args("DEL", "k", None, false),
        ] {
            assert!(matches!(payload(&bad), Err(Error::Usage(_))));
        }
    }
}
