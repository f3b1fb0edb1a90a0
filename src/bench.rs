//! `srpc-check bench`: load, one request per connection, as the protocol has it.
//!
//! Each of N workers is a blocking thread of its own (no runtime between the client and the
//! kernel: per request it costs a socket, connect, one write, a few reads and a close). It
//! repeatedly connects, sends one of its prebuilt requests (the protocol's [`Load`]: srpc
//! alternates a PUT and a GET over a small pool of the worker's own keys, lab 4 a search and a
//! double), reads the reply by its declared lengths into a reused buffer, checks it, and starts
//! again. Latency goes into an HDR histogram per worker; they are merged at the
//! end.
//!
//! Closed loop (the default): each worker sends its next request as soon as the last one is
//! answered; latency runs from the start of connect to the last reply byte. Open loop
//! (`--rate N`): requests are due at fixed times, N per second over all workers, and latency
//! runs from when a request was *due*, so a server that falls behind is charged for the wait
//! (coordinated omission corrected).
//!
//! The client closes first once it has the reply, as the lab's client does; on loopback Linux
//! reuses the client side's TIME_WAIT ports (`tcp_tw_reuse`), so they do not run out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::error::{Error, Result};

/// One request a worker sends, and what the protocol checks its reply against.
pub struct Exchange {
    pub request: Vec<u8>,
    /// The reply, byte for byte, where the protocol's check compares it whole (else empty).
    pub expected: Vec<u8>,
}

/// What a protocol brings to the load generator.
pub struct Load {
    /// The requests worker `worker` cycles through (`tag` makes its names its own;
    /// `value_bytes`: --value-bytes).
    pub requests: fn(tag: &str, worker: usize, value_bytes: usize) -> Vec<Exchange>,
    /// The requests in words, for the report ("PUT/GET alternating, 64-byte values").
    pub mix: fn(value_bytes: usize) -> String,
    /// Reads one reply from `stream` into `buf` and checks it against `exchange`.
    pub read: fn(&mut TcpStream, &Exchange, &mut Vec<u8>) -> std::result::Result<(), Failure>,
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The protocol the requests speak.
    pub protocol: &'static crate::protocol::Protocol,
    pub connections: usize,
    pub duration: Duration,
    pub value_bytes: usize,
    /// Limit for each network operation (connect, write, reading the reply).
    pub timeout: Duration,
    /// Open loop: requests per second over all workers. None: closed loop.
    pub rate: Option<f64>,
    /// Slow clients held open through the run: each connects and sends half a header (every
    /// other one sends nothing), and never more.
    pub hold: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Held {
    pub opened: usize,
    /// Could not be opened (refused, timed out, out of descriptors).
    pub failed: usize,
    pub closed_by_server: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub target: String,
    pub connections: usize,
    pub value_bytes: usize,
    /// The protocol, and its requests in words.
    pub protocol: &'static str,
    pub mix: String,
    pub duration_s: f64,
    pub requests: u64,
    pub requests_per_sec: f64,
    /// Open loop: the rate asked for (None in a closed loop).
    pub target_rate: Option<f64>,
    /// Slow clients held open during the run, and how many of them the server had closed by
    /// its end (shed, or timed out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    pub errors: u64,
    pub error_kinds: BTreeMap<&'static str, u64>,
    pub latency: Latency,
}

impl BenchReport {
    pub fn to_text(&self) -> String {
        let l = &self.latency;
        let mode = match self.target_rate {
            Some(r) => format!("open loop at {r:.0} requests/s (latency from when each was due)"),
            None => "closed loop".into(),
        };
        let mut out = format!(
            "target       {}\nload         {} connections, {:.1} s, {}, {mode}\nthroughput   {:.0} requests/s ({} requests)\nerrors       {}\nlatency      p50 {:.3} ms   p90 {:.3} ms   p99 {:.3} ms   max {:.3} ms   mean {:.3} ms\n",
            self.target, self.connections, self.duration_s, self.mix,
            self.requests_per_sec, self.requests, self.errors,
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms,
        );
        if let Some(h) = &self.held {
            out.push_str(&format!(
                "slow clients {} held open (half a header, or nothing) during the run; {} could not connect; the server closed {} of them\n",
                h.opened, h.failed, h.closed_by_server
            ));
        }
        if let Some(r) = self.target_rate {
            let kept = self.requests_per_sec / r;
            out.push_str(&format!(
                "sustained    {:.0}% of the rate asked for{}\n",
                kept * 100.0,
                if kept < 0.99 {
                    " (the server fell behind)"
                } else {
                    ""
                }
            ));
        }
        for (kind, n) in &self.error_kinds {
            out.push_str(&format!("  {kind:<11} {n}\n"));
        }
        out
    }
}

/// Why one request did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    Connect,
    Timeout,
    Io,
    Closed,
    BadReply,
}

impl Failure {
    pub fn name(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Timeout => "timeout",
            Failure::Io => "io",
            Failure::Closed => "closed_early",
            Failure::BadReply => "bad_reply",
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
    let tag = format!("bench-{}", std::process::id());
    let load = &opts.protocol.load;
    // One real request first: proves the target answers, without a bare connect-and-close.
    let probe = (load.requests)(&format!("{tag}-probe"), 0, opts.value_bytes)
        .into_iter()
        .next()
        .expect("a protocol's load has a request");
    if let Err(f) = one_request(addr, &probe, load.read, opts.timeout, &mut Vec::new()) {
        return Err(Error::Unreachable {
            target: target.to_owned(),
            reason: format!("the first request failed ({})", f.name()),
        });
    }
    let (held, failed) = hold_open(addr, opts.hold, opts.timeout);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let per_worker = opts.rate.map(|r| r / opts.connections as f64);
    let stats: Vec<WorkerStats> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..opts.connections)
            .map(|id| {
                let requests = (load.requests)(&tag, id, opts.value_bytes);
                let read = load.read;
                let stop = &stop;
                // Workers start spread over one period, so an open loop does not burst.
                let offset = per_worker.map_or(Duration::ZERO, |r| {
                    Duration::from_secs_f64(id as f64 / opts.connections as f64 / r)
                });
                std::thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn_scoped(s, move || {
                        worker(
                            addr,
                            (&requests, read),
                            opts.timeout,
                            stop,
                            start + offset,
                            per_worker,
                        )
                    })
                    .expect("a bench thread starts")
            })
            .collect();
        std::thread::sleep(opts.duration);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().expect("bench worker panicked"))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut latency_us = new_histogram();
    let mut failures: BTreeMap<Failure, u64> = BTreeMap::new();
    for w in stats {
        latency_us
            .add(&w.latency_us)
            .expect("histograms share bounds");
        for (f, n) in w.failures {
            *failures.entry(f).or_default() += n;
        }
    }
    let held = (opts.hold > 0).then(|| Held {
        opened: held.len(),
        failed,
        closed_by_server: held.iter().filter(|s| closed(s)).count(),
    });
    let ms = |us: u64| us as f64 / 1000.0;
    Ok(BenchReport {
        held,
        target: target.to_owned(),
        connections: opts.connections,
        value_bytes: opts.value_bytes,
        protocol: opts.protocol.name,
        mix: (load.mix)(opts.value_bytes),
        duration_s: elapsed,
        requests: latency_us.len(),
        requests_per_sec: latency_us.len() as f64 / elapsed,
        target_rate: opts.rate,
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

/// Opens `n` slow clients: even ones send half a header, odd ones nothing. Returns those open
/// and how many could not be opened.
fn hold_open(addr: SocketAddr, n: usize, limit: Duration) -> (Vec<TcpStream>, usize) {
    if n > 0 {
        reference_server::raise_fd_limit();
    }
    let mut held = Vec::with_capacity(n);
    let mut failed = 0;
    for i in 0..n {
        match TcpStream::connect_timeout(&addr, limit) {
            Ok(mut s) => {
                if i % 2 == 0 {
                    let _ = s.write_all(&1i32.to_le_bytes());
                }
                held.push(s);
            }
            Err(_) => failed += 1,
        }
    }
    (held, failed)
}

/// Has the server closed this connection (end of stream or reset)?
fn closed(s: &TcpStream) -> bool {
    let _ = s.set_nonblocking(true);
    let mut byte = [0u8; 1];
    match (&*s).read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 10 minutes at 3 significant figures.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// One client: requests back to back (closed loop), or each at its due time (open loop, `rate`
/// per second for this worker, the first due at `first`).
fn worker(
    addr: SocketAddr,
    (requests, read): (&[Exchange], ReadFn),
    limit: Duration,
    stop: &AtomicBool,
    first: Instant,
    rate: Option<f64>,
) -> WorkerStats {
    let mut stats = WorkerStats {
        latency_us: new_histogram(),
        failures: BTreeMap::new(),
    };
    let mut buf = Vec::with_capacity(4096);
    let period = rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut due = first;
    for request in requests.iter().cycle() {
        if period.is_some() {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let t0 = if period.is_some() {
            due
        } else {
            Instant::now()
        };
        match one_request(addr, request, read, limit, &mut buf) {
            Ok(done) => {
                let us = (done - t0).as_micros().max(1) as u64;
                stats.latency_us.saturating_record(us);
            }
            Err(f) => {
                *stats.failures.entry(f).or_default() += 1;
                if f == Failure::Connect {
                    // Do not spin on a refusing server.
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        if let Some(p) = period {
            due += p;
        }
    }
    stats
}

type ReadFn = fn(&mut TcpStream, &Exchange, &mut Vec<u8>) -> std::result::Result<(), Failure>;

/// A read or write error as a failure.
pub fn io_failure(e: std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Failure::Timeout,
        std::io::ErrorKind::UnexpectedEof => Failure::Closed,
        _ => Failure::Io,
    }
}

/// One request on a fresh connection: returns when the last reply byte arrived, after the
/// protocol checked the reply.
fn one_request(
    addr: SocketAddr,
    exchange: &Exchange,
    read: ReadFn,
    limit: Duration,
    buf: &mut Vec<u8>,
) -> std::result::Result<Instant, Failure> {
    let mut stream = TcpStream::connect_timeout(&addr, limit).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut => Failure::Timeout,
        _ => Failure::Connect,
    })?;
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(limit)).map_err(io_failure)?;
    // A request that fits the socket buffers cannot block; only a large one needs the limit.
    if exchange.request.len() > 16 * 1024 {
        stream.set_write_timeout(Some(limit)).map_err(io_failure)?;
    }
    stream.write_all(&exchange.request).map_err(io_failure)?;
    read(&mut stream, exchange, buf)?;
    Ok(Instant::now())
}

/// One level of a sweep: the run at that many connections, and the compared server's.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub connections: usize,
    pub report: BenchReport,
    /// With `--compare`: the other server at the same level.
    pub compared: Option<BenchReport>,
    /// compared requests/s over this server's.
    pub ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub levels: Vec<Level>,
    /// With `--compare`: runs per server and level, alternating; each figure is the median run.
    pub rounds: usize,
}

impl Sweep {
    pub fn to_text(&self) -> String {
        let first = &self.levels[0].report;
        let mut out = format!("target       {}\n", first.target);
        if let Some(c) = &self.levels[0].compared {
            out.push_str(&format!(
                "compared to  {} ({} alternating runs of {:.0} s each per level; medians)\n",
                c.target, self.rounds, c.duration_s
            ));
        }
        out.push_str("\nconnections   requests/s   p50 ms   p99 ms   errors");
        if self.levels[0].compared.is_some() {
            out.push_str("   compared req/s   p99 ms   ratio");
        }
        out.push('\n');
        for l in &self.levels {
            let r = &l.report;
            out.push_str(&format!(
                "{:>11}   {:>10.0}   {:>6.3}   {:>6.3}   {:>6}",
                l.connections, r.requests_per_sec, r.latency.p50_ms, r.latency.p99_ms, r.errors
            ));
            if let (Some(c), Some(ratio)) = (&l.compared, l.ratio) {
                out.push_str(&format!(
                    "   {:>14.0}   {:>6.3}   {:>5.2}",
                    c.requests_per_sec, c.latency.p99_ms, ratio
                ));
            }
            out.push('\n');
        }
        out
    }
}

/// Runs every level against `a` (and, alternating, against `b`), `rounds` times each when
/// comparing, keeping the median run of each.
pub fn sweep(
    a: (&str, SocketAddr),
    b: Option<(&str, SocketAddr)>,
    levels: &[usize],
    opts: &BenchOptions,
    rounds: usize,
) -> Result<Sweep> {
    let mut out = Vec::new();
    for &connections in levels {
        let opts = BenchOptions {
            connections,
            ..opts.clone()
        };
        let level = match b {
            None => Level {
                connections,
                report: run(a.0, a.1, &opts)?,
                compared: None,
                ratio: None,
            },
            Some(b) => {
                let mut ra = Vec::new();
                let mut rb = Vec::new();
                for _ in 0..rounds {
                    ra.push(run(a.0, a.1, &opts)?);
                    rb.push(run(b.0, b.1, &opts)?);
                }
                let (ma, mb) = (median(ra), median(rb));
                let ratio = mb.requests_per_sec / ma.requests_per_sec;
                Level {
                    connections,
                    report: ma,
                    compared: Some(mb),
                    ratio: Some(ratio),
                }
            }
        };
        out.push(level);
    }
    Ok(Sweep {
        levels: out,
        rounds: if b.is_some() { rounds } else { 1 },
    })
}

/// The run with the median throughput.
fn median(mut runs: Vec<BenchReport>) -> BenchReport {
    runs.sort_by(|x, y| x.requests_per_sec.total_cmp(&y.requests_per_sec));
    runs.swap_remove(runs.len() / 2)
}
