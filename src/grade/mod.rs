//! `srpc-check grade`: a class at a time. Each subfolder of the class folder is one
//! submission; each is graded by its own worker process inside its own box (see `sandbox`),
//! `--jobs` at a time, and its results are written to `OUT/NAME/` as soon as it finishes. A
//! second run with the same OUT skips what is already there, so an interrupted run resumes.
//!
//! - `worker`: what runs inside the box.
//! - `results`: the files of one submission, and of the class (summary.csv, report.html).
//! - `shard`: a class split over machines (`--partition hash:K/N`) and merged (`--merge`).

pub mod results;
pub mod shard;
#[cfg(target_os = "linux")]
pub mod worker;

#[cfg(target_os = "linux")]
mod class;
#[cfg(target_os = "linux")]
pub use class::{run, GradeOptions};

/// The cases a grade runs: the server's, and the client's with `--client-exec`.
pub fn case_keys(protocol: &crate::protocol::Protocol, client: bool) -> Vec<crate::suite::CaseKey> {
    let mut keys = crate::suite::keys(&(protocol.cases)());
    #[cfg(unix)]
    if client {
        keys.extend(crate::client::keys(protocol));
    }
    #[cfg(not(unix))]
    let _ = client;
    keys
}
