//! From a request payload to a reply payload: what the lab's `make_call` does, with every
//! exception it could raise turned into `{"status": "ERROR"}`.
//!
//! The rule is: where the lab's server answers, answer byte for byte the same; where it would
//! raise (and so die), answer ERROR and carry on. That is why, for example, an unknown func with
//! params that are not an object still gets the lab's "Function doesn't exist" reply: the lab
//! never looks inside params for an unknown func.

use std::sync::Arc;

use super::db::{Db, Key};
use crate::json::{self, Value};

/// The reply to anything malformed.
pub const ERROR_REPLY: &[u8] = br#"{"status": "ERROR"}"#;

/// A request the server can carry out.
#[derive(Debug, PartialEq)]
pub enum Command {
    Get { obj: Value, key: Key },
    Put { obj: Value, key: Key, val: Value },
    Unknown { func: Value },
}

/// Why a request cannot be carried out (each is an exception in the lab's server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Json(&'static str),
    NotAnObject,
    MissingFunc,
    MissingParams,
    ParamsNotAnObject,
    MissingObj,
    MissingVal,
    UnhashableObj,
}

impl Command {
    /// Interprets a decoded payload, checking fields in the order the lab's code touches them.
    pub fn from_value(msg: Value) -> Result<Command, Malformed> {
        let Value::Object(mut members) = msg else {
            return Err(Malformed::NotAnObject);
        };
        let func = take(&mut members, "func").ok_or(Malformed::MissingFunc)?;
        let params = take(&mut members, "params").ok_or(Malformed::MissingParams)?;
        let is = |name: &str| matches!(&func, Value::Str(s) if s.iter().copied().eq(name.encode_utf16()));
        if !is("GET") && !is("PUT") {
            return Ok(Command::Unknown { func });
        }
        let Value::Object(mut params) = params else {
            return Err(Malformed::ParamsNotAnObject);
        };
        let obj = take(&mut params, "obj").ok_or(Malformed::MissingObj)?;
        if is("GET") {
            let key = Key::from_value(&obj).ok_or(Malformed::UnhashableObj)?;
            Ok(Command::Get { obj, key })
        } else {
            let val = take(&mut params, "val").ok_or(Malformed::MissingVal)?;
            let key = Key::from_value(&obj).ok_or(Malformed::UnhashableObj)?;
            Ok(Command::Put { obj, key, val })
        }
    }

    /// Carries the command out against `db` and returns the reply payload.
    pub fn apply(self, db: &Db) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        match self {
            Command::Get { obj, key } => {
                out.extend_from_slice(
                    br#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "#,
                );
                json::dump(&obj, &mut out);
                out.extend_from_slice(br#", "val": "#);
                match db.get(&key) {
                    Some(stored) => out.extend_from_slice(&stored),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b"}}}");
            }
            Command::Put { obj, key, val } => {
                db.put(key, Arc::from(json::dumps(&val)));
                out.extend_from_slice(
                    br#"{"status": "OK", "response": {"func": "PUT", "response": {"obj": "#,
                );
                json::dump(&obj, &mut out);
                out.extend_from_slice(br#", "response": "ok"}}}"#);
            }
            Command::Unknown { func } => {
                out.extend_from_slice(br#"{"status": "OK", "response": {"func": "#);
                json::dump(&func, &mut out);
                out.extend_from_slice(br#", "response": "ERROR - Function doesn't exist"}}"#);
            }
        }
        out
    }
}

fn take(members: &mut Vec<(Vec<u16>, Value)>, name: &str) -> Option<Value> {
    let pos = members
        .iter()
        .position(|(k, _)| k.iter().copied().eq(name.encode_utf16()))?;
    Some(members.swap_remove(pos).1)
}

/// Parses a request payload and carries it out: the whole application layer in one call.
pub fn respond(db: &Db, payload: &[u8]) -> Vec<u8> {
    match parse_request(payload) {
        Ok(cmd) => cmd.apply(db),
        Err(_) => ERROR_REPLY.to_vec(),
    }
}

/// Decodes and interprets a request payload without touching any store.
pub fn parse_request(payload: &[u8]) -> Result<Command, Malformed> {
    let msg = json::parse(payload).map_err(|e| Malformed::Json(e.reason))?;
    Command::from_value(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(db: &Db, req: &str) -> String {
        String::from_utf8(respond(db, req.as_bytes())).unwrap()
    }

    #[test]
    fn lab_reply_shapes() {
        let db = Db::new();
        assert_eq!(
            call(&db, r#"{"func":"GET","params":{"obj":"ABC"}}"#),
            r#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "ABC", "val": null}}}"#
        );
        assert_eq!(
            call(
                &db,
                r#"{"func":"PUT","params":{"obj":"ABC","val":{"val1":111,"val2":222}}}"#
            ),
            r#"{"status": "OK", "response": {"func": "PUT", "response": {"obj": "ABC", "response": "ok"}}}"#
        );
        assert_eq!(
            call(&db, r#"{"params":{"obj":"ABC"},"func":"GET"}"#),
            r#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "ABC", "val": {"val1": 111, "val2": 222}}}}"#
        );
        assert_eq!(
            call(&db, r#"{"func":"DEL","params":7}"#),
            r#"{"status": "OK", "response": {"func": "DEL", "response": "ERROR - Function doesn't exist"}}"#
        );
    }

    #[test]
    fn every_exception_of_the_lab_is_an_error_reply() {
        let db = Db::new();
        for req in [
            "not json",
            "[1,2]",
            "{}",
            r#"{"params":{}}"#,
            r#"{"func":"GET"}"#,
            r#"{"func":"GET","params":[1]}"#,
            r#"{"func":"GET","params":{}}"#,
            r#"{"func":"PUT","params":{"obj":"a"}}"#,
            r#"{"func":"PUT","params":{"val":1}}"#,
            r#"{"func":"PUT","params":{"obj":[1],"val":1}}"#,
            r#"{"func":"GET","params":{"obj":{}}}"#,
        ] {
            assert_eq!(call(&db, req), r#"{"status": "ERROR"}"#, "request {req}");
        }
        assert!(db.is_empty());
    }

    #[test]
    fn python_equal_names_share_a_slot_but_echo_their_own_spelling() {
        let db = Db::new();
        call(&db, r#"{"func":"PUT","params":{"obj":1,"val":"one"}}"#);
        assert_eq!(
            call(&db, r#"{"func":"GET","params":{"obj":true}}"#),
            r#"{"status": "OK", "response": {"func": "GET", "response": {"obj": true, "val": "one"}}}"#
        );
    }
}
