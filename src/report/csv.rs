//! `summary.csv`: one row per submission of a graded class, for a gradebook or a spreadsheet.
//!
//! Text from a submission (its folder name, its output in `first_failure`) is data: a cell
//! that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) is prefixed with `'`, as OWASP advises against CSV injection.

use crate::outcome::class::Row;
use crate::suite::Group;

/// `summary.csv`: one row per submission.
pub fn summary_csv(rows: &[Row]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // A column per group; the client's only when the class's clients were tested.
    // (and the assignment's only when the protocol has one).
    let has = |group: Group| {
        rows.iter().any(|r| match r {
            Row::Graded(g, _) => g.groups.iter().any(|t| t.group == group.name()),
            Row::Ungraded { .. } => false,
        })
    };
    let graded = rows.iter().any(|r| matches!(r, Row::Graded(..)));
    let groups: Vec<Group> = Group::ALL
        .into_iter()
        .filter(|g| has(*g) || (!graded && !matches!(g, Group::Client | Group::Assignment)))
        .collect();
    let mut header = vec!["submission", "score", "max_score"];
    header.extend(groups.iter().map(|g| g.name()));
    header.extend([
        "findings",
        "first_failure",
        "duration_s",
        "peak_memory_mib",
        "note",
    ]);
    w.write_record(&header).expect("in memory");
    for row in rows {
        let record: Vec<String> = match row {
            Row::Graded(g, _) => {
                let mut r = vec![
                    g.submission.clone(),
                    g.score.to_string(),
                    g.max_score.to_string(),
                ];
                r.extend(groups.iter().map(|group| {
                    g.groups
                        .iter()
                        .find(|t| t.group == group.name())
                        .map_or_else(String::new, |t| format!("{}/{}", t.passed, t.total))
                }));
                r.push(g.findings.join(" "));
                r.push(g.first_failure.clone().unwrap_or_default());
                r.push(format!("{:.1}", g.duration_ms as f64 / 1000.0));
                r.push(
                    g.peak_memory
                        .map(|b| format!("{:.1}", b as f64 / (1 << 20) as f64))
                        .unwrap_or_default(),
                );
                r.push(g.limit.clone().unwrap_or_default());
                r
            }
            Row::Ungraded { submission, reason } => {
                let mut r = vec![submission.clone(), String::new(), String::new()];
                r.extend(groups.iter().map(|_| String::new()));
                r.extend([
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("not graded: {reason}"),
                ]);
                r
            }
        };
        w.write_record(record.iter().map(|cell| neutralised(cell)))
            .expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 in, UTF-8 out")
}

/// `cell`, with a leading `'` when a spreadsheet would take it for a formula.
fn neutralised(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn formulas_are_neutralised_and_other_cells_kept() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\t=1"] {
            assert_eq!(neutralised(formula), format!("'{formula}"));
        }
        for plain in ["alice", "60", "header-single-recv at s.py:3", ""] {
            assert_eq!(neutralised(plain), plain);
        }
    }
}
