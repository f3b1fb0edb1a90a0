//! The three scenarios the lab's autograder runs, with its value. Because they mirror the
//! autograder, a bug it would catch (such as state that does not persist) fails here as well as
//! in its own group.

use serde_json::Value;

use super::{judge, stored_hint, Case, Ctx, Group, Status, Verdict};
use crate::codes::Code;
use crate::protocol::srpc::codec::{Header, HEADER_LEN, MAX_REPLY};
use crate::protocol::srpc::findings::SrpcCode;
use crate::protocol::srpc::oracle::{self, json};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "grading/get-missing",
            group: Group::Grading,
            description: "GET of a name never stored",
            requirement: "A GET of a missing object answers status OK with \"val\": null (the lab's provided code).",
            run: get_missing,
        },
        Case {
            id: "grading/put",
            group: Group::Grading,
            description: "PUT of the lab's value {\"val1\": 111, \"val2\": 222}",
            requirement: "A PUT answers {\"status\": \"OK\", \"response\": {\"func\": \"PUT\", \"response\": {\"obj\": NAME, \"response\": \"ok\"}}}.",
            run: put,
        },
        Case {
            id: "grading/get-existing",
            group: Group::Grading,
            description: "GET of the lab's value after a PUT",
            requirement: "A GET of a stored object answers status OK with the stored value.",
            run: get_existing,
        },
    ]
}

fn lab_value() -> Value {
    json(r#"{"val1": 111, "val2": 222}"#)
}

/// What the lab's provided client makes of the bytes a server sent: one `recv(8)`,
/// `struct.unpack("ii")` (little-endian), one `recv(length)` (which returns what arrived before
/// the close, so a length that is a little too long still works), `.decode()`, `json.loads`.
/// The error says, in the client's terms, why it could not get a reply.
pub fn lab_client_reads(received: &[u8]) -> Result<Value, String> {
    if received.len() < HEADER_LEN {
        return Err(format!(
            "it reads an 8-byte header first, and only {} arrived: struct.unpack raises struct.error",
            crate::words::count(received.len(), "byte")
        ));
    }
    let header: [u8; HEADER_LEN] = received[..HEADER_LEN].try_into().expect("8 bytes");
    let (le, be) = (Header::parse(&header), Header::parse_be(&header));
    if le.version != 1 && be.version == 1 {
        return Err(format!(
            "the header is big-endian (version 1 and length {} only when read big-endian); the client unpacks it little-endian and asks recv() for {} bytes",
            be.length, le.length
        ));
    }
    let length = match usize::try_from(le.length) {
        Err(_) => {
            return Err(format!(
                "the header declares length {}, and recv() with a negative length raises ValueError",
                le.length
            ))
        }
        Ok(n) if n > MAX_REPLY => {
            return Err(format!(
                "the header declares {n} bytes (as the client reads it, little-endian), more than it can allocate; is there a header at all?"
            ))
        }
        Ok(n) => n,
    };
    let payload = &received[HEADER_LEN..received.len().min(HEADER_LEN + length)];
    let text = std::str::from_utf8(payload)
        .map_err(|e| format!(".decode() raises UnicodeDecodeError: {e}"))?;
    serde_json::from_str(text).map_err(|e| {
        if text.is_empty() {
            "the payload it reads is empty, and json.loads('') raises JSONDecodeError".into()
        } else {
            format!(
                "json.loads raises JSONDecodeError on the {} bytes it reads: {e}",
                payload.len()
            )
        }
    })
}

/// The bytes as text, with every byte that is not printable ASCII written `\xNN`, as
/// Python writes a bytes object.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\\' => "\\\\".to_owned(),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// Sends `payload` and judges the reply as the lab's autograder does: read by the lab's client,
/// then compared under Python's `==`. The tolerant reader's anomalies explain a failure.
fn lab_call(ctx: &mut Ctx, payload: &[u8], expected: &Value) -> Result<(Verdict, Value), Verdict> {
    let reply = ctx.call(payload)?;
    let received = ctx
        .exchanges
        .last()
        .map(|t| t.received.clone())
        .unwrap_or_default();
    let explain = |v: Verdict| match reply.anomalies.first() {
        Some(a) if v.status == Status::Fail => v.because(super::anomaly_code(a), a.explain().1),
        _ => v,
    };
    match lab_client_reads(&received) {
        Err(why) => Err(explain(
            Verdict::fail(format!("the lab's client cannot read this reply: {why}"))
                .expected(expected.to_string())
                .actual(printable(&received)),
        )),
        Ok(got) => {
            let v = judge(expected, &got);
            let v = match (&got, v.status) {
                (Value::String(_), Status::Fail) => Verdict {
                    message: format!(
                        "the lab's client gets a string, not an object: {}",
                        v.message
                    ),
                    ..v
                },
                _ => v,
            };
            Ok((explain(v), got))
        }
    }
}

fn get_missing(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let expected = oracle::get_reply(&name, &Value::Null);
    let (verdict, got) = match lab_call(ctx, &oracle::get_request(&name), &expected) {
        Ok(r) => r,
        Err(v) => return v,
    };
    if got == oracle::error_reply() {
        let v = if ctx.settings.allow_missing_error {
            Verdict::new(
                Status::Pass,
                "answered ERROR, accepted by --allow-missing-error",
            )
        } else {
            Verdict::fail("a GET of a missing name was answered with ERROR")
                .because(Code::Srpc(SrpcCode::MissingIsError), "the lab's test comments this call \"Should be Error\", but the provided code the autograder runs answers {\"obj\": NAME, \"val\": null}; return dictionary.get(name) (or pass --allow-missing-error if your course wants ERROR)")
        };
        return v.expected(expected.to_string()).actual(got.to_string());
    }
    verdict
}

fn put(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    match lab_call(
        ctx,
        &oracle::put_request(&name, &lab_value()),
        &oracle::put_reply(&name),
    ) {
        Ok((v, _)) | Err(v) => v,
    }
}

fn get_existing(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let put = match lab_call(
        ctx,
        &oracle::put_request(&name, &lab_value()),
        &oracle::put_reply(&name),
    ) {
        Ok((v, _)) | Err(v) => v,
    };
    if put.status == Status::Fail {
        return Verdict {
            message: format!("the PUT before the check failed: {}", put.message),
            ..put
        };
    }
    let expected = oracle::get_reply(&name, &lab_value());
    match lab_call(ctx, &oracle::get_request(&name), &expected) {
        Ok((v, got)) => match stored_hint(&lab_value(), &got) {
            Some((code, h)) if v.status == Status::Fail => v.because(code, h),
            _ => v,
        },
        Err(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srpc::codec::frame;

    const REPLY: &str = r#"{"status": "OK", "response": {"func": "PUT", "response": {"obj": "k", "response": "ok"}}}"#;

    fn expected() -> Value {
        json(REPLY)
    }

    fn verdict_of(bytes: &[u8]) -> Result<Status, String> {
        lab_client_reads(bytes).map(|got| judge(&expected(), &got).status)
    }

    #[test]
    fn a_correct_reply_passes() {
        assert_eq!(
            verdict_of(&frame(1, REPLY.len() as i32, REPLY.as_bytes())),
            Ok(Status::Pass)
        );
    }

    #[test]
    fn a_reply_without_header_fails() {
        let err = verdict_of(REPLY.as_bytes()).unwrap_err();
        assert!(err.contains("is there a header"), "{err}");
    }

    #[test]
    fn a_big_endian_header_fails_and_is_named() {
        let err = verdict_of(&crate::protocol::srpc::codec::request_big_endian(
            REPLY.as_bytes(),
        ))
        .unwrap_err();
        assert!(err.contains("big-endian"), "{err}");
    }

    #[test]
    fn a_double_encoded_reply_fails() {
        let text = serde_json::to_string(REPLY).unwrap();
        assert_eq!(
            verdict_of(&frame(1, text.len() as i32, text.as_bytes())),
            Ok(Status::Fail)
        );
    }

    #[test]
    fn a_lower_case_status_fails() {
        let text = REPLY.replace("\"OK\"", "\"ok\"");
        assert_eq!(
            verdict_of(&frame(1, text.len() as i32, text.as_bytes())),
            Ok(Status::Fail)
        );
    }

    #[test]
    fn a_length_one_too_long_passes_as_the_lab_client_reads_what_arrived() {
        assert_eq!(
            verdict_of(&frame(1, REPLY.len() as i32 + 1, REPLY.as_bytes())),
            Ok(Status::Pass)
        );
    }

    #[test]
    fn a_length_one_too_short_fails() {
        assert!(verdict_of(&frame(1, REPLY.len() as i32 - 1, REPLY.as_bytes())).is_err());
    }

    #[test]
    fn short_and_negative_headers_fail() {
        assert!(verdict_of(&[1, 0, 0]).unwrap_err().contains("struct.error"));
        assert!(verdict_of(&frame(1, -5, b"{}"))
            .unwrap_err()
            .contains("ValueError"));
    }

    #[test]
    fn a_float_for_an_integer_is_equal_under_python_eq_and_only_warns() {
        let want = json(
            r#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "k", "val": {"val1": 111}}}}"#,
        );
        let text = r#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "k", "val": {"val1": 111.0}}}}"#;
        let got = lab_client_reads(&frame(1, text.len() as i32, text.as_bytes())).unwrap();
        assert_eq!(judge(&want, &got).status, Status::Warn);
        let text = text.replace("111.0", "112");
        let got = lab_client_reads(&frame(1, text.len() as i32, text.as_bytes())).unwrap();
        assert_eq!(judge(&want, &got).status, Status::Fail);
    }
}
