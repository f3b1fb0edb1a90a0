//! `srpc-check call` in srpc: GET NAME, PUT NAME VALUE or a payload of `--json`, and the reply
//! printed as JSON.

use std::io::IsTerminal;
use std::time::Duration;

use serde_json::Value;

use super::{codec, oracle, reply};
use crate::cli::CallArgs;
use crate::net::conn::Conn;

/// How the registry calls it.
pub static CALL: crate::protocol::Caller = crate::protocol::Caller {
    request: |args| Ok(codec::request(&payload(args)?)),
    reply: show_reply,
};

/// The payload `args` asks for: GET NAME, PUT NAME VALUE, or --json as given.
pub fn payload(args: &CallArgs) -> Result<Vec<u8>, String> {
    if let Some(text) = &args.json {
        return Ok(text.clone().into_bytes());
    }
    let usage = |m: &str| Err(m.to_owned());
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
pub fn value_of(text: &str, string: bool) -> Value {
    if string {
        return Value::String(text.to_owned());
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Reads the reply: the JSON it carries, pretty on a terminal, and whether it is a well-formed
/// OK (what is wrong with it goes to stderr).
fn show_reply(conn: &mut Conn, timeout: Duration) -> Result<(String, bool), String> {
    let r = reply::read(conn).map_err(|no| no.describe(timeout))?;
    let pretty = std::io::stdout().is_terminal();
    let mut out = if pretty {
        serde_json::to_string_pretty(&r.json)
    } else {
        serde_json::to_string(&r.json)
    }
    .expect("a JSON value serialises");
    out.push('\n');
    for anomaly in &r.anomalies {
        let (what, cause) = anomaly.explain();
        eprintln!("srpc-check: the reply is malformed: {what}. Likely cause: {cause}");
    }
    let ok = r.anomalies.is_empty() && r.json.get("status") == Some(&"OK".into());
    if !ok && r.anomalies.is_empty() {
        eprintln!("srpc-check: the server answered, but not OK");
    }
    Ok((out, ok))
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
            assert!(payload(&bad).is_err());
        }
    }
}
