//! Requests built by the harness's encoder decode identically in the reference server's
//! decoder: the same frame boundaries, the same request, and the very value Python's
//! `json.loads` would make of it (a float with the same bits, an integer with every digit, a
//! string with the same UTF-16, keys in the same order). The way back, the server's encoder
//! read by the harness, is codec_reply's.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use reference_server::command::{parse_request, Command};
use reference_server::frame::{decode, Decoded, HEADER_LEN};
use reference_server::json;
use serde_json::Value;
use srpc_check::protocol::srpc::codec;
use srpc_check::protocol::srpc::oracle;
use srpc_check_fuzz::{holds, json_value};

srpc_check_fuzz::asan_defaults!();

fuzz_target!(|data: &[u8]| {
    let Ok(val) = json_value(&mut Unstructured::new(data), 0) else {
        return;
    };
    let payload = oracle::put_request(&Value::String("k".into()), &val);
    let frame = codec::request(&payload);
    assert_eq!(
        decode(&frame, usize::MAX),
        Ok(Decoded::Frame {
            version: 1,
            len: payload.len()
        })
    );
    assert_eq!(&frame[HEADER_LEN..], &payload[..]);
    let Ok(Command::Put {
        obj, val: decoded, ..
    }) = parse_request(&payload)
    else {
        panic!(
            "the reference server rejects the harness's PUT: {}",
            String::from_utf8_lossy(&payload)
        );
    };
    assert_eq!(obj, json::Value::Str(vec![u16::from(b'k')]));
    assert!(
        holds(&decoded, &val),
        "{val} was read as {}",
        String::from_utf8_lossy(&json::dumps(&decoded))
    );
});
