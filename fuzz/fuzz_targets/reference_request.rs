//! Any bytes as a frame and as a request payload: the reference server's decoders never panic,
//! and every reply is either the ERROR reply or an OK reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::{command::ERROR_REPLY, frame, respond, Db};

fuzz_target!(|data: &[u8]| {
    let _ = frame::decode(data, 1 << 20);
    let reply = respond(&Db::new(), data);
    assert!(reply == ERROR_REPLY || reply.starts_with(br#"{"status": "OK", "response": "#));
});
