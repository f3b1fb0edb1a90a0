//! The protocols srpc-check speaks: one folder each, one line each in [`REGISTRY`].
//!
//! A protocol brings what is its own: its codec (which can also build lying frames), its oracle,
//! its cases (one file per group), its finding codes with their rules and source patterns, and
//! the fresh request that tells whether a server is still serving. Everything else is the
//! engine's and knows no protocol: the runner, supervision and observation, the sandbox, the
//! diagnosis machinery, grading and the reports. Codes that mean the same in every protocol
//! (`never-listens`, `stops-answering`, `no-close`, ...) are shared, in
//! [`crate::codes`].

/// Every protocol, one line each: its folder (a module), its [`Protocol`] static, the variant
/// of [`Code`] that holds its own finding codes, and their enum (in its `findings` module).
/// Adding a protocol is a folder and a line here. The macro hands the lines to `$then!`, before
/// `$rest`: this module declares the folders and [`REGISTRY`] from them, [`crate::codes`] the
/// variants of [`Code`].
#[macro_export]
macro_rules! protocols {
    ($then:ident ! $($rest:tt)*) => {
        $crate::$then! {
            [srpc SRPC Srpc SrpcCode]
            [app APP App AppCode]
            [handshake HANDSHAKE Handshake HandshakeCode];
            $($rest)*
        }
    };
}

/// Declares the registered protocols' modules and [`REGISTRY`] (see [`crate::protocols`]).
#[macro_export]
#[doc(hidden)]
macro_rules! declare_protocols {
    ($([$module:ident $static:ident $variant:ident $codes:ident])*;) => {
        $(pub mod $module;)*

        /// Every protocol, by name, in the registry's order.
        pub static REGISTRY: &[&Protocol] = &[$(&$module::$static),*];
    };
}

crate::protocols! { declare_protocols! }

use crate::codes::Code;
use crate::net::conn::ConnectError;
use crate::net::reply::NoReply;
use crate::suite::{Case, Ctx};

/// What a fresh, well-formed request showed.
#[derive(Debug, Clone)]
pub enum Fresh {
    /// No connection.
    Connect(ConnectError),
    /// Connected, but no reply was understood.
    NoReply(NoReply),
    /// A reply; `right`: the one the protocol defines. `shown`: the reply, for a message.
    Answered { right: bool, shown: String },
}

/// Sends a protocol's harmless request to an address and says whether the reply is that
/// protocol's; the watch (a run's, when srpc-check runs the server) ends a wait the server is
/// seen not to answer.
pub type Sniff = fn(std::net::SocketAddr, std::time::Duration, &crate::observe::Watch) -> bool;

/// Where a finding lives in a server's source (file, line), by a protocol's own patterns.
pub type Locate =
    fn(Code, &[&crate::runner::Outcome], &crate::diagnose::Source) -> Option<(String, u32)>;

/// One protocol, as the engine sees it.
pub struct Protocol {
    /// The name `--protocol` takes: a public interface, never renamed.
    pub name: &'static str,
    /// Which lab it is, for people: "the srpc lab", "lab 4".
    pub lab: &'static str,
    /// One line: what it is.
    pub summary: &'static str,
    /// Its server cases, in run order.
    pub cases: fn() -> Vec<Case>,
    /// Sends a fresh, well-formed request that changes nothing.
    pub fresh: fn(&mut Ctx) -> Fresh,
    /// Python statements (indented four spaces, ending in a newline) that read one request from
    /// `conn` with `read(conn, n)` and print it: the client reproducer's server.
    pub read_request_py: &'static str,
    /// `srpc-check fuzz` in this protocol: its model.
    pub fuzz: crate::fuzz::Fuzzer,
    /// `srpc-check bench` in this protocol: its requests and the check of each reply.
    pub load: &'static crate::bench::Load,
    /// Sends a harmless request on `conn` and reads its reply (`seed` makes its names fresh):
    /// the first connection to a server srpc-check did not start.
    pub greet: fn(&mut crate::net::conn::Conn, u64),
    /// `srpc-check call` in this protocol.
    pub call: &'static Caller,
    /// Its default rubrics.
    pub rubrics: crate::outcome::rubric::Rubrics,
    /// Its own finding codes, in catalogue order (the shared ones are [`Code::SHARED`]).
    pub own_codes: fn() -> Vec<Code>,
    /// Its own words for a shared code whose catalogue text speaks of another lab's code
    /// (`None`: the catalogue's). Read through [`Protocol::info`].
    pub shared_text: fn(Code) -> Option<&'static crate::codes::Info>,
    /// The port its lab's servers listen on when none is given.
    pub default_port: u16,
    /// What its grading cases are, for the summary line ("lab autograder cases: 3/3").
    pub grading_label: &'static str,
    /// Its client cases, for `srpc-check client` and `--client-exec` (`None`: its clients
    /// cannot be checked).
    pub client_cases: Option<fn() -> Vec<crate::client::ClientCase>>,
    /// Its servers print a traceback for a connection that raised and go on serving (the
    /// tutorial's main loop): a failed case's printed traceback is its evidence and its line.
    pub prints_tracebacks: bool,
    /// Sends one harmless request of this protocol to `addr` and says whether the reply is one
    /// of this protocol's (to name the protocol for a server checked in the wrong one).
    pub sniff: Sniff,
    /// Where in a server's source a finding lives, by this protocol's own patterns (`None`: the
    /// engine's rules, then a printed traceback, decide).
    /// The failed cases the finding groups are given, for what they saw.
    pub locate: Locate,
    /// A second look at a request that got no reply, or the refusal `refused`: srpc sends it
    /// again with a big-endian header, to tell a server that reads headers that way.
    pub probe: Option<&'static Prober>,
    /// The protocol's own rules over the causes the engine found, one per failed case: merging
    /// the causes that are one bug, and naming what the engine could only call a hang.
    pub refine: Refine,
    /// Findings that no case shows by itself (srpc: a crash behind the byte order, which the
    /// probe showed).
    pub more_findings: fn(
        &crate::runner::RunReport,
        &mut crate::diagnose::Diagnosis,
        Option<&crate::diagnose::Source>,
    ),
    /// The crash a case's own input explains (a server that exited or raised during it), when
    /// the protocol knows one; the engine names a client that left, and groups the rest by
    /// their traceback.
    pub crash_cause: fn(&crate::runner::Outcome) -> Option<Code>,
}

/// See [`Caller::reply`]: the text to print and whether the reply is right, or why none came.
pub type ShowReply =
    fn(&mut crate::net::conn::Conn, std::time::Duration) -> Result<(String, bool), String>;

/// `srpc-check call` in a protocol.
pub struct Caller {
    /// The request the command line asks for, framed, or why it is not one.
    pub request: fn(&crate::cli::CallArgs) -> Result<Vec<u8>, String>,
    /// Reads the reply and shows it as the lab's client would (and whether it is right), or
    /// says why none came.
    pub reply: ShowReply,
}

/// See [`Protocol::probe`].
pub struct Prober {
    /// A refused request's actual reply, as the cases write it: probed once a run.
    pub refused: &'static str,
    /// Sends the request again; `fresh`: the server was restarted for it.
    pub send: fn(&mut Ctx, &[u8], crate::runner::Trigger, bool) -> crate::runner::Probe,
}

/// See [`Protocol::refine`]: the run, each outcome's code so far, the student's source.
pub type Refine =
    fn(&crate::runner::RunReport, &mut [Option<Code>], Option<&crate::diagnose::Source>);

impl Protocol {
    /// What a finding of `code` says in this protocol: its title, explanation, fix and
    /// examples.
    pub fn info(&self, code: Code) -> &'static crate::codes::Info {
        (self.shared_text)(code).unwrap_or_else(|| code.info())
    }

    /// Its finding codes: its own, then the shared ones.
    pub fn codes(&self) -> Vec<Code> {
        let mut codes = (self.own_codes)();
        codes.extend_from_slice(Code::SHARED);
        codes
    }
}

impl std::fmt::Debug for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The protocol called `name`.
pub fn by_name(name: &str) -> Option<&'static Protocol> {
    REGISTRY.iter().copied().find(|p| p.name == name)
}

/// The protocol a file written before there were several names (`#[serde(default)]`).
pub fn default_name() -> String {
    srpc::SRPC.name.into()
}

/// `--client-exec` with a protocol whose clients srpc-check cannot check yet: a usage error.
pub fn client_exec_allowed(protocol: &Protocol, given: bool) -> Result<(), String> {
    if given && protocol.client_cases.is_none() {
        return Err(format!(
            "srpc-check cannot check --protocol {} clients yet; check the servers alone",
            protocol.name
        ));
    }
    Ok(())
}

/// The names, for `--protocol`'s possible values.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|p| p.name).collect()
}

/// The longest a sniff waits for its reply.
pub const SNIFF_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a run shows a server that answers none of its protocol's well-formed requests (no
/// grading case passed) but speaks another registered protocol at `addr` (where it listens
/// now: a restarted server may listen on another port); which one.
pub fn speaks_instead(
    report: &crate::runner::RunReport,
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
    watch: &crate::observe::Watch,
) -> Option<&'static Protocol> {
    use crate::suite::{Group, Status};
    let grading: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.group == Group::Grading)
        .collect();
    if grading.is_empty() || grading.iter().any(|o| o.status != Status::Fail) {
        return None;
    }
    // A server of the other protocol answers its sniff at once; one that does not speak it
    // costs this wait (ended early where the server is watched), so it is short.
    let wait = timeout.min(SNIFF_WAIT);
    REGISTRY
        .iter()
        .copied()
        .filter(|p| *p != report.protocol)
        .find(|p| (p.sniff)(addr, wait, watch))
}

/// Records that the server speaks `other`, and says so in every failed case's hint.
pub fn name_in(report: &mut crate::runner::RunReport, other: &'static Protocol) {
    report.speaks = Some(other);
    let line = format!(
        "this server speaks {} ({}): run with --protocol {}",
        other.name, other.lab, other.name
    );
    for o in &mut report.outcomes {
        if o.status == crate::suite::Status::Fail {
            o.hint = Some(line.clone());
        }
    }
}
