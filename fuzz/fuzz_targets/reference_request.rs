//! Any bytes as a frame and as a request payload: the reference server's decoders never panic,
//! never allocate by a declared length (run with -malloc_limit_mb), and every reply is either
//! the ERROR reply or an OK reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::frame::{decode, Decoded, HEADER_LEN};
use reference_server::{command::ERROR_REPLY, respond, Db};

srpc_check_fuzz::asan_defaults!();

fuzz_target!(|data: &[u8]| {
    let db = Db::new();
    let payload = match decode(data, 1 << 20) {
        Ok(Decoded::Frame { len, .. }) => &data[HEADER_LEN..HEADER_LEN + len],
        _ => data,
    };
    let reply = respond(&db, payload);
    assert!(reply == ERROR_REPLY || reply.starts_with(br#"{"status": "OK", "response": "#));
});
