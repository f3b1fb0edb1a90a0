//! What grading leaves behind. Per submission, in `OUT/NAME/`: `report.json` (the check
//! report), `junit.xml`, `results.json` (Gradescope), `server.log` and, written last,
//! `submission.json` (the score and what the class files need), whose presence marks the
//! submission as done. For the class: `summary.csv` and `report.html`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::rubric::Rubric;
use super::score::{self, Score};
use crate::report::json::Doc;
use crate::report::{gradescope, junit};
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
        text.push_str(&format!(" at {}", crate::report::location_label(l)));
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

/// The submission-level text of a report, in Markdown: the score, the findings, what stopped
/// the server, how to read on.
pub fn overview(g: &Graded, doc: &Doc) -> String {
    let mut out = format!(
        "**Score: {}/{}.** {} of {} cases passed.\n",
        g.score,
        g.max_score,
        doc.tests.iter().filter(|t| t.passed()).count(),
        doc.tests.len()
    );
    if !doc.findings.is_empty() {
        out.push_str("\n### Findings\n\n");
        out.push_str(&crate::report::findings_markdown(doc));
        out.push_str("\n`srpc-check explain CODE` explains each one, with an example.\n");
    }
    if let Some(l) = &g.limit {
        out.push_str(&format!("\n{l}.\n"));
    }
    if let Some(e) = &g.start_error {
        out.push_str("\nYour server never started listening:\n\n");
        out.push_str(&crate::report::fenced(e));
    }
    if doc.restarts > 0 {
        out.push_str(&format!(
            "\nYour server had to be restarted {}; each failing case below says why.\n",
            crate::words::count(doc.restarts as usize, "time")
        ));
    }
    out
}

/// Writes one submission's files; `submission.json` last, by rename, so it marks completion.
pub fn write_submission(
    dir: &Path,
    doc: &Doc,
    rubric: &Rubric,
    server_log: &str,
    notes: Notes,
    duration_ms: u64,
) -> std::io::Result<Graded> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let score = score::score(doc, rubric);
    let graded = Graded::new(&name, doc, &score, duration_ms, notes);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), doc.to_pretty())?;
    std::fs::write(dir.join("junit.xml"), junit::render(doc))?;
    std::fs::write(
        dir.join("results.json"),
        gradescope::render(doc, &score, &overview(&graded, doc)),
    )?;
    std::fs::write(dir.join("server.log"), server_log)?;
    let tmp = dir.join(".submission.json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_string_pretty(&graded).expect("serialises") + "\n",
    )?;
    std::fs::rename(&tmp, dir.join("submission.json"))?;
    Ok(graded)
}

/// A submission graded earlier (by this run or one before it), if its files are complete.
pub fn read_submission(dir: &Path) -> Option<(Graded, Doc)> {
    let graded =
        serde_json::from_str(&std::fs::read_to_string(dir.join("submission.json")).ok()?).ok()?;
    let doc = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).ok()?).ok()?;
    Some((graded, doc))
}
