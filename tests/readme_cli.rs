//! The README's commands work as written: every flag it shows exists on the command it shows
//! it with, and every complete command line it shows parses (the quick ones also run).

mod common;

use std::collections::HashMap;

use clap::Parser;
use common::*;

const SUBCOMMANDS: [&str; 7] = [
    "grade", "bench", "fuzz", "list", "explain", "call", "client",
];

/// Splits a command line as `sh` would, for the quoting the README uses.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// Every `srpc-check ...` the README shows: lines of its sh blocks (continuations joined,
/// comments dropped), and inline code; with whether it is a whole command line (a block's
/// line, or inline code that gives a flag) rather than a command named in a sentence.
fn commands(readme: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line == "```sh";
            continue;
        }
        if in_sh {
            let line = line.split(" #").next().unwrap_or("").trim();
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                continue;
            }
            let whole = std::mem::take(&mut pending) + line;
            if whole.starts_with("srpc-check") {
                found.push((whole, true));
            }
        } else {
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1 && span.starts_with("srpc-check ") {
                    found.push((span.to_owned(), span.contains(" --")));
                }
            }
        }
    }
    found
}

#[test]
fn every_command_the_readme_shows_is_one_srpc_check_accepts() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let shown = commands(&readme);
    assert!(shown.len() > 20, "{shown:?}");
    let mut helps: HashMap<String, String> = HashMap::new();
    let mut parsed = 0;
    let mut flags = 0;
    for (line, whole) in &shown {
        let w = words(line);
        let sub = w
            .get(1)
            .map(String::as_str)
            .filter(|s| SUBCOMMANDS.contains(s))
            .unwrap_or("")
            .to_owned();
        let help = helps.entry(sub.clone()).or_insert_with(|| {
            let mut c = cmd();
            if !sub.is_empty() {
                c.arg(&sub);
            }
            String::from_utf8(c.arg("--help").output().unwrap().stdout).unwrap()
        });
        for flag in w
            .iter()
            .flat_map(|t| t.trim_start_matches('[').split(['|', '=', ']']).next())
            .filter(|t| t.starts_with("--") && t.len() > 2)
        {
            flags += 1;
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "the README shows `{line}`, but `srpc-check {sub} --help` has no {flag}"
            );
        }
        // A complete command line, with no placeholder or alternatives, must parse.
        let placeholder = |t: &String| {
            t.len() > 1
                && t.chars()
                    .all(|c| c.is_ascii_uppercase() || matches!(c, ':' | '_' | '.'))
        };
        let internal = w.get(1).is_some_and(|s| s.starts_with("__"));
        if *whole
            && !line.contains(['[', '|', '<'])
            && !line.contains("...")
            && !w.iter().any(placeholder)
            && !internal
        {
            srpc_check::cli::Cli::try_parse_from(&w)
                .unwrap_or_else(|e| panic!("the README's `{line}` does not parse: {e}"));
            parsed += 1;
        }
    }
    assert!(parsed >= 5, "{parsed} complete command lines");
    assert!(flags > 30, "{flags} flags checked");
}

#[test]
fn the_readmes_quick_commands_run() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    // What the README shows, and the same run here (the suite cut to one group, for time).
    for (shown, run) in [
        (
            "srpc-check --target builtin",
            "--target builtin --only grading/*",
        ),
        ("srpc-check list --findings", "list --findings"),
        ("srpc-check grade --print-rubric", "grade --print-rubric"),
        ("srpc-check explain CODE", "explain header-single-recv"),
    ] {
        assert!(readme.contains(shown), "the README no longer shows {shown}");
        cmd().args(words(run)).assert().success();
    }
}
