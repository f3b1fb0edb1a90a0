//! `report.html` for a graded class: one self-contained file (no network, no external
//! assets) a TA opens in a browser. The bugs in the class (one row per finding code, with
//! how many submissions have it and which), the score distribution, a matrix of submissions
//! against cases whose cells name their finding, and every student's findings, then their
//! failing cases with the likely cause, hex dumps, reproducer and server traceback.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Details;
use crate::outcome::class::Row;
use crate::outcome::doc::Test;
use crate::outcome::rubric::Rubric;

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:2px 6px;border:1px solid #ddd;text-align:left}
.matrix td.c{width:14px;height:14px;padding:0;text-align:center;font-size:11px}
.matrix th.v{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:11px;white-space:nowrap}
.p{background:#c8eac8}.f{background:#f3b6b6}.n{background:#eee}
.bar{background:#6b8fd6;height:14px;display:inline-block}
pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:12px}
details{margin:4px 0}summary{cursor:pointer}.ungraded{color:#a00}
"#;

/// Opens the student's section and the case's details when a matrix cell is followed.
const SCRIPT: &str = r#"
function openFor(id){var e=document.getElementById(id);while(e){if(e.tagName==='DETAILS'){e.open=true;}e=e.parentElement;}}
window.addEventListener('hashchange',function(){openFor(location.hash.slice(1));});
if(location.hash){openFor(location.hash.slice(1));}
"#;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// An id attribute value for a submission (and case).
fn anchor(name: &str, case: Option<&str>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    match case {
        Some(c) => format!("s-{}--{}", clean(name), clean(c)),
        None => format!("s-{}", clean(name)),
    }
}

pub fn render(rows: &[Row], rubric: &Rubric, command: &str, client: Option<&str>) -> String {
    let mut h = String::new();
    let graded: Vec<_> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Graded(g, d) => Some((g, d)),
            Row::Ungraded { .. } => None,
        })
        .collect();
    let ids: Vec<&str> = rubric.weights.iter().map(|(id, _)| *id).collect();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>srpc-check grades</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>srpc-check grades</h1><p>{} submissions, {} graded, server command <code>{}</code>{}, maximum score {}.</p>",
        rows.len(),
        graded.len(),
        esc(command),
        client.map_or_else(String::new, |c| format!(
            ", client command <code>{}</code>",
            esc(c)
        )),
        crate::outcome::score::round(rubric.max_score())
    );

    // The bugs of the class: one row per finding code, however many cases show it.
    let mut bugs: BTreeMap<&str, (&str, &str, Vec<&str>)> = BTreeMap::new();
    for (g, doc) in &graded {
        for f in &doc.findings {
            let entry = bugs.entry(f.code.as_str()).or_insert((
                f.title.as_str(),
                f.severity.as_str(),
                Vec::new(),
            ));
            entry.2.push(g.submission.as_str());
        }
    }
    let mut bugs: Vec<_> = bugs.into_iter().collect();
    bugs.sort_by(|a, b| b.1 .2.len().cmp(&a.1 .2.len()).then(a.0.cmp(b.0)));
    h.push_str("<h2 id=\"bugs\">Bugs in this class</h2>");
    if bugs.is_empty() {
        h.push_str("<p>No submission has a finding.</p>");
    } else {
        h.push_str("<table class=\"bugs\"><tr><th>finding</th><th>what</th><th>submissions</th><th>which</th></tr>");
        for (code, (title, severity, who)) in &bugs {
            let links: Vec<String> = who
                .iter()
                .map(|s| format!("<a href=\"#{}\">{}</a>", anchor(s, None), esc(s)))
                .collect();
            let _ = write!(
                h,
                "<tr class=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(severity),
                esc(code),
                esc(title),
                who.len(),
                links.join(", ")
            );
        }
        h.push_str("</table><p><code>srpc-check explain CODE</code> explains a finding, with an example.</p>");
    }

    // Score distribution: ten buckets of the maximum.
    h.push_str("<h2 id=\"distribution\">Score distribution</h2><table class=\"dist\">");
    let mut buckets = [0usize; 10];
    for (g, _) in &graded {
        let frac = if g.max_score > 0.0 {
            g.score / g.max_score
        } else {
            0.0
        };
        buckets[((frac * 10.0).floor() as usize).min(9)] += 1;
    }
    let widest = buckets.iter().copied().max().unwrap_or(0).max(1);
    for (i, n) in buckets.iter().enumerate().rev() {
        let label = if i == 9 {
            "90-100%".to_string()
        } else {
            format!("{}-{}%", i * 10, i * 10 + 9)
        };
        let _ = write!(
            h,
            "<tr><td>{label}</td><td><span class=\"bar\" style=\"width:{}px\"></span> {n}</td></tr>",
            n * 300 / widest
        );
    }
    h.push_str("</table>");
    if !graded.is_empty() {
        let mut scores: Vec<f64> = graded.iter().map(|(g, _)| g.score).collect();
        scores.sort_by(f64::total_cmp);
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let _ = write!(
            h,
            "<p>mean {:.1}, median {}, lowest {}, highest {}</p>",
            mean,
            scores[scores.len() / 2],
            scores[0],
            scores[scores.len() - 1]
        );
    }

    // The matrix.
    h.push_str("<h2 id=\"matrix\">Submissions against cases</h2><table class=\"matrix\"><tr><th>submission</th><th>score</th>");
    for id in &ids {
        let _ = write!(h, "<th class=\"v\" title=\"{0}\">{0}</th>", esc(id));
    }
    h.push_str("</tr>");
    for row in rows {
        match row {
            Row::Graded(g, doc) => {
                let _ = write!(
                    h,
                    "<tr><td><a href=\"#{}\">{}</a></td><td>{}/{}</td>",
                    anchor(&g.submission, None),
                    esc(&g.submission),
                    g.score,
                    g.max_score
                );
                for id in &ids {
                    match doc.tests.iter().find(|t| t.id == *id) {
                        Some(t) if t.passed() => {
                            let _ =
                                write!(h, "<td class=\"c p\" title=\"{}: pass\">✓</td>", esc(id));
                        }
                        Some(t) => {
                            let code = t.finding.as_deref().unwrap_or("no finding");
                            let _ = write!(
                                h,
                                "<td class=\"c f\" data-finding=\"{1}\" title=\"{0}: {1}: {2}\"><a href=\"#{3}\">✗</a></td>",
                                esc(id),
                                esc(code),
                                esc(&t.message),
                                anchor(&g.submission, Some(id))
                            );
                        }
                        None => h.push_str("<td class=\"c n\"></td>"),
                    }
                }
                h.push_str("</tr>");
            }
            Row::Ungraded { submission, reason } => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"ungraded\" colspan=\"{}\">not graded: {}</td></tr>",
                    esc(submission),
                    ids.len() + 1,
                    esc(reason)
                );
            }
        }
    }
    h.push_str("</table>");

    // Each student's failures.
    h.push_str("<h2 id=\"students\">Students</h2>");
    for row in rows {
        let Row::Graded(g, doc) = row else { continue };
        let failing: Vec<&Test> = doc.tests.iter().filter(|t| !t.passed()).collect();
        let _ = write!(
            h,
            "<details class=\"student\" id=\"{}\"><summary><b>{}</b>: {}/{}, {}, {} failing{}</summary>",
            anchor(&g.submission, None),
            esc(&g.submission),
            g.score,
            g.max_score,
            crate::words::count(doc.findings.len(), "finding"),
            failing.len(),
            g.peak_memory
                .map(|b| format!(", peak memory {:.1} MiB", b as f64 / (1 << 20) as f64))
                .unwrap_or_default()
        );
        for note in [&g.limit, &g.start_error].into_iter().flatten() {
            let _ = write!(h, "<pre>{}</pre>", esc(note));
        }
        if !doc.findings.is_empty() {
            h.push_str("<ul class=\"findings\">");
            for f in &doc.findings {
                let _ = write!(
                    h,
                    "<li><code>{}</code> {} ({})",
                    esc(&f.code),
                    esc(&f.title),
                    f.extent()
                );
                if let Some(l) = &f.location {
                    let _ = write!(h, " at <code>{}</code>", esc(&super::location_label(l)));
                    if let Some(text) = &l.text {
                        let _ = write!(h, ": <code>{}</code>", esc(text));
                    }
                }
                let _ = write!(h, "<br>fix: {}</li>", esc(&f.fix));
            }
            h.push_str("</ul>");
        }
        for t in failing {
            let code = t
                .finding
                .as_deref()
                .map(|c| format!(" [{}]", esc(c)))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<details class=\"failure\" id=\"{}\"><summary>{}{code}: {}</summary>",
                anchor(&g.submission, Some(&t.id)),
                esc(&t.id),
                esc(&t.message)
            );
            let d = Details::of(t, "", super::DUMP_LIMIT);
            for (label, v) in &d.fields {
                let _ = write!(h, "<p><b>{label}:</b> {}</p>", esc(v));
            }
            for (label, total, dump) in &d.dumps {
                let _ = write!(
                    h,
                    "<p><b>{label}</b> ({}):</p><pre>{}</pre>",
                    crate::words::count(*total, "byte"),
                    esc(dump)
                );
            }
            if let Some(server) = &d.server {
                let _ = write!(
                    h,
                    "<p><b>the {}:</b></p><pre class=\"traceback\">{}</pre>",
                    crate::report::human::subject(&t.group),
                    esc(server)
                );
            }
            if let Some(r) = d.reproducer {
                let _ = write!(h, "<p><b>reproducer:</b></p><pre>{}</pre>", esc(r));
            }
            h.push_str("</details>");
        }
        h.push_str("</details>");
    }
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    h
}
