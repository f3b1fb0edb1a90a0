//! Human output of `srpc-check fuzz`.

use std::fmt::Write;
use std::path::Path;

use crate::fuzz::{FuzzOptions, FuzzReport};

pub fn header(opts: &FuzzOptions) -> String {
    format!(
        "srpc-check fuzz against {} ({}), seed {}\n",
        opts.target, opts.addr, opts.seed
    )
}

pub fn render(report: &FuzzReport, saved: Option<&Path>) -> String {
    let mut out = String::new();
    match &report.finding {
        None => {
            let _ = writeln!(
                out,
                "No failure in {} sessions ({:.1} sessions/s, {:.1} s).",
                report.cases, report.cases_per_sec, report.duration_s
            );
        }
        Some(f) => {
            let _ = writeln!(
                out,
                "FAILURE found in session {} (seed {}).",
                f.case, report.seed
            );
            if f.shrunk {
                let _ = writeln!(
                    out,
                    "Shrunk from {} to {} steps in {} tries (each with fresh keys).",
                    f.original_steps,
                    f.minimal_steps.len(),
                    f.shrink_steps
                );
            } else if f.failure.target_down {
                let _ = writeln!(out, "The target went down, so the session could not be shrunk; these are the steps up to the one after which it stopped answering.");
            }
            let _ = writeln!(out, "\n  minimal session:");
            for (n, step) in f.minimal_steps.iter().enumerate() {
                let _ = writeln!(out, "    {}. {step}", n + 1);
            }
            let _ = writeln!(
                out,
                "\n  step {} failed: {}",
                f.failure.step + 1,
                f.failure.message
            );
            match (&f.failure.server, f.failure.target_down) {
                (Some(event), _) => {
                    out.push_str(&super::human::server_event(event, "  ", "server"));
                    if let Some(cause) = &event.cause {
                        let _ = writeln!(out, "  likely cause: {cause}");
                    }
                }
                (None, true) => {
                    let _ = writeln!(
                        out,
                        "  the target crashed or exited: it no longer accepts connections"
                    );
                }
                (None, false) => {}
            }
            if let Some(e) = &f.failure.expected {
                let _ = writeln!(out, "  expected: {e}");
            }
            if let Some(a) = &f.failure.actual {
                let _ = writeln!(out, "  actual:   {a}");
            }
            if !f.replay_command.is_empty() {
                let _ = writeln!(out, "\n  replay:   {}", f.replay_command);
            }
            if let Some(path) = saved {
                let _ = writeln!(
                    out,
                    "  saved:    {} (srpc-check fuzz --target ... --replay {})",
                    path.display(),
                    path.display()
                );
            }
            let _ = writeln!(out, "\n  standalone reproducer (python3):\n");
            for line in f.reproducer.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    let _ = writeln!(out, "\nreplies by operation:");
    for (kind, classes) in &report.coverage {
        let counts: Vec<String> = classes
            .iter()
            .map(|(c, n)| {
                format!(
                    "{} {n}",
                    serde_json::to_value(c)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(out, "  {kind:<10} {}", counts.join(", "));
    }
    if !report.unreached.is_empty() {
        let _ = writeln!(
            out,
            "never reached: {} (run more sessions, or another --seed)",
            report.unreached.join(", ")
        );
    }
    out
}
