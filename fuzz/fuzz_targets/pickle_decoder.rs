//! The lab 3 pickle readers, the harness's and the reference server's, on any bytes: neither
//! panics; -malloc_limit_mb catches a decode that allocates beyond what its input bounds (a
//! memo lookup copies what it names); nothing the harness decodes contains an opcode that names
//! or calls a Python object, by the reference server's independent walk; and the reference
//! server acknowledges only a whole student info the harness reads as one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::handshake::pickle::{walk, Walk};
use reference_server::{Handshake, Protocol, Step};
use srpc_check::protocol::handshake::pickle::{self, Read};

srpc_check_fuzz::asan_defaults!();

fuzz_target!(|data: &[u8]| {
    let read = pickle::read(data);
    if let Read::Value(value, end) = &read {
        assert!(
            !matches!(walk(&data[..*end]), Walk::Refused(..)),
            "the harness decoded a pickle that names an object: {data:?}"
        );
        // Showing it never panics either.
        let _ = pickle::repr(value);
    }
    if let Step::Answer { consumed, .. } = Handshake.step(data, 1 << 20) {
        assert!(
            matches!(read, Read::Value(_, end) if end == consumed),
            "the server acknowledged what the harness does not read as one pickle: {data:?}"
        );
    }
});
