//! The lab 4 codecs, the harness's and the reference server's, against each other: on any bytes
//! they agree where a message ends, and every reply the reference server builds (for a binary
//! request of any content) is a whole message the harness reads with the tutorial's header and
//! exactly the content the harness's oracle expects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::app::frame::{decode, Decoded};
use reference_server::{App, Protocol, Step};
use srpc_check::protocol::app::{codec, oracle};

srpc_check_fuzz::asan_defaults!();

const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    // Raw bytes: both read the same message boundaries, and the server never panics.
    if let Ok(Decoded::Message(m)) = decode(data, CAP) {
        if let Some((_, _, end)) = codec::boundaries(data) {
            assert_eq!(end, m.end, "{:?}", String::from_utf8_lossy(data));
        }
    }
    let _ = App.step(data, CAP);
    // The same bytes as a binary request's content.
    let request = codec::binary(data);
    let Step::Reply { reply, .. } = App.step(&request, CAP) else {
        // Only a double or negate whose result leaves 32 bits closes unanswered.
        assert!(data.len() == 10 && (data.starts_with(b"double") || data.starts_with(b"negate")));
        return;
    };
    let m = codec::parse(&reply, true).expect("a whole message");
    assert_eq!(m.header_problem(), None, "{}", m.header_text);
    let command = <[u8; 10]>::try_from(data).ok().and_then(|c| {
        let name: [u8; 6] = c[..6].try_into().expect("6 bytes");
        let n = i32::from_be_bytes(c[6..].try_into().expect("4 bytes"));
        matches!(&name, b"double" | b"negate").then(|| oracle::compute(&name, n))
    });
    let expected = match command {
        Some(Some(value)) => oracle::command(value),
        Some(None) => unreachable!("answered a result outside 32 bits"),
        None => oracle::echo(data),
    };
    assert_eq!(m.content, expected.content);
    assert_eq!(m.text("content-type"), Some(expected.content_type));
});
