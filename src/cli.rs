//! Raw command-line flags (clap derive). Validation into working settings happens in `app`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::server::Target;

const CHECK_HELP: &str = "\
Examples:
  Check your server: run this from its folder; srpc-check starts it, restarts it when it
  crashes or hangs, and stops it (and everything it started) at the end:
    srpc-check --exec 'python3 srpc_lab.py SERVER'
  Check a server that is already running:
    srpc-check --target 127.0.0.1:4444
  Try srpc-check on its built-in reference server:
    srpc-check --target builtin
  The whole lab, server and client, in one report (and one score with --gradescope):
    srpc-check --exec 'python3 srpc_lab.py SERVER' --client-exec 'python3 srpc_lab.py CLIENT'
  The fragment cases only, with a JUnit report for CI:
    srpc-check --exec 'python3 server.py' --only 'fragment/*' --junit junit.xml
  What a finding means and how to fix it:
    srpc-check explain header-single-recv

Exit codes:
  0  no case failed (warnings allowed)
  1  at least one case failed
  2  no verdict: a usage error, or the target cannot be reached at all";

const GRADE_HELP: &str = "\
Examples:
  Grade every subfolder of submissions/, two at a time:
    srpc-check grade submissions/ --exec 'python3 srpc_lab.py SERVER' --out results/ --jobs 2
  Tighter limits, and points of your own:
    srpc-check grade submissions/ --exec 'python3 server.py' --out results/ \\
        --memory 256M --wall-time 2m --rubric rubric.toml
  The students' clients too (the default rubric gives them 15 of the 100 points):
    srpc-check grade submissions/ --exec 'python3 srpc_lab.py SERVER' --out results/ \\
        --client-exec 'python3 srpc_lab.py CLIENT'
  Start a rubric from the default:
    srpc-check grade --print-rubric > rubric.toml
  Three machines, one shard each (the same --seed everywhere), then one merge:
    srpc-check grade submissions/ --exec 'python3 server.py' --out shard-2 --partition hash:2/3 --seed 7
    srpc-check grade --merge shard-1 shard-2 shard-3 --out results/

Exit codes:
  0  every submission was graded, whatever its score
  1  some submissions could not be graded (see OUT/summary.csv)
  2  a usage error";

const BENCH_HELP: &str = "\
Examples:
  The built-in reference server, 16 connections for 10 s:
    srpc-check bench --target builtin
  Your server, started by srpc-check, at 1, 4 and 16 connections:
    srpc-check bench --exec 'python3 server.py' --connections 1,4,16 --duration 5s
  A fixed request rate, with 1,000 slow clients held open:
    srpc-check bench --target 127.0.0.1:4444 --rate 5000 --hold 1000

Exit codes:
  0  the benchmark ran
  2  a usage error, or the target cannot be reached";

const FUZZ_HELP: &str = "\
Examples:
  500 random sessions against your server, started by srpc-check:
    srpc-check fuzz --exec 'python3 server.py'
  For a minute, saving the smallest failing session, then replaying it:
    srpc-check fuzz --target 127.0.0.1:4444 --duration 1m --save failing.json
    srpc-check fuzz --target 127.0.0.1:4444 --replay failing.json

Exit codes:
  0  no session failed
  1  a session failed (it is shown shrunk, with a reproducer)
  2  a usage error, or the target cannot be reached";

const CALL_HELP: &str = "\
Examples:
  srpc-check call PUT HELLO WORLD                 (VALUE is a string unless it parses as JSON)
  srpc-check call PUT ABC '{\"val1\": 111, \"val2\": 222}'
  srpc-check call GET ABC
  srpc-check call PUT N 42 --string               (the string \"42\", not the number)
  srpc-check call --json '{\"func\": \"ECHO\", \"params\": {}}' --hex
  srpc-check call GET ABC --target 127.0.1.1:4444

Exit codes:
  0  the reply is well-formed and its status is OK
  1  the reply says ERROR, is malformed (said in words), or never came
  2  a usage error, or the server cannot be reached";

const CLIENT_HELP: &str = "\
Examples:
  Check your client: srpc-check plays the server, and runs your program once per case
  (in a private network, where it listens on port 4444 on every address):
    srpc-check client --exec 'python3 srpc_lab.py CLIENT'
  The header cases only, with a JUnit report:
    srpc-check client --exec 'python3 srpc_lab.py CLIENT' --only 'client/header-*' --junit junit.xml
  Where namespaces are unavailable (or your client dials another address):
    srpc-check client --exec 'python3 client.py 127.0.0.1 5000' --listen 127.0.0.1:5000

Exit codes:
  0  no case failed (warnings allowed)
  1  at least one case failed
  2  no verdict: a usage error, or the client cannot be run at all";

const LIST_HELP: &str = "\
Examples:
  srpc-check list
  srpc-check list --findings

Exit codes:
  0  listed";

const EXPLAIN_HELP: &str = "\
Examples:
  srpc-check explain header-single-recv
  srpc-check list --findings     (every code)

Exit codes:
  0  explained
  2  no such code";

#[derive(Debug, Parser)]
#[command(
    name = "srpc-check",
    version,
    about = "Checks a lab's server against its protocol and says what is wrong and why.",
    long_about = "Checks a lab's server against its protocol and says what is wrong and why.\n\nThe protocol is srpc unless --protocol app names lab 4's (Real Python's socket tutorial). Without a subcommand it runs the conformance suite against --target or the server --exec starts. The subcommands grade a class, benchmark and fuzz a server.",
    after_help = CHECK_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every conformance case (the server's, then the client's): id, group, description
    /// and the requirement it checks (with --findings: every finding code srpc-check reports).
    #[command(after_help = LIST_HELP)]
    List {
        /// List the catalogue of finding codes instead of the cases.
        #[arg(long)]
        findings: bool,
        #[command(flatten)]
        protocol: ProtocolArg,
    },
    /// Explain a finding code: what goes wrong, the fix, and a wrong and a right example.
    #[command(after_help = EXPLAIN_HELP)]
    Explain {
        /// A finding code, as reports print it (e.g. header-single-recv).
        code: String,
        #[command(flatten)]
        protocol: ProtocolArg,
    },
    /// Measure requests/s and latency, one request per connection: closed or open loop (--rate),
    /// sweeps over --connections, two servers compared (--compare), slow clients held (--hold).
    #[command(after_help = BENCH_HELP)]
    Bench(BenchArgs),
    /// Check a client: srpc-check plays a correct server, runs the client once per case and
    /// varies how each reply is delivered (split headers, pieces, large, non-ASCII, slow, none).
    #[command(after_help = CLIENT_HELP)]
    Client(ClientArgs),
    /// Send one request to a server and print its reply: GET NAME, PUT NAME VALUE, or --json.
    #[command(after_help = CALL_HELP)]
    Call(CallArgs),
    /// Random sessions checked against a model of the store; failures are shrunk and replayable.
    #[command(after_help = FUZZ_HELP)]
    Fuzz(FuzzArgs),
    /// Grade a class: every subfolder of DIR is a submission, run with --exec in its own
    /// sandbox, --jobs at a time, with results per submission and for the class in --out.
    #[command(
        after_help = GRADE_HELP,
        override_usage = "srpc-check grade <DIR> --exec <COMMAND> --out <OUT> [OPTIONS]\n       srpc-check grade --merge <SHARD>... --out <OUT>\n       srpc-check grade --print-rubric"
    )]
    Grade(GradeArgs),
    /// (internal) Grade one submission inside its sandbox.
    #[command(name = "__grade-worker", hide = true)]
    GradeWorker { spec: String },
    /// (internal) Run COMMAND with its own loopback and /etc/hosts.
    #[command(name = "__box", hide = true)]
    NetBox {
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// (internal) Apply the sandbox's limits, then run COMMAND.
    #[command(name = "__jail", hide = true)]
    Jail {
        spec: String,
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, Args)]
pub struct GradeArgs {
    #[command(flatten)]
    pub protocol: ProtocolArg,
    /// The class folder: one subfolder per submission.
    // Required, so help shows <DIR>; an argument that conflicts with one given is not.
    #[arg(required = true, conflicts_with_all = ["print_rubric", "merge"])]
    pub dir: Option<PathBuf>,
    /// The server command, run by `sh -c` in (a copy of) each submission's folder, e.g.
    /// 'python3 srpc_lab.py SERVER'.
    #[arg(long, value_name = "COMMAND", required_unless_present_any = ["print_rubric", "merge"])]
    pub exec: Option<String>,
    /// Where results go: OUT/NAME/ per submission, OUT/summary.csv, OUT/report.html and
    /// OUT/grade.json (how the class was graded).
    #[arg(long, value_name = "OUT", required_unless_present = "print_rubric")]
    pub out: Option<PathBuf>,
    /// Grade only the submissions whose name hashes to shard K of N (K from 1 to N; `k8s` reads
    /// it from JOB_COMPLETION_INDEX, `slurm` from SLURM_ARRAY_TASK_ID). Give every shard the
    /// same --seed, then merge their OUT folders with --merge.
    #[arg(long, value_name = "hash:K/N", value_parser = crate::grade::shard::Partition::parse, conflicts_with = "merge")]
    pub partition: Option<crate::grade::shard::Partition>,
    /// Merge the OUT folders of every shard of a class into --out: the submissions' folders,
    /// and the class's summary.csv and report.html as one run would write them.
    #[arg(long, value_name = "SHARD", num_args = 1.., conflicts_with_all = ["dir", "exec", "rubric", "force"])]
    pub merge: Vec<PathBuf>,
    /// Submissions graded at the same time [default: the number of cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
    /// Points per case (TOML); see --print-rubric for the format and the default.
    #[arg(long, value_name = "FILE")]
    pub rubric: Option<PathBuf>,
    /// Print the default rubric and exit.
    #[arg(long)]
    pub print_rubric: bool,
    /// Grade every submission again, even those OUT already has results for.
    #[arg(long)]
    pub force: bool,
    /// Memory one submission may use, all its processes together (resident memory, page cache
    /// and the files it writes to its scratch folder), e.g. 1G, 512M. A cgroup limit; where no
    /// cgroup can be made, each process's address space instead.
    #[arg(long, default_value = "1G", value_parser = crate::sandbox::parse_bytes)]
    pub memory: u64,
    /// Processes and threads one submission may have at once (a cgroup's pids limit; where no
    /// cgroup can be made, the processes of the user it runs as, when srpc-check is root).
    #[arg(long, default_value = "128", value_parser = clap::value_parser!(u64).range(8..))]
    pub pids: u64,
    /// CPU time each server process may use.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub cpu_time: Duration,
    /// Wall-clock time for one whole submission (start-up, every case, every restart).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub wall_time: Duration,
    /// How long a server may take to start listening.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub start_timeout: Duration,
    /// Limit for each network operation.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Seed for the random splits and key names (the same for every submission).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also test each submission's client: this command runs (in its copy of the folder, in its
    /// box) once per client case, with srpc-check as the server, e.g. 'python3 srpc_lab.py CLIENT'.
    #[arg(long, value_name = "COMMAND", conflicts_with = "merge")]
    pub client_exec: Option<String>,
}

/// Flags of `srpc-check client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub protocol: ProtocolArg,
    /// The client program, run by `sh -c` in the current directory once per case, e.g.
    /// 'python3 srpc_lab.py CLIENT', or 'python3 app-client.py {host} {port} double 7':
    /// {host} and {port} become the address srpc-check listens on.
    #[arg(long, value_name = "COMMAND", required_unless_present = "print_rubric")]
    pub exec: Option<String>,
    /// Listen on ADDR in this machine's network instead of on the protocol's port (srpc 4444,
    /// app 65432) in a private one (where network namespaces are unavailable, srpc-check
    /// listens in this machine's network and says so).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// How long the client may take to make its first connection in each run.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub start_timeout: Duration,
    /// Limit for each wait on the client (a request, reading a piece, finishing).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Run only cases whose id matches one of these globs (e.g. 'client/header-*').
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip cases whose id matches one of these globs.
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Print the default rubric of the client cases and exit.
    #[arg(long)]
    pub print_rubric: bool,
}

/// How a conformance run reports (the server's, and `srpc-check client`).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scored").args(["gradescope", "classroom"]).multiple(true)))]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Human output: every case's line and full details, not one block per finding.
    #[arg(long, short)]
    pub verbose: bool,
    /// Also write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write Gradescope's results.json to this file (scored with --rubric).
    #[arg(long, value_name = "FILE")]
    pub gradescope: Option<PathBuf>,
    /// Also write GitHub Classroom's autograding result (base64 JSON) as `result=` to
    /// $GITHUB_OUTPUT, or to stdout when that is not set (the report then goes to stderr).
    #[arg(long)]
    pub classroom: bool,
    /// Points per case for --gradescope and --classroom [default: `srpc-check grade
    /// --print-rubric`, or `srpc-check client --print-rubric` for a client].
    #[arg(long, value_name = "FILE", requires = "scored")]
    pub rubric: Option<PathBuf>,
}

/// Running the server under test (shared by check, fuzz and bench).
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Start the server with this shell command (run by `sh -c` in the current directory), and
    /// stop it and everything it started at the end. Without --target, the address is read
    /// from the sockets the server listens on.
    #[arg(long, value_name = "COMMAND")]
    pub exec: Option<String>,
    /// With --exec: how long the server may take to start listening.
    #[arg(long, default_value = "10s", value_parser = parse_duration, requires = "exec")]
    pub start_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub protocol: ProtocolArg,
    /// Server to fuzz: HOST:PORT, or "builtin" for the embedded reference server
    /// [default: localhost:4444, or where --exec's server listens].
    #[arg(long)]
    pub target: Option<Target>,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Sessions to run [default: 500, or unlimited with --duration].
    #[arg(long)]
    pub cases: Option<u64>,
    /// Stop after this long, e.g. 30s or 5m.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Seed for the sessions; the same seed generates the same sessions.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Limit for each network operation.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Write the minimal failing session to this file (JSON).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Run the session saved in this file once, instead of generating sessions.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cases", "duration"])]
    pub replay: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people (the default).
    #[value(alias = "text")]
    Human,
    /// For machines.
    Json,
}

/// Flags of the conformance run (the default command).
#[derive(Debug, Args)]
#[group(id = "check")]
pub struct CheckArgs {
    /// Server to check: HOST:PORT, or "builtin" for the embedded reference server
    /// [default: localhost:4444 (app: localhost:65432), or where --exec's server listens].
    #[arg(long)]
    pub target: Option<Target>,
    #[command(flatten)]
    pub protocol: ProtocolArg,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Limit for each network operation (connect, each read, each write).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Run only cases whose id matches one of these globs (e.g. 'fragment/*', grading/put).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip cases whose id matches one of these globs.
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Accept {"status": "ERROR"} as the reply to a GET of a missing name.
    #[arg(long)]
    pub allow_missing_error: bool,
    /// Seed for the random splits and key names (printed with every run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Pause between the pieces of a split request, long enough for each piece to reach the
    /// server as its own read.
    #[arg(long, default_value = "40ms", value_parser = parse_duration)]
    pub split_pause: Duration,
    /// With --exec: the whole lab in one run. After the server's cases, srpc-check plays the
    /// server for this client command (the cases of `srpc-check client`), with the server and
    /// the client in one private network; one report, one score.
    #[arg(long, value_name = "COMMAND", requires = "exec")]
    pub client_exec: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    #[command(flatten)]
    pub protocol: ProtocolArg,
    /// GET or PUT; with --protocol app, the action: search, double, negate, or any other word
    /// (sent as binary, as the tutorial's client does).
    #[arg(required_unless_present = "json")]
    pub func: Option<String>,
    /// The name (the request's obj), as a string; with --protocol app, the action's value.
    #[arg(allow_hyphen_values = true)]
    pub name: Option<String>,
    /// PUT's value: JSON when it parses as JSON (42, [1, 2], {"a": 1}, "text"), a string
    /// otherwise.
    #[arg(allow_hyphen_values = true)]
    pub value: Option<String>,
    /// Send this text as the request's JSON payload, as it is, instead of GET or PUT.
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["func", "name", "value"])]
    pub json: Option<String>,
    /// VALUE is a string, even when it parses as JSON.
    #[arg(long)]
    pub string: bool,
    /// Also show the bytes sent and received, as hex dumps.
    #[arg(long)]
    pub hex: bool,
    /// Server: HOST:PORT, or "builtin" for the embedded reference server [default:
    /// localhost:4444].
    #[arg(long)]
    pub target: Option<Target>,
    /// Limit for each network operation.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub protocol: ProtocolArg,
    /// Server to load: HOST:PORT, or "builtin" for the embedded reference server
    /// [default: localhost:4444, or where --exec's server listens].
    #[arg(long)]
    pub target: Option<Target>,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Concurrent clients, each one request per connection. Several levels, comma-separated
    /// (1,4,16,64), run one after another and print one row each.
    #[arg(long, value_delimiter = ',', default_value = "16", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: Vec<u32>,
    /// How long to run (each level, and each run of each server with --compare), e.g. 10s, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Size of each PUT value (a JSON string of this many bytes; srpc only).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=16_000_000))]
    pub value_bytes: u32,
    /// Limit for each network operation.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Open loop: this many requests per second over all connections, each due at a fixed
    /// time, latency counted from when it was due. Without it: closed loop.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Hold this many slow clients open through the run (each sends half a header, or nothing,
    /// and no more), to see whether well-formed requests still get through.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub hold: u32,
    /// Also load this server (HOST:PORT or builtin), alternating with the target, 3 runs each
    /// per level, and report the ratio of their medians.
    #[arg(long, value_name = "HOST:PORT")]
    pub compare: Option<Target>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also write the report to this file (in the chosen format).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 1.0 => Ok(r),
        _ => Err("give requests per second, at least 1 (e.g. 20000)".into()),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (try 10s, 500ms, 1m)"))?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}

/// `--protocol`: which lab's protocol the server or client speaks.
#[derive(Debug, Clone, Args)]
pub struct ProtocolArg {
    /// The protocol: srpc (the GET/PUT lab, the default) or app (lab 4, Real Python's socket
    /// tutorial, with the assignment's double and negate).
    #[arg(id = "protocol", long = "protocol", value_name = "NAME", default_value = "srpc",
          value_parser = clap::builder::PossibleValuesParser::new(crate::protocol::names()))]
    pub name: String,
}

impl ProtocolArg {
    pub fn get(&self) -> &'static crate::protocol::Protocol {
        crate::protocol::by_name(&self.name).expect("clap allows only registered names")
    }
}
