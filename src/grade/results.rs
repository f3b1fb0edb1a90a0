//! What grading leaves behind. Per submission, in `OUT/NAME/`: `report.json` (the check
//! report), `junit.xml`, `results.json` (Gradescope), `server.log` and, written last,
//! `submission.json` (the score and what the class files need), whose presence marks the
//! submission as done. For the class: `summary.csv` and `report.html`.

use std::path::Path;

use crate::outcome::class::{Graded, Notes};
use crate::outcome::doc::Doc;
use crate::outcome::rubric::Rubric;
use crate::outcome::score::{self};
use crate::report::{gradescope, junit};

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
