//! `srpc-check bench`: closed-loop load, one request per connection, as the protocol has it.
//!
//! Each of N workers repeatedly connects, sends a PUT or a GET (alternating, over a small pool of
//! its own keys), reads the reply by its declared length, waits for the server to close, and
//! starts again. Latency runs from the start of connect to the last reply byte and goes into an
//! HDR histogram per worker; the histograms are merged at the end.
//!
//! The client waits for the server's close rather than closing first, so TIME_WAIT lands on the
//! server's side and the client never runs out of ephemeral ports at tens of thousands of
//! connections per second.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::error::{Error, Result};
use crate::{model, wire};
use serde_json::Value;

/// Keys each worker cycles through.
const KEYS_PER_WORKER: usize = 16;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub connections: usize,
    pub duration: Duration,
    pub value_bytes: usize,
    /// Limit for each network operation (connect, write, reading the reply, the close).
    pub timeout: Duration,
    /// Client runtime threads.
    pub threads: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub target: String,
    pub connections: usize,
    pub value_bytes: usize,
    pub duration_s: f64,
    pub requests: u64,
    pub requests_per_sec: f64,
    pub errors: u64,
    pub error_kinds: BTreeMap<&'static str, u64>,
    pub latency: Latency,
}

impl BenchReport {
    pub fn to_text(&self) -> String {
        let l = &self.latency;
        let mut out = format!(
            "target       {}\nload         {} connections, {:.1} s, {}-byte values, PUT/GET alternating\nthroughput   {:.0} requests/s ({} requests)\nerrors       {}\nlatency      p50 {:.3} ms   p90 {:.3} ms   p99 {:.3} ms   max {:.3} ms   mean {:.3} ms\n",
            self.target, self.connections, self.duration_s, self.value_bytes,
            self.requests_per_sec, self.requests, self.errors,
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms,
        );
        for (kind, n) in &self.error_kinds {
            out.push_str(&format!("  {kind:<11} {n}\n"));
        }
        out
    }
}

/// Why one request did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    Connect,
    Timeout,
    Io,
    Closed,
    BadReply,
    NoClose,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Timeout => "timeout",
            Failure::Io => "io",
            Failure::Closed => "closed_early",
            Failure::BadReply => "bad_reply",
            Failure::NoClose => "no_close",
        }
    }
}

struct WorkerStats {
    latency_us: Histogram<u64>,
    failures: BTreeMap<Failure, u64>,
}

/// Runs the load against `addr` and reports. Blocks the calling thread.
pub fn run(target: &str, addr: SocketAddr, opts: &BenchOptions) -> Result<BenchReport> {
    if opts.connections == 0 {
        return Err(Error::Usage("--connections must be at least 1".into()));
    }
    let runtime = if opts.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(opts.threads)
            .enable_all()
            .build()
    }
    .map_err(|e| Error::io("cannot start the client runtime", e))?;
    runtime.block_on(run_async(target, addr, opts))
}

async fn run_async(target: &str, addr: SocketAddr, opts: &BenchOptions) -> Result<BenchReport> {
    let tag = std::process::id();
    // One real request first: proves the target answers, without a bare connect-and-close.
    let probe = wire::request(&model::get_request(&Value::String(format!(
        "bench-{tag}-probe"
    ))));
    if let Err(f) = one_request(addr, &probe, opts.timeout).await {
        return Err(Error::Unreachable {
            target: target.to_owned(),
            reason: format!("the first request failed ({})", f.name()),
        });
    }
    let value = Value::String("x".repeat(opts.value_bytes));
    let start = Instant::now();
    let deadline = start + opts.duration;
    let workers: Vec<_> = (0..opts.connections)
        .map(|id| {
            let requests: Vec<Vec<u8>> = (0..KEYS_PER_WORKER)
                .flat_map(|k| {
                    let name = Value::String(format!("bench-{tag}-{id}-{k}"));
                    [
                        wire::request(&model::put_request(&name, &value)),
                        wire::request(&model::get_request(&name)),
                    ]
                })
                .collect();
            tokio::spawn(worker(addr, requests, opts.timeout, deadline))
        })
        .collect();
    let mut latency_us = new_histogram();
    let mut failures: BTreeMap<Failure, u64> = BTreeMap::new();
    for w in workers {
        let stats = w.await.expect("bench worker panicked");
        latency_us
            .add(&stats.latency_us)
            .expect("histograms share bounds");
        for (f, n) in stats.failures {
            *failures.entry(f).or_default() += n;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ms = |us: u64| us as f64 / 1000.0;
    Ok(BenchReport {
        target: target.to_owned(),
        connections: opts.connections,
        value_bytes: opts.value_bytes,
        duration_s: elapsed,
        requests: latency_us.len(),
        requests_per_sec: latency_us.len() as f64 / elapsed,
        errors: failures.values().sum(),
        error_kinds: failures.into_iter().map(|(f, n)| (f.name(), n)).collect(),
        latency: Latency {
            p50_ms: ms(latency_us.value_at_quantile(0.50)),
            p90_ms: ms(latency_us.value_at_quantile(0.90)),
            p99_ms: ms(latency_us.value_at_quantile(0.99)),
            max_ms: ms(latency_us.max()),
            mean_ms: latency_us.mean() / 1000.0,
        },
    })
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 10 minutes at 3 significant figures.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

async fn worker(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    limit: Duration,
    deadline: Instant,
) -> WorkerStats {
    let mut stats = WorkerStats {
        latency_us: new_histogram(),
        failures: BTreeMap::new(),
    };
    for request in requests.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        let t0 = Instant::now();
        match one_request(addr, request, limit).await {
            Ok(done) => {
                let us = (done - t0).as_micros().max(1) as u64;
                stats.latency_us.saturating_record(us);
            }
            Err(f) => {
                *stats.failures.entry(f).or_default() += 1;
                if f == Failure::Connect {
                    // Do not spin on a refusing server.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    stats
}

#[derive(serde::Deserialize)]
struct Status<'a> {
    #[serde(borrow)]
    status: std::borrow::Cow<'a, str>,
}

/// One request on a fresh connection. Returns when the last reply byte arrived, after checking
/// the reply says OK and that the server then closes.
async fn one_request(
    addr: SocketAddr,
    request: &[u8],
    limit: Duration,
) -> Result<Instant, Failure> {
    let mut stream = match timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => return Err(Failure::Connect),
        Err(_) => return Err(Failure::Timeout),
    };
    let _ = stream.set_nodelay(true);
    match timeout(limit, stream.write_all(request)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(Failure::Io),
        Err(_) => return Err(Failure::Timeout),
    }
    let reply = wire::read_reply(&mut stream, limit)
        .await
        .map_err(|e| match e {
            wire::ReadError::Timeout { .. } => Failure::Timeout,
            wire::ReadError::Closed { .. } => Failure::Closed,
            wire::ReadError::BadLength { .. } => Failure::BadReply,
            wire::ReadError::Io { .. } => Failure::Io,
        })?;
    let done = Instant::now();
    match serde_json::from_slice::<Status>(&reply.payload) {
        Ok(s) if s.status == "OK" => {}
        _ => return Err(Failure::BadReply),
    }
    let mut byte = [0u8; 1];
    match timeout(limit, stream.read(&mut byte)).await {
        Ok(Ok(0)) => Ok(done),
        Ok(Ok(_)) => Err(Failure::BadReply),
        Ok(Err(_)) => Err(Failure::Io),
        Err(_) => Err(Failure::NoClose),
    }
}
