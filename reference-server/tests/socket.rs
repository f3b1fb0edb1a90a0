//! The reference server over a real socket: exact bytes in, exact bytes out.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use reference_server::Config;

#[test]
fn every_reply_shape_is_byte_exact() {
    let server = Server::start();
    let full = exchange(server.addr, &frame(get_req(r#""ABC""#).as_bytes()));
    let want = get_reply(r#""ABC""#, "null");
    assert_eq!(
        &full[..8],
        [
            &1i32.to_le_bytes()[..],
            &(want.len() as i32).to_le_bytes()[..]
        ]
        .concat()
    );
    assert_eq!(&full[8..], want.as_bytes());

    assert_eq!(
        call(
            server.addr,
            &put_req(r#""ABC""#, r#"{"val1":111,"val2":222}"#)
        ),
        put_reply(r#""ABC""#)
    );
    assert_eq!(
        call(server.addr, &get_req(r#""ABC""#)),
        get_reply(r#""ABC""#, r#"{"val1": 111, "val2": 222}"#)
    );
    assert_eq!(
        call(server.addr, r#"{"func": "get", "params": {"obj": "ABC"}}"#),
        unknown_reply(r#""get""#)
    );
    assert_eq!(
        call(server.addr, r#"{"func": [1, {"a": null}], "params": 0}"#),
        unknown_reply(r#"[1, {"a": null}]"#)
    );
}

#[test]
fn non_ascii_reply_length_counts_bytes() {
    let server = Server::start();
    call(server.addr, &put_req(r#""k-é""#, r#""\u00e9😀""#));
    let reply = call(server.addr, &get_req(r#""k-\u00e9""#));
    assert_eq!(reply, get_reply(r#""k-\u00e9""#, r#""\u00e9\ud83d\ude00""#));
}

/// (what it is, the bytes a client sends, whether the client half-closes afterwards)
fn malformed_inputs() -> Vec<(&'static str, Vec<u8>, bool)> {
    let f = |p: &[u8]| frame(p);
    let mut deep = "[".repeat(600);
    deep.push_str(&"]".repeat(600));
    vec![
        ("short header then EOF", vec![1, 0, 0], true),
        ("header only then EOF", f(b"{}")[..8].to_vec(), true),
        (
            "negative length",
            [1i32.to_le_bytes(), (-1i32).to_le_bytes()].concat(),
            false,
        ),
        (
            "huge length then EOF",
            [1i32.to_le_bytes(), i32::MAX.to_le_bytes()].concat(),
            true,
        ),
        (
            "truncated payload then EOF",
            f(put_req("\"t\"", "1").as_bytes())[..20].to_vec(),
            true,
        ),
        ("empty payload", f(b""), false),
        (
            "invalid UTF-8",
            f(b"{\"func\": \"GET\xff\", \"params\": {}}"),
            false,
        ),
        ("invalid JSON", f(b"{\"func\": GET}"), false),
        ("JSON list", f(b"[1, 2]"), false),
        ("JSON string", f(b"\"PUT\""), false),
        ("missing func", f(br#"{"params": {"obj": "a"}}"#), false),
        ("missing params", f(br#"{"func": "GET"}"#), false),
        (
            "params not an object",
            f(br#"{"func": "PUT", "params": [1]}"#),
            false,
        ),
        ("missing obj", f(br#"{"func": "GET", "params": {}}"#), false),
        (
            "missing val",
            f(br#"{"func": "PUT", "params": {"obj": "a"}}"#),
            false,
        ),
        (
            "unhashable obj",
            f(br#"{"func": "PUT", "params": {"obj": [1], "val": 1}}"#),
            false,
        ),
        (
            "nesting too deep",
            f(put_req("\"deep\"", &deep).as_bytes()),
            false,
        ),
        (
            "integer over 4300 digits",
            f(put_req("\"big\"", &"7".repeat(4301)).as_bytes()),
            false,
        ),
        ("BOM before JSON", f("\u{feff}{}".as_bytes()), false),
    ]
}

#[test]
fn malformed_input_gets_error_and_the_server_keeps_its_data() {
    let server = Server::start();
    assert_eq!(
        call(server.addr, &put_req("\"keep\"", "[1, 2.5, \"x\"]")),
        put_reply("\"keep\"")
    );
    for (what, bytes, half_close) in malformed_inputs() {
        let mut s = connect(server.addr);
        s.write_all(&bytes).unwrap();
        if half_close {
            s.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let reply = read_to_end(s);
        assert_eq!(reply, frame(ERROR.as_bytes()), "{what}");
        assert_eq!(
            call(server.addr, &put_req("\"live\"", "1")),
            put_reply("\"live\""),
            "alive after {what}"
        );
    }
    // A connection that closes without sending anything, and one reset mid-header.
    drop(connect(server.addr));
    let mut s = connect(server.addr);
    s.write_all(&[1, 0]).unwrap();
    drop(s);
    assert_eq!(
        call(server.addr, &get_req("\"keep\"")),
        get_reply("\"keep\"", "[1, 2.5, \"x\"]")
    );
}

#[test]
fn oversized_declared_length_is_refused_without_reading_the_payload() {
    let server = Server::with_config(Config {
        max_payload: 1024,
        ..Config::default()
    });
    let mut s = connect(server.addr);
    s.write_all(&[1i32.to_le_bytes(), 1025i32.to_le_bytes()].concat())
        .unwrap();
    // The client never sends the payload and never closes: the reply must come anyway.
    let mut reply = vec![0u8; 8 + ERROR.len()];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply, frame(ERROR.as_bytes()));
    let at_limit = put_req("\"limit\"", &format!("\"{}\"", "x".repeat(1024 - 80)));
    assert!(at_limit.len() <= 1024);
    assert_eq!(call(server.addr, &at_limit), put_reply("\"limit\""));
}

#[test]
fn every_split_point_of_a_frame_parses_whole() {
    let server = Server::start();
    let bytes = frame(put_req("\"split\"", "{\"a\": [1, 2]}").as_bytes());
    for cut in 1..bytes.len() {
        let reply = exchange_split(server.addr, &bytes, &[cut], Duration::from_millis(2));
        assert_eq!(
            reply,
            frame(put_reply("\"split\"").as_bytes()),
            "split at {cut}"
        );
    }
    // Byte at a time.
    let cuts: Vec<usize> = (1..bytes.len()).collect();
    let reply = exchange_split(server.addr, &bytes, &cuts, Duration::from_millis(1));
    assert_eq!(reply, frame(put_reply("\"split\"").as_bytes()));
}

#[test]
fn a_one_mebibyte_value_round_trips() {
    let server = Server::start();
    let big = format!("\"{}\"", "y".repeat(1 << 20));
    assert_eq!(
        call(server.addr, &put_req("\"big\"", &big)),
        put_reply("\"big\"")
    );
    assert_eq!(
        call(server.addr, &get_req("\"big\"")),
        get_reply("\"big\"", &big)
    );
}

#[test]
fn idle_clients_neither_hold_the_server_nor_block_others() {
    let server = Server::with_config(Config {
        read_timeout: Duration::from_millis(300),
        ..Config::default()
    });
    let idle = connect(server.addr);
    let mut half = connect(server.addr);
    half.write_all(&[1, 0, 0, 0]).unwrap();
    // Others are served while both are still open.
    assert_eq!(
        call(server.addr, &put_req("\"busy\"", "1")),
        put_reply("\"busy\"")
    );
    // And the idle ones are told ERROR and closed once their deadline passes.
    assert_eq!(read_to_end(idle), frame(ERROR.as_bytes()));
    assert_eq!(read_to_end(half), frame(ERROR.as_bytes()));
}

#[test]
fn parallel_clients_all_get_their_own_answers() {
    let server = Server::start();
    let addr = server.addr;
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..20 {
                    let name = format!("\"p{t}-{i}\"");
                    let val = (t * 100 + i).to_string();
                    assert_eq!(call(addr, &put_req(&name, &val)), put_reply(&name));
                    assert_eq!(call(addr, &get_req(&name)), get_reply(&name, &val));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(usize, Spelled),
    Get(usize),
    Unknown(Spelled),
}

/// Names, and the model slot each falls in: Python-equal names share a slot.
const NAMES: &[(&str, usize)] = &[
    ("\"a\"", 0),
    ("\"b\"", 1),
    ("\"\\u00e9\"", 2),
    ("\"é\"", 2),
    ("1", 3),
    ("1.0", 3),
    ("true", 3),
    ("0", 4),
    ("false", 4),
    ("null", 5),
    ("\"\"", 6),
    ("2.5", 7),
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..NAMES.len(), spelled_value()).prop_map(|(n, v)| Op::Put(n, v)),
        4 => (0..NAMES.len()).prop_map(Op::Get),
        1 => spelled_string().prop_filter("not GET or PUT", |s| s.output != "\"GET\"" && s.output != "\"PUT\"").prop_map(Op::Unknown),
    ]
}

/// How the server writes each name back (its canonical form).
fn echoed(name: &str) -> &str {
    match name {
        "\"é\"" => "\"\\u00e9\"",
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random sessions against a fresh server get exactly the replies a model of the store predicts.
    #[test]
    fn random_sessions_match_the_model(ops in prop::collection::vec(op(), 1..20)) {
        let server = Server::start();
        let mut model: HashMap<usize, String> = HashMap::new();
        for op in ops {
            let (request, expected) = match op {
                Op::Put(n, v) => {
                    let (name, slot) = NAMES[n];
                    model.insert(slot, v.output.clone());
                    (put_req(name, &v.input), put_reply(echoed(name)))
                }
                Op::Get(n) => {
                    let (name, slot) = NAMES[n];
                    let val = model.get(&slot).cloned().unwrap_or_else(|| "null".into());
                    (get_req(name), get_reply(echoed(name), &val))
                }
                Op::Unknown(f) => (
                    format!(r#"{{"func": {}, "params": {{}}}}"#, f.input),
                    unknown_reply(&f.output),
                ),
            };
            prop_assert_eq!(call(server.addr, &request), expected, "request {}", request);
        }
    }
}

#[test]
fn slow_clients_at_the_cap_are_shed_oldest_first_and_a_request_gets_through() {
    // A read deadline far longer than the test: only shedding can make room.
    let server = Server::with_config(Config {
        read_timeout: Duration::from_secs(600),
        max_connections: 8,
        ..Config::default()
    });
    let mut slow = Vec::new();
    for i in 0..32 {
        let mut s = connect(server.addr);
        if i % 2 == 0 {
            s.write_all(&[1, 0, 0, 0]).unwrap(); // half a header
        }
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        slow.push(s);
    }
    // Well-formed requests are answered while all 32 stay open.
    for n in 0..3 {
        let name = format!("\"through-{n}\"");
        assert_eq!(call(server.addr, &put_req(&name, "1")), put_reply(&name));
    }
    // The half-header clients that were shed first are the oldest ones: closed without a reply.
    let mut first = slow.remove(0);
    let mut buf = Vec::new();
    if let Err(e) = first.read_to_end(&mut buf) {
        // A reset is a close too; a timeout would mean it was still open.
        assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the oldest slow client was not shed: {e}"
        );
    }
    assert!(buf.is_empty(), "a shed client gets no reply: {buf:?}");
    // The newest slow client is still open (it was not needed).
    let mut newest = slow.pop().unwrap();
    newest
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(matches!(
        newest.read(&mut byte),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut
    ));
}
