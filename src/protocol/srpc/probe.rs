//! srpc's probe: a request that got no reply (or ERROR), sent again with a big-endian header,
//! tells a server that reads headers that way.

use std::time::Duration;

use super::codec;
use super::reply::{self, NoReply};
use crate::net::conn::{Conn, Transcript};
use crate::runner::{Probe, Trigger};
use crate::suite::Ctx;

/// `{"status": "ERROR"}` as the cases write an actual reply.
pub const ERROR_REPLY: &str = r#"{"status":"ERROR"}"#;

/// The probe, as the engine runs it.
pub static PROBER: crate::protocol::Prober = crate::protocol::Prober {
    refused: ERROR_REPLY,
    send: big_endian,
};

/// Sends the request that got no reply (or ERROR) again, with a big-endian header, and says
/// what that shows about how the server reads headers (and what else goes wrong behind that),
/// and whether anything came back.
pub fn big_endian(ctx: &mut Ctx, payload: &[u8], trigger: Trigger, fresh: bool) -> Probe {
    let frame = codec::request_big_endian(payload);
    let mut probe = Probe {
        case: "",
        trigger,
        text: String::new(),
        answered: false,
        confirmed: false,
        reply_big_endian: false,
        crash: None,
        transcript: Transcript::default(),
        event: None,
    };
    let mut conn = match Conn::connect(ctx.settings.addr, ctx.settings.timeout)
        .map(|c| c.watched(&ctx.settings.watch))
    {
        Ok(c) => c,
        Err(e) => {
            probe.text = format!("a request with a big-endian header could not be sent ({e})");
            return probe;
        }
    };
    let result = reply::exchange(&mut conn, &frame, &[], Duration::ZERO, false);
    let timeout = conn.timeout();
    probe.transcript = ctx.keep(conn);
    probe.answered = !matches!(result, Err(NoReply::Silent(_)));
    let which = match trigger {
        Trigger::Silent => "the request that got no reply",
        Trigger::Error => "the request answered ERROR",
    };
    probe.text = match result {
        Ok(r) => {
            let error = r.status().as_deref() == Some("ERROR");
            probe.confirmed = trigger == Trigger::Silent || !error;
            probe.reply_big_endian = r
                .anomalies
                .contains(&reply::Anomaly::BigEndianHeader);
            let mut found = if probe.confirmed {
                format!(
                    "confirmed: {which}, sent again with a big-endian header, was answered ({}), so the server reads the header as big-endian",
                    crate::words::clip(&r.json.to_string(), 160)
                )
            } else {
                format!(
                    "not big-endian: {which}, sent again with a big-endian header, was answered ERROR too"
                )
            };
            let mut behind: Vec<String> = r.anomalies.iter().map(|a| a.explain().0).collect();
            if error && probe.confirmed {
                behind.push("even then it answers ERROR, so what it does after reading the header fails too (for example json.loads on what it already decoded)".into());
            }
            if !behind.is_empty() {
                found.push_str(&format!("; behind that: {}", behind.join("; ")));
            }
            found
        }
        // It read the whole request that way and acted on it, where the request as clients
        // send it left it waiting.
        Err(e) if trigger == Trigger::Silent && !matches!(e, NoReply::Silent(_)) => {
            probe.confirmed = true;
            format!(
                "confirmed: {which}, sent again with a big-endian header, was read to its end and acted on instead of waited on ({}), so the server reads the header as big-endian",
                e.describe(timeout)
            )
        }
        Err(NoReply::Silent(_)) if fresh => format!(
            "not big-endian: {which}, sent again with a big-endian header, got no reply within {} either, so the server waits for something else",
            humantime::format_duration(timeout)
        ),
        Err(NoReply::Silent(_)) => format!("{which}, sent again with a big-endian header, got no reply either; a server that serves one connection at a time may still be stuck on the earlier one, so this does not rule the cause out"),
        Err(e) => format!("{which}, sent again with a big-endian header: {}", e.describe(timeout)),
    };
    probe
}
