//! A whole reference-server session in memory. The fuzz input chooses the operations, the
//! object names (among names Python's dict treats as equal or not), the values and where each
//! request's reads are split; every reply must be, byte for byte, the frame the session so far
//! implies. The expected bytes come straight from the protocol: a stored value comes back as
//! the canonical text it was sent as, and an object name is echoed as Python writes it.
//! (Whether the harness's JSON and the server's mean the same values is codec_differential's
//! question; this target asks about state, framing and split reads, so it parses nothing.)
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use reference_server::command::ERROR_REPLY;
use reference_server::frame::{decode, Decoded, HEADER_LEN};
use reference_server::json::{self, Value};
use reference_server::{serve_connection, Config, Srpc};
use srpc_check::protocol::srpc::codec::{self, Header};
use srpc_check_fuzz::{py_value, utf16, MemStream};

srpc_check_fuzz::asan_defaults!();

/// Object names as sent, as the server echoes them, and which stored entry they name: Python's
/// `dict` makes 1, 1.0 and true one key, 0, -0 and false another, an escaped "k0" is "k0", and
/// NaN never finds itself (so nothing is stored under it).
const NAMES: [(&str, &str, Option<usize>); 14] = [
    (r#""k0""#, r#""k0""#, Some(0)),
    (r#""\u006b0""#, r#""k0""#, Some(0)),
    (r#""k1""#, r#""k1""#, Some(1)),
    ("1", "1", Some(2)),
    ("1.0", "1.0", Some(2)),
    ("1e0", "1.0", Some(2)),
    ("true", "true", Some(2)),
    ("0", "0", Some(3)),
    ("-0", "0", Some(3)),
    ("-0.0", "-0.0", Some(3)),
    ("false", "false", Some(3)),
    ("null", "null", Some(4)),
    (r#""1""#, r#""1""#, Some(5)),
    ("NaN", "NaN", None),
];
const ENTRIES: usize = 6;

#[derive(Debug)]
enum Op {
    Put { name: usize, val: Value },
    Get { name: usize },
    Unknown { func: Vec<u16> },
    Raw { bytes: Vec<u8> },
}

#[derive(Debug)]
struct Step {
    op: Op,
    cuts: Vec<u16>,
}

impl<'a> Arbitrary<'a> for Step {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Step> {
        let name = |u: &mut Unstructured<'a>| u.choose_index(NAMES.len());
        let op = match u.int_in_range(0..=3)? {
            0 => Op::Put {
                name: name(u)?,
                val: py_value(u, 0)?,
            },
            1 => Op::Get { name: name(u)? },
            2 => Op::Unknown { func: utf16(u)? },
            _ => Op::Raw {
                bytes: u.arbitrary()?,
            },
        };
        Ok(Step {
            op,
            cuts: utf16(u)?,
        })
    }
}

/// The runtime whose timer the server's deadlines register with. Nothing here ever waits: an
/// in-memory connection is always ready, so each exchange is one poll, without a scheduler.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    })
}

/// One connection: `bytes` arrive in the pieces `cuts` make; `out` receives all the server
/// wrote.
fn exchange(db: &Srpc, config: &Config, bytes: &[u8], cuts: &[u16], out: &mut Vec<u8>) {
    out.clear();
    let mut stream = MemStream::new(bytes, cuts, out);
    let served = pin!(serve_connection(&mut stream, db, config));
    match served.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result.expect("an in-memory connection cannot fail"),
        Poll::Pending => panic!("the server waited on a connection that is always ready"),
    }
}

fn is_func(units: &[u16], name: &str) -> bool {
    units.iter().copied().eq(name.encode_utf16())
}

fuzz_target!(|steps: Vec<Step>| {
    let _context = runtime().enter();
    let config = Config::default();
    let db = Srpc::default();
    // Raw frames get a store of their own, so a frame that happens to be a valid PUT can never
    // make the model wrong.
    let scratch = Srpc::default();
    let mut stored: [Option<Vec<u8>>; ENTRIES] = Default::default();
    let mut request = Vec::new();
    let mut expected = Vec::new();
    let mut framed = Vec::new();
    let mut out = Vec::new();
    for step in steps.iter().take(16) {
        request.clear();
        expected.clear();
        match &step.op {
            Op::Put { name, val } => {
                let (sent, echoed, entry) = NAMES[*name];
                let text = json::dumps(val);
                request.extend_from_slice(br#"{"func": "PUT", "params": {"obj": "#);
                request.extend_from_slice(sent.as_bytes());
                request.extend_from_slice(br#", "val": "#);
                request.extend_from_slice(&text);
                request.extend_from_slice(b"}}");
                expected.extend_from_slice(
                    br#"{"status": "OK", "response": {"func": "PUT", "response": {"obj": "#,
                );
                expected.extend_from_slice(echoed.as_bytes());
                expected.extend_from_slice(br#", "response": "ok"}}}"#);
                if let Some(entry) = entry {
                    stored[entry] = Some(text);
                }
            }
            Op::Get { name } => {
                let (sent, echoed, entry) = NAMES[*name];
                request.extend_from_slice(br#"{"func": "GET", "params": {"obj": "#);
                request.extend_from_slice(sent.as_bytes());
                request.extend_from_slice(b"}}");
                expected.extend_from_slice(
                    br#"{"status": "OK", "response": {"func": "GET", "response": {"obj": "#,
                );
                expected.extend_from_slice(echoed.as_bytes());
                expected.extend_from_slice(br#", "val": "#);
                match entry.and_then(|e| stored[e].as_deref()) {
                    Some(text) => expected.extend_from_slice(text),
                    None => expected.extend_from_slice(b"null"),
                }
                expected.extend_from_slice(b"}}}");
            }
            Op::Unknown { func } => {
                if is_func(func, "GET") || is_func(func, "PUT") {
                    continue;
                }
                request.extend_from_slice(br#"{"func": "#);
                json::dump_str(func, &mut request);
                request.extend_from_slice(br#", "params": {}}"#);
                expected.extend_from_slice(br#"{"status": "OK", "response": {"func": "#);
                json::dump_str(func, &mut expected);
                expected.extend_from_slice(br#", "response": "ERROR - Function doesn't exist"}}"#);
            }
            Op::Raw { bytes } => {
                // Whatever arrives, exactly one well-formed frame comes back: ERROR or an OK.
                exchange(&scratch, &config, bytes, &step.cuts, &mut out);
                let Ok(Decoded::Frame { version: 1, len }) = decode(&out, usize::MAX) else {
                    panic!("not one reply frame: {out:?}");
                };
                assert_eq!(HEADER_LEN + len, out.len(), "bytes after the reply frame");
                let payload = &out[HEADER_LEN..];
                assert!(
                    payload == ERROR_REPLY
                        || payload.starts_with(br#"{"status": "OK", "response": "#),
                    "{}",
                    String::from_utf8_lossy(payload)
                );
                continue;
            }
        }
        // The harness's encoder frames the request.
        let sent = Header {
            version: 1,
            length: request.len() as i32,
        };
        framed.clear();
        framed.extend_from_slice(&sent.bytes());
        framed.extend_from_slice(&request);
        exchange(&db, &config, &framed, &step.cuts, &mut out);
        let header = Header {
            version: 1,
            length: expected.len() as i32,
        };
        assert!(
            out.len() == codec::HEADER_LEN + expected.len()
                && Header::parse(out[..codec::HEADER_LEN].try_into().unwrap()) == header
                && out[codec::HEADER_LEN..] == expected,
            "{step:?}\nrequest  {}\nexpected {header:?} {}\ngot      {}",
            String::from_utf8_lossy(&request),
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&out)
        );
    }
});
