//! Differential test for the app protocol (lab 4): random well-formed requests get
//! byte-identical replies from the reference server (`--protocol app`) and from a server in the
//! tutorial's own style (selectors, `libserver.Message`, CPython's `json` and `struct`): srpc-check's
//! correct lab 4 fixture.

mod common;

use std::process::Command;

use common::*;
use proptest::prelude::*;
use reference_server::{App, Config};

fn tutorial_server() -> Announced {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/app/app-server.py"
    );
    let mut command = Command::new("python3");
    command.arg(script).arg("127.0.0.1").arg("0");
    Announced::spawn(command)
}

/// A request message as the tutorial's client builds it (`json.dumps(..., ensure_ascii=False)`,
/// the four keys in its order, any byteorder).
fn message(content_type: &str, encoding: &str, content: &[u8], byteorder: &str) -> Vec<u8> {
    let header = format!(
        r#"{{"byteorder": "{byteorder}", "content-type": "{content_type}", "content-encoding": "{encoding}", "content-length": {}}}"#,
        content.len()
    );
    let mut out = (header.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(content);
    out
}

/// A JSON string literal for `s`, spelled either raw (UTF-8) or with `\uXXXX` escapes.
fn spelled(s: &str, escape: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || (escape && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("morpheus".to_string()),
        Just("ring".to_string()),
        Just("\u{1f436}".to_string()),
        Just("Morpheus".to_string()),
        Just(String::new()),
        "[a-z \"\\\\\n\t\u{e9}\u{1f430}']{0,12}",
    ]
}

/// A JSON value for the `value` or `action` field: strings, numbers, null, booleans, lists.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (text(), any::<bool>()).prop_map(|(s, e)| spelled(&s, e)),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => Just("2.5".to_string()),
        1 => Just("1e5".to_string()),
        1 => Just("null".to_string()),
        1 => Just("true".to_string()),
    ]
}

fn json_request() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => value().prop_map(|v| format!(r#"{{"action": "search", "value": {v}}}"#)),
        1 => (value(), value()).prop_map(|(a, v)| format!(r#"{{"action": {a}, "value": {v}}}"#)),
        1 => value().prop_map(|v| format!(r#"{{"value": {v}, "action": "search", "x": [1, "b"]}}"#)),
        1 => Just(r#"{"action": ["a", 1, null], "value": 1}"#.to_string()),
    ]
    .prop_map(|content| message("text/json", "utf-8", content.as_bytes(), "little"))
}

fn binary_request() -> impl Strategy<Value = Vec<u8>> {
    let command = prop_oneof![
        Just(b"double"),
        Just(b"negate"),
        Just(b"search"),
        Just(b"dOuble")
    ];
    prop_oneof![
        3 => (command, -1_000_000_000i32..1_000_000_000).prop_map(|(c, n)| {
            [&c[..], &n.to_be_bytes()].concat()
        }),
        1 => proptest::collection::vec(any::<u8>(), 1..40),
        1 => Just("binary\u{1f603}".as_bytes().to_vec()),
    ]
    .prop_map(|content| {
        message(
            "binary/custom-client-binary-type",
            "binary",
            &content,
            "big",
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn replies_are_byte_identical_to_the_tutorials(
        requests in proptest::collection::vec(prop_oneof![json_request(), binary_request()], 1..8)
    ) {
        thread_local! {
            static SERVERS: (Server, Announced) =
                (Server::speaking(App, Config::default()), tutorial_server());
        }
        SERVERS.with(|(reference, tutorial)| {
            for request in &requests {
                let ours = exchange(reference.addr, request);
                let theirs = exchange(tutorial.addr, request);
                prop_assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs),
                    "request {:?}",
                    String::from_utf8_lossy(request)
                );
                prop_assert_eq!(ours, theirs);
            }
            Ok(())
        })?;
    }
}

#[test]
fn the_seeds_sample_runs_get_the_seeds_replies() {
    let server = Server::speaking(App, Config::default());
    let double = message(
        "binary/custom-client-binary-type",
        "binary",
        b"double\x00t\xcb\xb1",
        "little",
    );
    assert_eq!(
        exchange(server.addr, &double),
        b"\x00\x7f{\"byteorder\": \"little\", \"content-type\": \"binary/custom-server-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}result\x00\xe9\x97b"
    );
    let search = message(
        "text/json",
        "utf-8",
        br#"{"action": "search", "value": "morpheus"}"#,
        "big",
    );
    assert_eq!(
        exchange(server.addr, &search),
        "\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 43}{\"result\": \"Follow the white rabbit. \u{1f430}\"}".as_bytes()
    );
}

#[test]
fn malformed_requests_are_closed_unanswered_and_the_server_goes_on() {
    let server = Server::speaking(App, Config::default());
    for bad in [
        b"\x00\x02{}".to_vec(),
        b"\x00\x03{x}".to_vec(),
        message("text/json", "utf-8", b"not json", "little"),
        message("text/json", "no-such-codec", b"{}", "little"),
        message("text/json", "utf-8", b"\xff\xfe", "little"),
        message("binary/x", "binary", b"double\x7f\xff\xff\xff", "little"),
    ] {
        assert_eq!(
            exchange(server.addr, &bad),
            b"",
            "{:?}",
            String::from_utf8_lossy(&bad)
        );
    }
    let search = message(
        "text/json",
        "utf-8",
        br#"{"action": "search", "value": "ring"}"#,
        "little",
    );
    assert!(!exchange(server.addr, &search).is_empty());
}

#[test]
fn a_declared_content_over_the_cap_is_refused_from_the_header_alone() {
    let server = Server::speaking(
        App,
        Config {
            max_payload: 1000,
            // Longer than the test's read deadline: only the cap can end the connection in time.
            read_timeout: std::time::Duration::from_secs(60),
            ..Config::default()
        },
    );
    // Declares a terabyte and sends none of it: closed at once, nothing allocated for it.
    let header = r#"{"byteorder": "little", "content-type": "binary/x", "content-encoding": "binary", "content-length": 1000000000000}"#;
    let mut bytes = (header.len() as u16).to_be_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    // (The read has a 10 s deadline: a server that waited for the content would fail it.)
    let mut s = connect(server.addr);
    std::io::Write::write_all(&mut s, &bytes).unwrap();
    assert_eq!(read_to_end(s), b"");
    // 1000 bytes are served.
    let ok = message("binary/x", "binary", &[b'a'; 1000], "little");
    assert!(!exchange(server.addr, &ok).is_empty());
}
