//! `srpc-check` without a subcommand: the conformance suite against one server, its reports
//! and the grading platforms' files.

use std::io::IsTerminal;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::cli::{CheckArgs, Format};
use crate::diagnose::{self, Code, Source};
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::outcome::rubric::Rubric;
use crate::report::{human, json, junit};
use crate::report::{write_file, write_stdout};
use crate::runner::{self, Plan};
use crate::suite::{self, Case, CaseKey, Settings};

use super::{load_rubric, locate, reach, target_name, Server};

pub(crate) fn globs(flag: &str, patterns: &[String], cases: &[CaseKey]) -> Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p)
            .map_err(|e| Error::Usage(format!("{flag} '{p}' is not a valid pattern: {e}")))?;
        let one = glob.compile_matcher();
        if !cases.iter().any(|c| one.is_match(c.id)) {
            return Err(Error::Usage(format!(
                "{flag} '{p}' matches no case; `srpc-check list` shows every id"
            )));
        }
        set.add(glob);
    }
    set.build()
        .map(Some)
        .map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

/// Which cases run; the others are only counted.
pub(crate) fn plan<'a>(cases: &'a [Case], args: &CheckArgs) -> Result<Plan<'a>> {
    let keys = suite::keys(cases);
    let only = globs("--only", &args.only, &keys)?;
    let skip = globs("--skip", &args.skip, &keys)?;
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|c| only.as_ref().is_none_or(|g| g.is_match(c.id)))
        .filter(|c| skip.as_ref().is_none_or(|g| !g.is_match(c.id)))
        .collect();
    Ok(Plan {
        left_out: cases.len() - selected.len(),
        cases: selected,
        deadline: None,
    })
}

pub(crate) fn check_command(args: CheckArgs) -> Result<u8> {
    let cases = suite::all();
    let plan = plan(&cases, &args)?;
    let (rubric, _) = load_rubric(args.rubric.as_deref(), &suite::keys(&cases))?;
    let github_output = std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty());
    // --classroom without $GITHUB_OUTPUT owns stdout; the report goes to stderr.
    let report_to_stderr = args.classroom && github_output.is_none();
    let emit = |text: &str| -> Result<()> {
        if report_to_stderr {
            eprint!("{text}");
            Ok(())
        } else {
            write_stdout(text)
        }
    };
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let target = target_name(args.target.as_ref(), &args.exec);
    let human = args.format == Format::Human;
    let style = human::Style::detect(std::io::stdout().is_terminal());
    // With --exec, the student's code is at hand: findings point at its lines. It is read
    // while the cases run.
    let source = match (&args.exec.exec, std::env::current_dir()) {
        (Some(command), Ok(dir)) => Some(Source::read_in_background(command, &dir)),
        _ => None,
    };
    let located = locate(args.target.as_ref(), &args.exec, |host, port| {
        reach(host, port, args.timeout, seed)
    });
    let (report, start_error) = match located {
        Ok((addr, mut server)) => {
            let settings = Settings {
                addr,
                timeout: args.timeout,
                split_pause: args.split_pause,
                allow_missing_error: args.allow_missing_error,
                seed,
                watch: Default::default(),
            };
            if human {
                emit(&human::header(&target, addr, seed))?;
            }
            let stream = human && args.verbose;
            let report =
                run_with_progress(&plan, settings, &target, &mut server, human, &mut |o| {
                    // --verbose: each case's line as it finishes, with the bug it recognised.
                    if stream {
                        let line = human::case_line(o, o.finding.map(Code::as_str), style);
                        emit(&format!("{line}\n"))
                    } else {
                        Ok(())
                    }
                })?;
            drop(server);
            (report, None)
        }
        // The server exited or never listened: one finding, with its output.
        Err(Error::NotStarted { why, failure }) => {
            let report = runner::not_started(
                &plan,
                &target,
                seed,
                &why,
                None,
                Some(failure),
                Duration::ZERO,
            );
            (report, Some(why))
        }
        // A grading platform still gets its results: zero, and why.
        Err(Error::Server(why)) if args.gradescope.is_some() || args.classroom => {
            eprintln!("srpc-check: {why}");
            let report =
                runner::not_started(&plan, &target, seed, &why, None, None, Duration::ZERO);
            let doc = json::Doc::from_run(&report, &diagnose::diagnose(&report, None));
            platform_results(
                (args.gradescope.as_deref(), args.classroom),
                &doc,
                &rubric,
                github_output.as_deref(),
                Some(why),
            )?;
            return Ok(EXIT_FAILED);
        }
        Err(e) => return Err(e),
    };
    let source = source.map(|s| s.wait());
    let diagnosis = diagnose::diagnose(&report, source.as_ref());
    let doc = json::Doc::from_run(&report, &diagnosis);
    if let Some(path) = &args.junit {
        write_file(path, &junit::render(&doc))?;
    }
    match args.format {
        Format::Human => emit(&human::render(
            &report,
            &doc,
            start_error.as_deref(),
            style,
            args.verbose,
        ))?,
        Format::Json => emit(&doc.to_pretty())?,
    }
    platform_results(
        (args.gradescope.as_deref(), args.classroom),
        &doc,
        &rubric,
        github_output.as_deref(),
        start_error,
    )?;
    Ok(if report.summary().failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Runs the plan against a located server, with a progress bar on a terminal.
pub(crate) fn run_with_progress(
    plan: &Plan<'_>,
    settings: Settings,
    target: &str,
    server: &mut Server,
    human: bool,
    on_outcome: &mut dyn FnMut(&runner::Outcome) -> Result<()>,
) -> Result<runner::RunReport> {
    let progress = if human && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(plan.cases.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .expect("valid progress template"),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut print_err = None;
    let report = runner::run(
        plan,
        settings,
        target,
        server.control(),
        &mut |case, n| {
            progress.set_position(n as u64);
            progress.set_message(case.id);
        },
        &mut |outcome| {
            if print_err.is_none() {
                progress.suspend(|| {
                    if let Err(e) = on_outcome(outcome) {
                        print_err = Some(e);
                    }
                });
            }
        },
    );
    progress.finish_and_clear();
    match print_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// --gradescope and --classroom: the run scored with the rubric, in each platform's format.
pub(crate) fn platform_results(
    (gradescope, classroom): (Option<&std::path::Path>, bool),
    doc: &json::Doc,
    rubric: &Rubric,
    github_output: Option<&std::ffi::OsStr>,
    start_error: Option<String>,
) -> Result<()> {
    if gradescope.is_none() && !classroom {
        return Ok(());
    }
    let score = crate::outcome::score::score(doc, rubric);
    if let Some(path) = gradescope {
        let graded = crate::outcome::class::Graded::new(
            &doc.target,
            doc,
            &score,
            doc.duration_ms as u64,
            crate::outcome::class::Notes {
                start_error,
                ..Default::default()
            },
        );
        let overview = crate::grade::results::overview(&graded, doc);
        write_file(
            path,
            &crate::report::gradescope::render(doc, &score, &overview),
        )?;
    }
    if classroom {
        let line = format!(
            "result={}\n",
            crate::report::classroom::encoded(&score, doc)
        );
        match github_output {
            Some(path) => {
                use std::io::Write as _;
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(line.as_bytes()))
                    .map_err(|e| Error::io("cannot append to $GITHUB_OUTPUT", e))?;
            }
            None => write_stdout(&line)?,
        }
    }
    Ok(())
}
