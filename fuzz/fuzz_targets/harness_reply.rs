//! Whatever a hostile server sends, in whatever pieces, the harness's reply reader and its
//! diagnoses neither panic nor hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use srpc_check::net::conn::ReadStatus;
use srpc_check::protocol::srpc::reply::{read, Scripted};

srpc_check_fuzz::asan_defaults!();

fuzz_target!(|input: (Vec<Vec<u8>>, u8)| {
    let (chunks, end) = input;
    let end = match end % 3 {
        0 => ReadStatus::Eof,
        1 => ReadStatus::Reset,
        _ => ReadStatus::Timeout,
    };
    match read(&mut Scripted::new(chunks, end)) {
        Ok(reply) => {
            for a in &reply.anomalies {
                let _ = a.explain();
            }
            let _ = reply.status();
        }
        Err(e) => {
            let _ = e.describe(std::time::Duration::from_secs(1));
        }
    }
});
