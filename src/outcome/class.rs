//! A class's rows: one graded submission (`submission.json`) with its tallies, or one that could
//! not be graded and why. The grader writes them; the class formats (CSV, HTML) render them.

use serde::{Deserialize, Serialize};

use super::doc::Doc;
use super::score::Score;
use crate::suite::Group;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tally {
    pub group: String,
    pub passed: usize,
    pub total: usize,
}

/// One graded submission, as `submission.json` holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Graded {
    pub submission: String,
    pub score: f64,
    pub max_score: f64,
    pub groups: Vec<Tally>,
    /// The first finding: "code at file:line: message of its representative case".
    pub first_failure: Option<String>,
    /// The codes of the findings, errors first.
    #[serde(default)]
    pub findings: Vec<String>,
    pub duration_ms: u64,
    /// A limit that stopped the server, in a student's words.
    pub limit: Option<String>,
    /// Why the server never started, when it did not.
    pub start_error: Option<String>,
    /// The most memory the submission's processes used together, in bytes (with cgroups).
    #[serde(default)]
    pub peak_memory: Option<u64>,
}

/// What the grader noted of a submission besides its report.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// A limit that stopped the server, in a student's words.
    pub limit: Option<String>,
    /// Why the server never started, when it did not.
    pub start_error: Option<String>,
    /// The most memory its processes used together, in bytes.
    pub peak_memory: Option<u64>,
}

/// A submission in the class files: graded, or the reason it could not be.
#[derive(Debug, Clone)]
pub enum Row {
    Graded(Box<Graded>, Box<Doc>),
    Ungraded { submission: String, reason: String },
}

impl Row {
    pub fn name(&self) -> &str {
        match self {
            Row::Graded(g, _) => &g.submission,
            Row::Ungraded { submission, .. } => submission,
        }
    }
}

impl Graded {
    pub fn new(
        submission: &str,
        doc: &Doc,
        score: &Score<'_>,
        duration_ms: u64,
        notes: Notes,
    ) -> Graded {
        let groups = Group::ALL
            .iter()
            .map(|g| {
                let of: Vec<_> = doc.tests.iter().filter(|t| t.group == g.name()).collect();
                Tally {
                    group: g.name().into(),
                    passed: of.iter().filter(|t| t.passed()).count(),
                    total: of.len(),
                }
            })
            // The client's group only when its cases ran (`grade --client-exec`).
            // Only the groups its protocol has (the client's only when its cases ran).
            .filter(|t| t.total > 0)
            .collect();
        Graded {
            submission: submission.into(),
            score: score.score,
            max_score: score.max_score,
            groups,
            first_failure: first_failure(doc),
            findings: doc.findings.iter().map(|f| f.code.clone()).collect(),
            duration_ms,
            limit: notes.limit,
            start_error: notes.start_error,
            peak_memory: notes.peak_memory,
        }
    }
}

/// What the class files show of a submission's first problem: its first finding, where it
/// lives, what its representative case saw and the last line the server printed then (its
/// exception); else the first case that did not pass.
fn first_failure(doc: &Doc) -> Option<String> {
    let Some(f) = doc.findings.first() else {
        return doc
            .tests
            .iter()
            .find(|t| !t.passed())
            .map(|t| format!("{}: {}", t.id, t.message));
    };
    let mut text = f.code.clone();
    if let Some(l) = &f.location {
        text.push_str(&format!(" at {}", l.label()));
    }
    if let Some(t) = doc.test(&f.representative) {
        text.push_str(&format!(": {}: {}", t.id, t.message));
        // The last line the server printed: the exception of its traceback.
        let last = t.server.as_ref().and_then(|e| {
            e.stderr_tail
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
        });
        if let Some(last) = last {
            text.push_str(&format!(" ({last})"));
        }
    }
    Some(text)
}
