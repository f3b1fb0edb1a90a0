//! srpc's cases, one file per group, and the verifiers they share: each case is a few lines
//! that give every failure its expected value, actual value and likely cause.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use super::findings::SrpcCode;
use super::oracle::{self, Compare};
use super::reply::{self, Anomaly, NoReply, Reply};
use crate::codes::Code;
use crate::net::conn::{Conn, ConnectError};
use crate::suite::{over_budget, Case, Ctx, Group, Status, Verdict};

mod concurrency;
mod fragment;
mod grading;
mod protocol;
mod robust;
mod state;

/// Every case, in run order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(grading::cases());
    cases.extend(protocol::cases());
    cases.extend(state::cases());
    cases.extend(fragment::cases());
    cases.extend(concurrency::cases());
    cases.extend(robust::cases());
    cases
}

/// srpc's exchanges, on the engine's context.
impl Ctx {
    /// Sends `payload` as one well-formed frame, in pieces cut at `cuts`, and reads the reply.
    /// The outer error is a failed connect; the inner one says how the reply failed.
    pub fn exchange(
        &mut self,
        payload: &[u8],
        cuts: &[usize],
        pause: Duration,
    ) -> Result<Result<Reply, NoReply>, Verdict> {
        let mut conn = self.connect()?;
        let result = reply::exchange(
            &mut conn,
            &crate::protocol::srpc::codec::request(payload),
            cuts,
            pause,
            false,
        );
        self.delayed = conn.delayed_by();
        self.keep(conn);
        Ok(result)
    }

    /// Like [`Ctx::exchange`], with a missing reply turned into a failure.
    pub fn call_split(
        &mut self,
        payload: &[u8],
        cuts: &[usize],
        pause: Duration,
    ) -> Result<Reply, Verdict> {
        let timeout = self.settings.timeout;
        let result = self.exchange(payload, cuts, pause)?;
        if let Ok(reply) = &result {
            // Sent whole: an ERROR to a split request says nothing about the byte order.
            if self.errored.is_none()
                && cuts.is_empty()
                && reply.status().as_deref() == Some("ERROR")
            {
                self.errored = Some(payload.to_vec());
            }
        }
        result.map_err(|e| {
            let v = no_reply_verdict(&e, timeout);
            if !matches!(e, NoReply::Silent(_)) {
                return v;
            }
            if self.silent.is_none() {
                self.silent = Some(payload.to_vec());
            }
            v.hint(big_endian_reading(payload))
        })
    }

    /// Sends `payload` as one well-formed frame in a single write, and reads the reply.
    pub fn call(&mut self, payload: &[u8]) -> Result<Reply, Verdict> {
        self.call_split(payload, &[], Duration::ZERO)
    }

    /// Calls and compares the reply's meaning with `expected`.
    pub fn expect(&mut self, payload: &[u8], expected: &Value) -> Verdict {
        match self.call(payload) {
            Ok(reply) => judge(expected, &reply.json),
            Err(v) => v,
        }
    }

    /// PUTs `val` under `name` and checks the reply, as setup for a later step.
    pub fn put(&mut self, name: &Value, val: &Value) -> Result<(), Verdict> {
        let v = self.expect(&oracle::put_request(name, val), &oracle::put_reply(name));
        match v.status {
            Status::Pass | Status::Warn => Ok(()),
            _ => Err(Verdict {
                message: format!("the PUT before the check failed: {}", v.message),
                ..v
            }),
        }
    }

    /// GETs `name` and checks that the reply carries `val`, explaining the usual state bugs.
    pub fn expect_stored(&mut self, name: &Value, val: &Value) -> Verdict {
        let expected = oracle::get_reply(name, val);
        let reply = match self.call(&oracle::get_request(name)) {
            Ok(r) => r,
            Err(v) => return v,
        };
        let verdict = judge(&expected, &reply.json);
        match stored_hint(val, &reply.json) {
            Some((code, h)) if verdict.status == Status::Fail => verdict.because(code, h),
            _ => verdict,
        }
    }

    /// PUTs 1 under a fresh name on a new connection, keeping its transcript: what
    /// [`Ctx::liveness`] and [`Ctx::alive`] judge.
    pub(crate) fn fresh_put(&mut self) -> Result<Result<Reply, NoReply>, ConnectError> {
        let name = self.key();
        let mut conn =
            Conn::connect(self.settings.addr, self.settings.timeout)?.watched(&self.settings.watch);
        let request =
            crate::protocol::srpc::codec::request(&oracle::put_request(&name, &Value::from(1)));
        let result = reply::exchange(&mut conn, &request, &[], Duration::ZERO, false);
        self.keep(conn);
        Ok(result)
    }
}

/// A GET of a name no one stores: is the reply an srpc frame with a status?
pub fn sniff(addr: SocketAddr, timeout: Duration, watch: &crate::observe::Watch) -> bool {
    let Ok(conn) = Conn::connect(addr, timeout) else {
        return false;
    };
    let mut conn = conn.watched(watch);
    let name = Value::from(format!("srpc-check-sniff-{:x}", fastrand::u32(..)));
    let request = crate::protocol::srpc::codec::request(&oracle::get_request(&name));
    matches!(
        reply::exchange(&mut conn, &request, &[], Duration::ZERO, false),
        Ok(r) if r.status().is_some() && r.anomalies.is_empty()
    )
}

/// srpc's fresh request: a PUT of a fresh name, answered OK.
pub fn fresh_put(ctx: &mut Ctx) -> crate::protocol::Fresh {
    use crate::protocol::Fresh;
    match ctx.fresh_put() {
        Err(e) => Fresh::Connect(e),
        Ok(Err(e)) => Fresh::NoReply(e),
        Ok(Ok(r)) => Fresh::Answered {
            right: r.status().as_deref() == Some("OK"),
            shown: format!("not answered OK: {}", r.json),
        },
    }
}

/// Why a GET of a stored name came back with `got` instead of `val`, for the usual state bugs.
pub fn stored_hint(val: &Value, got: &Value) -> Option<(Code, &'static str)> {
    let numbers = |a: &Value, b: &Value| {
        a.is_number() && b.is_number()
            || a.as_array().zip(b.as_array()).is_some_and(|(a, b)| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_number() && y.is_number())
            })
    };
    match got.pointer("/response/response/val") {
        Some(g) if numbers(val, g) => Some((
            Code::Srpc(SrpcCode::NumbersChanged),
            "a number came back as a different number: is it converted (int(), float(), round()) on the way in or out?",
        )),
        Some(Value::Null) => Some((
            Code::Srpc(SrpcCode::StoreNotKept),
            "the value is gone: a GET on a new connection does not see the PUT. Is the dictionary created inside the code that handles one connection, instead of once for the whole server?",
        )),
        Some(Value::String(s)) if !val.is_string() && !s.is_empty() => Some((
            Code::Srpc(SrpcCode::ValueStringified),
            "the value came back as a string: does your server store str(val) or json.dumps(val) instead of the value itself?",
        )),
        Some(Value::Object(got)) if val.is_object() && got.len() > val.as_object().map_or(0, |o| o.len()) => Some((
            Code::Srpc(SrpcCode::PutMerges),
            "the GET returned more keys than the last PUT stored: PUT seems to merge into the old value (dict.update?) instead of replacing it",
        )),
        Some(_) => Some((Code::Srpc(SrpcCode::ValueChanged), "the value came back changed")),
        None => None,
    }
}

/// Compares a reply's meaning with what was expected.
pub fn judge(expected: &Value, actual: &Value) -> Verdict {
    let v = match oracle::compare(expected, actual) {
        Compare::Equal => return Verdict::pass(),
        Compare::TypeChanged(why) => Verdict::new(Status::Warn, format!("equal under Python's ==, but a type changed: {why}"))
            .because(Code::Srpc(SrpcCode::NumberTypeChanged), "the value is stored or re-encoded with a different type (for example an integer turned into a float); the lab's grader compares with == and accepts it"),
        Compare::Different(why) => Verdict::fail(oracle::difference(expected, actual, why)),
    };
    v.expected(expected.to_string()).actual(actual.to_string())
}

/// Turns a missing reply into a failure with the usual causes.
pub fn no_reply_verdict(e: &NoReply, timeout: Duration) -> Verdict {
    let v = Verdict::fail(e.describe(timeout));
    match e {
        NoReply::ClosedSilently | NoReply::Reset => {
            v.hint("the server closed the connection without answering: it probably raised an exception while handling this request")
        }
        NoReply::Silent(_) => v.hint("the server is still waiting for something: it may be reading more bytes than the request has, or serving another connection"),
        NoReply::Garbled { .. } => v,
    }
}

/// What a server that reads the request header as big-endian makes of the one just sent.
pub fn big_endian_reading(payload: &[u8]) -> String {
    let frame = crate::protocol::srpc::codec::request(payload);
    let header =
        crate::protocol::srpc::codec::Header::parse_be(frame[..8].try_into().expect("8 bytes"));
    let be = header.length;
    format!(
        "read as big-endian ('>ii' or '!II'), our header declares {be} bytes, and a server that reads it that way waits for them; the header is struct.pack(\"ii\", ...): little-endian"
    )
}

/// Fails when the reply shows one of `kinds` of anomaly (checked by the protocol group only).
pub fn no_anomaly(reply: &Reply, kinds: fn(&Anomaly) -> bool) -> Verdict {
    match reply.anomalies.iter().find(|a| kinds(a)) {
        None => Verdict::pass(),
        Some(a) => {
            let (what, why) = a.explain();
            Verdict::fail(what).because(anomaly_code(a), why)
        }
    }
}

/// The bug behind an anomaly in a reply's form.
pub fn anomaly_code(a: &Anomaly) -> Code {
    match a {
        Anomaly::BigEndianHeader => Code::Srpc(SrpcCode::ReplyBigEndian),
        Anomaly::NoHeader => Code::Srpc(SrpcCode::ReplyNoHeader),
        Anomaly::Version(_) => Code::Srpc(SrpcCode::ReplyVersion),
        Anomaly::LengthTooShort {
            declared,
            chars,
            actual,
        } if declared == chars && chars != actual => Code::Srpc(SrpcCode::ReplyLengthCountsChars),
        Anomaly::LengthTooLong { .. } | Anomaly::LengthTooShort { .. } => {
            Code::Srpc(SrpcCode::ReplyLengthWrong)
        }
        Anomaly::DoubleEncoded => Code::Srpc(SrpcCode::ReplyDoubleEncoded),
        Anomaly::StatusCase(_) => Code::Srpc(SrpcCode::StatusSpelling),
    }
}
