//! Helpers shared by the reference server's socket tests: an in-process server on port 0, raw
//! socket exchanges with deadlines, and generators of JSON text paired with the exact text
//! CPython's `json.dumps` would write for it (an independent model of the formatting rules).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use proptest::prelude::*;
use reference_server::{Config, Protocol, Srpc};

pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A reference server running on its own runtime thread; stopped and joined on drop.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start() -> Server {
        Server::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Server {
        Server::speaking(Srpc::default(), config)
    }

    pub fn speaking<P: Protocol>(protocol: P, config: Config) -> Server {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                reference_server::run_with(listener, config, protocol, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = ready_rx.recv_timeout(IO_TIMEOUT).expect("server started");
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A server process that announces `listening on ADDR` as its first line on stdout. Readiness
/// comes from that line, never from a probing connect. Killed by its own PID and reaped on drop.
pub struct Announced {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Announced {
    pub fn spawn(mut command: Command) -> Announced {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server program starts");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // The rest of its output is read and dropped, so a chatty server never blocks on (or
        // dies of) a full or closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let announced = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"));
        // `HOST:PORT`, or Python's tuple `('HOST', PORT)`.
        let addr = match announced.strip_prefix("('") {
            Some(tuple) => {
                let (host, port) = tuple.trim_end_matches(')').split_once("', ").unwrap();
                format!("{host}:{port}").parse().unwrap()
            }
            None => announced.parse().unwrap(),
        };
        Announced { child, addr }
    }
}

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = 1i32.to_le_bytes().to_vec();
    out.extend_from_slice(&(payload.len() as i32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

pub fn read_to_end(mut s: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("read reply until the server closes");
    out
}

/// Sends `bytes` in pieces cut at `cuts`, pausing between pieces so that each piece reaches the
/// server as a read of its own, then reads until the server closes.
pub fn exchange_split(addr: SocketAddr, bytes: &[u8], cuts: &[usize], pause: Duration) -> Vec<u8> {
    let mut s = connect(addr);
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        if cut > start {
            s.write_all(&bytes[start..cut]).unwrap();
            if cut < bytes.len() {
                std::thread::sleep(pause);
            }
            start = cut;
        }
    }
    read_to_end(s)
}

pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    exchange_split(addr, bytes, &[], Duration::ZERO)
}

/// Sends a request payload in one frame and returns the reply payload, checking the header.
pub fn call(addr: SocketAddr, payload: &str) -> String {
    let reply = exchange(addr, &frame(payload.as_bytes()));
    assert!(reply.len() >= 8, "short reply {reply:?}");
    assert_eq!(&reply[..4], &1i32.to_le_bytes(), "reply version");
    let len = i32::from_le_bytes(reply[4..8].try_into().unwrap());
    assert_eq!(
        len as usize,
        reply.len() - 8,
        "declared length equals payload bytes"
    );
    String::from_utf8(reply[8..].to_vec()).expect("reply is UTF-8")
}

pub const ERROR: &str = r#"{"status": "ERROR"}"#;

pub fn put_req(name: &str, val: &str) -> String {
    format!(r#"{{"func": "PUT", "params": {{"obj": {name}, "val": {val}}}}}"#)
}

pub fn get_req(name: &str) -> String {
    format!(r#"{{"func": "GET", "params": {{"obj": {name}}}}}"#)
}

pub fn put_reply(name: &str) -> String {
    format!(
        r#"{{"status": "OK", "response": {{"func": "PUT", "response": {{"obj": {name}, "response": "ok"}}}}}}"#
    )
}

pub fn get_reply(name: &str, val: &str) -> String {
    format!(
        r#"{{"status": "OK", "response": {{"func": "GET", "response": {{"obj": {name}, "val": {val}}}}}}}"#
    )
}

pub fn unknown_reply(func: &str) -> String {
    format!(
        r#"{{"status": "OK", "response": {{"func": {func}, "response": "ERROR - Function doesn't exist"}}}}"#
    )
}

/// JSON text as a client might spell it, and the text CPython writes back for it.
#[derive(Debug, Clone)]
pub struct Spelled {
    pub input: String,
    pub output: String,
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\n\t "), 1 => Just("\r\n")]
}

/// CPython's `ensure_ascii` escaping, written independently of the server's.
pub fn py_escape(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// The same string spelled as a client might: raw UTF-8 where JSON allows it, or escapes.
fn spell_string(s: &str, escape_mask: u64) -> String {
    let mut out = String::from("\"");
    for (n, c) in s.chars().enumerate() {
        let escape = escape_mask >> (n % 64) & 1 == 1;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escape => out.push_str("\\/"),
            c if (c as u32) < 0x20 || escape => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn string_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just(String::new()),
        Just("\u{1F600}é\u{7f}\"\\/\u{0}\n".to_string()),
    ]
}

pub fn spelled_string() -> impl Strategy<Value = Spelled> {
    (string_text(), any::<u64>()).prop_map(|(s, mask)| Spelled {
        input: spell_string(&s, mask),
        output: py_escape(&s),
    })
}

/// Floats whose CPython repr is known by construction: at most 15 significant digits, so the
/// digits themselves are the shortest round-trip form, laid out by Python's repr rule.
fn spelled_float() -> impl Strategy<Value = Spelled> {
    // The decimal point's position, weighted towards where Python's repr changes layout.
    let decpt = prop_oneof![1 => -30i32..30, 1 => -5i32..=-2, 1 => 15i32..=18];
    let decimal = (
        1u64..1_000_000_000_000_000,
        decpt,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mut m, decpt, neg, sci_input)| {
            while m % 10 == 0 {
                m /= 10;
            }
            let digits = m.to_string();
            // value = 0.DIGITS * 10^decpt = DIGITS * 10^e10
            let e10 = decpt - digits.len() as i32;
            let sign = if neg { "-" } else { "" };
            let output = if !(-3..=16).contains(&decpt) {
                let exp = decpt - 1;
                let frac = if digits.len() > 1 {
                    format!(".{}", &digits[1..])
                } else {
                    String::new()
                };
                format!(
                    "{sign}{}{frac}e{}{:02}",
                    &digits[..1],
                    if exp < 0 { '-' } else { '+' },
                    exp.abs()
                )
            } else if decpt <= 0 {
                format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
            } else if decpt as usize >= digits.len() {
                format!(
                    "{sign}{digits}{}.0",
                    "0".repeat(decpt as usize - digits.len())
                )
            } else {
                let (a, b) = digits.split_at(decpt as usize);
                format!("{sign}{a}.{b}")
            };
            let input = if sci_input {
                format!("{sign}{digits}E{e10}")
            } else {
                format!("{sign}{digits}.000e{e10:+}")
            };
            Spelled { input, output }
        });
    let fixed = prop_oneof![
        Just(("1.0", "1.0")),
        Just(("1e300", "1e+300")),
        Just(("1e400", "Infinity")),
        Just(("-1e400", "-Infinity")),
        Just(("-0.0", "-0.0")),
        Just(("0.30000000000000004", "0.30000000000000004")),
        Just(("5e-324", "5e-324")),
        Just(("1.7976931348623157e308", "1.7976931348623157e+308")),
    ]
    .prop_map(|(i, o)| Spelled {
        input: i.into(),
        output: o.into(),
    });
    prop_oneof![3 => decimal, 1 => fixed]
}

fn spelled_int() -> impl Strategy<Value = Spelled> {
    prop_oneof![
        any::<i64>().prop_map(|n| Spelled {
            input: n.to_string(),
            output: n.to_string()
        }),
        "[1-9][0-9]{19,60}".prop_map(|s| Spelled {
            input: s.clone(),
            output: s
        }),
        Just(Spelled {
            input: "-0".into(),
            output: "0".into()
        }),
    ]
}

fn spelled_leaf() -> impl Strategy<Value = Spelled> {
    prop_oneof![
        Just(Spelled {
            input: "null".into(),
            output: "null".into()
        }),
        any::<bool>().prop_map(|b| Spelled {
            input: b.to_string(),
            output: b.to_string()
        }),
        spelled_int(),
        spelled_float(),
        spelled_string(),
    ]
}

/// Any JSON value, nested a few levels, with duplicate object keys now and then.
pub fn spelled_value() -> impl Strategy<Value = Spelled> {
    spelled_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), ws()).prop_map(|(items, w)| Spelled {
                input: format!(
                    "[{w}{}{w}]",
                    items
                        .iter()
                        .map(|i| i.input.as_str())
                        .collect::<Vec<_>>()
                        .join(&format!("{w},{w}"))
                ),
                output: format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.output.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
            (prop::collection::vec(("[a-c]{1,2}", inner), 0..6), ws()).prop_map(|(members, w)| {
                // Python's dict: a repeated key keeps its first position and its last value.
                let mut model: Vec<(String, String)> = Vec::new();
                for (k, v) in &members {
                    match model.iter_mut().find(|(mk, _)| mk == k) {
                        Some(slot) => slot.1 = v.output.clone(),
                        None => model.push((k.clone(), v.output.clone())),
                    }
                }
                Spelled {
                    input: format!(
                        "{{{w}{}{w}}}",
                        members
                            .iter()
                            .map(|(k, v)| format!("\"{k}\"{w}:{w}{}", v.input))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    output: format!(
                        "{{{}}}",
                        model
                            .iter()
                            .map(|(k, v)| format!("\"{k}\": {v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }),
        ]
    })
}
