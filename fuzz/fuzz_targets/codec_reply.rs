//! Whatever the harness can store, the reference server's encoder writes it back in a form the
//! harness's reader and model take for the very same value. This is the way back of
//! codec_differential: a GET reply carries the stored value as the server's `json.dumps` wrote
//! it (ASCII escapes, Python's float repr, big integers), and the harness must not see a
//! difference a conforming server did not make.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use reference_server::json;
use serde_json::Value;
use srpc_check::protocol::srpc::oracle::{self, Compare};
use srpc_check_fuzz::{as_python, json_value};

srpc_check_fuzz::asan_defaults!();

fuzz_target!(|data: &[u8]| {
    let Ok(val) = json_value(&mut Unstructured::new(data), 0) else {
        return;
    };
    let written = json::dumps(&as_python(&val));
    let read: Value = serde_json::from_slice(&written).unwrap_or_else(|e| {
        panic!(
            "the harness cannot read the server's {}: {e}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(
        oracle::compare(&val, &read),
        Compare::Equal,
        "{val} came back as {}",
        String::from_utf8_lossy(&written)
    );
});
