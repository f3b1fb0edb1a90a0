//! A whole reference-server session in memory. The fuzz input chooses the operations and where
//! each request's reads are split; every reply must be exactly what the harness's model says.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use reference_server::{serve_connection, Config, Db};
use serde_json::Value;
use srpc_check::conn::ReadStatus;
use srpc_check::model::{self, Compare};
use srpc_check::reply::{read, Scripted};
use srpc_check::wire;
use srpc_check_fuzz::{json_value, MemStream};

srpc_check_fuzz::asan_defaults!();

#[derive(Debug)]
enum Op {
    Put { key: u8, val: Value },
    Get { key: u8 },
    Unknown { func: String },
    Raw { bytes: Vec<u8> },
}

#[derive(Debug)]
struct Step {
    op: Op,
    cuts: Vec<u16>,
}

impl<'a> Arbitrary<'a> for Step {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Step> {
        let op = match u.int_in_range(0..=3)? {
            0 => Op::Put {
                key: u.int_in_range(0..=3)?,
                val: json_value(u, 0)?,
            },
            1 => Op::Get {
                key: u.int_in_range(0..=3)?,
            },
            2 => Op::Unknown {
                func: u.arbitrary()?,
            },
            _ => Op::Raw {
                bytes: u.arbitrary()?,
            },
        };
        Ok(Step {
            op,
            cuts: u.arbitrary()?,
        })
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    })
}

fn exchange(db: &Db, bytes: &[u8], cuts: &[u16]) -> Vec<u8> {
    let mut stream = MemStream::new(bytes, cuts);
    runtime()
        .block_on(async { serve_connection(&mut stream, db, &Config::default()).await })
        .unwrap();
    stream.output
}

fuzz_target!(|steps: Vec<Step>| {
    let db = Db::new();
    // Raw frames get a store of their own, so a frame that happens to be a valid PUT can never
    // make the model wrong.
    let scratch = Db::new();
    let mut model: HashMap<u8, Value> = HashMap::new();
    let name = |key: u8| Value::String(format!("k{key}"));
    for step in steps.iter().take(16) {
        let (request, expected) = match &step.op {
            Op::Put { key, val } => (
                model::put_request(&name(*key), val),
                Some(model::put_reply(&name(*key))),
            ),
            Op::Get { key } => (
                model::get_request(&name(*key)),
                Some(model::get_reply(
                    &name(*key),
                    model.get(key).unwrap_or(&Value::Null),
                )),
            ),
            Op::Unknown { func } => {
                if func == "GET" || func == "PUT" {
                    continue;
                }
                let func = Value::String(func.clone());
                (
                    format!(r#"{{"func": {func}, "params": {{}}}}"#).into_bytes(),
                    Some(model::unknown_func_reply(&func)),
                )
            }
            Op::Raw { bytes } => {
                let out = exchange(&scratch, bytes, &step.cuts);
                let reply = read(&mut Scripted::new([out], ReadStatus::Eof))
                    .expect("the reference server always replies");
                assert!(reply.anomalies.is_empty(), "{:?}", reply.anomalies);
                continue;
            }
        };
        let out = exchange(&db, &wire::request(&request), &step.cuts);
        let reply = read(&mut Scripted::new([out], ReadStatus::Eof)).expect("a reply");
        assert!(reply.anomalies.is_empty(), "{:?}", reply.anomalies);
        let expected = expected.expect("well-formed steps have an expected reply");
        assert_eq!(
            model::compare(&expected, &reply.json),
            Compare::Equal,
            "{step:?}"
        );
        if let Op::Put { key, val } = &step.op {
            model.insert(*key, val.clone());
        }
    }
});
