//! Frames built by the harness's encoder decode identically in the reference server's decoder:
//! the same frame boundaries, the same request, and a value that means the same thing.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use reference_server::command::{parse_request, Command};
use reference_server::frame::{decode, Decoded, HEADER_LEN};
use reference_server::json;
use serde_json::Value;
use srpc_check::model::{self, Compare};
use srpc_check::wire;
use srpc_check_fuzz::json_value;

srpc_check_fuzz::asan_defaults!();

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(name), Ok(val)) = (u.arbitrary::<String>(), json_value(&mut u, 0)) else {
        return;
    };
    let payload = model::put_request(&Value::String(name.clone()), &val);
    let frame = wire::request(&payload);
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
    let echoed: Value = serde_json::from_slice(&json::dumps(&obj)).unwrap();
    assert_eq!(echoed, Value::String(name));
    let stored: Value = serde_json::from_slice(&json::dumps(&decoded)).unwrap();
    assert_eq!(
        model::compare(&val, &stored),
        Compare::Equal,
        "{val} came back as {stored}"
    );
});
