//! `summary.csv`: one row per submission of a graded class, for a gradebook or a spreadsheet.

use crate::grade::results::Row;
use crate::suite::Group;

/// `summary.csv`: one row per submission.
pub fn summary_csv(rows: &[Row]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["submission", "score", "max_score"];
    header.extend(Group::ALL.map(Group::name));
    header.extend(["first_failure", "duration_s", "note"]);
    w.write_record(&header).expect("in memory");
    for row in rows {
        let record: Vec<String> = match row {
            Row::Graded(g, _) => {
                let mut r = vec![
                    g.submission.clone(),
                    g.score.to_string(),
                    g.max_score.to_string(),
                ];
                r.extend(Group::ALL.iter().map(|group| {
                    g.groups
                        .iter()
                        .find(|t| t.group == group.name())
                        .map_or_else(String::new, |t| format!("{}/{}", t.passed, t.total))
                }));
                r.push(g.first_failure.clone().unwrap_or_default());
                r.push(format!("{:.1}", g.duration_ms as f64 / 1000.0));
                r.push(g.limit.clone().unwrap_or_default());
                r
            }
            Row::Ungraded { submission, reason } => {
                let mut r = vec![submission.clone(), String::new(), String::new()];
                r.extend(Group::ALL.map(|_| String::new()));
                r.extend([
                    String::new(),
                    String::new(),
                    format!("not graded: {reason}"),
                ]);
                r
            }
        };
        w.write_record(&record).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 in, UTF-8 out")
}
