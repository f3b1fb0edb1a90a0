//! `srpc-check` without a subcommand: the conformance suite against one server, its reports
//! and the grading platforms' files.

use std::io::IsTerminal;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::cli::{CheckArgs, Format, OutputArgs};
use crate::codes::Code;
use crate::diagnose::{self, Source};
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::outcome::rubric::Rubric;
use crate::report::{human, json, junit};
use crate::report::{write_file, write_stdout};
use crate::runner::{self, Plan};
use crate::suite::{self, Case, CaseKey, Settings};

use super::{load_rubric, locate, reach, target_name, Server};

fn globs(flag: &str, patterns: &[String], cases: &[CaseKey]) -> Result<Option<GlobSet>> {
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

/// The ids --only and --skip keep, checked against `keys` (a pattern that matches no case is
/// a usage error).
pub(crate) fn selection(
    only: &[String],
    skip: &[String],
    keys: &[CaseKey],
) -> Result<impl Fn(&str) -> bool> {
    let only = globs("--only", only, keys)?;
    let skip = globs("--skip", skip, keys)?;
    Ok(move |id: &str| {
        only.as_ref().is_none_or(|g| g.is_match(id))
            && skip.as_ref().is_none_or(|g| !g.is_match(id))
    })
}

pub(crate) fn check_command(args: CheckArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    let cases = (protocol.cases)();
    crate::protocol::client_exec_allowed(protocol, args.client_exec.is_some())
        .map_err(Error::Usage)?;
    let client = ClientPart::new(&args)?;
    let mut keys = suite::keys(&cases);
    keys.extend(client.keys());
    let keep = selection(&args.only, &args.skip, &keys)?;
    let selected: Vec<&Case> = cases.iter().filter(|c| keep(c.id)).collect();
    let plan = Plan {
        protocol,
        left_out: cases.len() - selected.len(),
        cases: selected,
        deadline: None,
    };
    let (rubric, _) = load_rubric(args.output.rubric.as_deref(), protocol, &keys)?;
    // With --client-exec, before any thread starts: the server and the client in one private
    // network, where the server can have port 4444 and then srpc-check can.
    let listening = client.listening();
    let out = Outputs::new(&args.output);
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let target = target_name(args.target.as_ref(), &args.exec);
    // With --exec, the server's folder before it starts: what it writes there is a finding.
    let folder = args
        .exec
        .exec
        .as_ref()
        .and_then(|_| std::env::current_dir().ok())
        .map(|dir| (crate::server::folder::snapshot(&dir), dir));
    let located = locate(protocol, args.target.as_ref(), &args.exec, |host, port| {
        reach(protocol, host, port, args.timeout, seed)
    });
    // With --exec, the student's code is at hand: findings point at its lines. It is read
    // while the cases run: the program the running server's Python process runs, or, for a
    // server that never got so far, the files the command names.
    let source = match (&args.exec.exec, std::env::current_dir()) {
        (Some(command), Ok(dir)) => Some(match &located {
            Ok((_, server)) => server.read_source(command, &dir),
            Err(_) => Source::read_in_background(command, &dir),
        }),
        _ => None,
    };
    let (report, start_error) = match located {
        Ok((addr, mut server)) => {
            let settings = Settings {
                addr,
                timeout: args.timeout,
                split_pause: args.split_pause,
                allow_missing_error: args.allow_missing_error,
                seed,
                watch: Default::default(),
                printed: server.printed(),
            };
            if out.human() {
                out.emit(&human::header(&target, addr, seed))?;
            }
            let report = run_with_progress(&plan, settings, &target, &mut server, &out)?;
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
        Err(Error::Server(why)) if out.scored() => {
            eprintln!("srpc-check: {why}");
            let report =
                runner::not_started(&plan, &target, seed, &why, None, None, Duration::ZERO);
            let doc = json::Doc::from_run(&report, &diagnose::diagnose(&report, None));
            out.platform_results(&doc, &rubric, Some(why))?;
            return Ok(EXIT_FAILED);
        }
        Err(e) => return Err(e),
    };
    let mut report = report;
    if let Some((before, dir)) = &folder {
        report.written = before.written(&crate::server::folder::snapshot(dir));
    }
    let mut source = source.map(|s| s.wait());
    if let Some(listening) = &listening {
        client.run(&mut report, &mut source, listening, &args, &out, &keep)?;
    }
    out.finish(&report, source.as_ref(), &rubric, start_error)
}

/// `--client-exec`: the client's cases after the server's, in the same report.
struct ClientPart {
    #[cfg(unix)]
    command: Option<String>,
    #[cfg(unix)]
    protocol: &'static crate::protocol::Protocol,
}

#[cfg(unix)]
impl ClientPart {
    fn new(args: &CheckArgs) -> Result<ClientPart> {
        Ok(ClientPart {
            command: args.client_exec.clone(),
            protocol: args.protocol.get(),
        })
    }

    fn keys(&self) -> Vec<CaseKey> {
        match self.command {
            Some(_) => crate::client::keys(self.protocol),
            None => Vec::new(),
        }
    }

    fn listening(&self) -> Option<super::client::Listening> {
        self.command.as_ref().map(|command| {
            super::client::listening(None, self.protocol, crate::client::takes_address(command))
        })
    }

    /// Runs the selected client cases (the server has been stopped, so port 4444 is free) and
    /// adds them to `report`; the client's files join `source` where it runs others.
    fn run(
        &self,
        report: &mut runner::RunReport,
        source: &mut Option<Source>,
        listening: &super::client::Listening,
        args: &CheckArgs,
        out: &Outputs<'_>,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        let Some(command) = &self.command else {
            return Ok(());
        };
        let all = crate::client::cases(self.protocol);
        let cases: Vec<&crate::client::ClientCase> = all.iter().filter(|c| keep(c.id)).collect();
        let client = match super::client::run_cases(
            self.protocol,
            command,
            &cases,
            all.len() - cases.len(),
            listening,
            (args.timeout, args.exec.start_timeout),
            out,
        ) {
            Ok(client) => Ok(client),
            // The server's results stand; the client's cases say why they did not run.
            Err(Error::Server(why)) => {
                eprintln!("srpc-check: {why}");
                Err(why)
            }
            Err(e) => return Err(e),
        };
        // The client's own files, where it runs others than the server.
        let dir = std::env::current_dir().ok();
        if let (Some(source), Some(dir), true) = (
            source.as_mut(),
            dir,
            Some(command) != args.exec.exec.as_ref(),
        ) {
            let program = client.as_ref().ok().and_then(|c| c.program.as_ref());
            source.client = Some(Box::new(Source::for_run(program, command, &dir)));
        }
        crate::client::append(report, &cases, client.map(|c| c.report));
        Ok(())
    }
}

#[cfg(not(unix))]
impl ClientPart {
    fn new(args: &CheckArgs) -> Result<ClientPart> {
        match args.client_exec {
            Some(_) => Err(Error::Usage("--client-exec needs Linux".into())),
            None => Ok(ClientPart {}),
        }
    }

    fn keys(&self) -> Vec<CaseKey> {
        Vec::new()
    }

    fn listening(&self) -> Option<std::convert::Infallible> {
        None
    }

    fn run(
        &self,
        _: &mut runner::RunReport,
        _: &mut Option<Source>,
        _: &std::convert::Infallible,
        _: &CheckArgs,
        _: &Outputs<'_>,
        _: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        Ok(())
    }
}

/// Runs the plan against a located server, with a progress bar on a terminal and, with
/// --verbose, each case's line as it finishes (with the bug it recognised).
pub(crate) fn run_with_progress(
    plan: &Plan<'_>,
    settings: Settings,
    target: &str,
    server: &mut Server,
    out: &Outputs<'_>,
) -> Result<runner::RunReport> {
    let progress = out.progress(plan.cases.len());
    let report = runner::run(
        plan,
        settings,
        target,
        server.control(),
        &mut |case, _| progress.started(case.id),
        &mut |outcome| progress.finished(outcome),
    );
    progress.end().map(|()| report)
}

/// A run's progress as it happens: a bar on a terminal, and with --verbose each case's line
/// as it finishes. The first error writing a line is kept for the end.
pub(crate) struct Progress<'a> {
    out: &'a Outputs<'a>,
    bar: indicatif::ProgressBar,
    error: std::cell::Cell<Option<Error>>,
}

impl Progress<'_> {
    pub(crate) fn started(&self, id: &str) {
        self.bar.set_message(id.to_owned());
    }

    pub(crate) fn finished(&self, o: &runner::Outcome) {
        self.bar.inc(1);
        let first = self.error.take();
        let error = first.or_else(|| self.bar.suspend(|| self.out.case_line(o)).err());
        self.error.set(error);
    }

    /// Clears the bar; the first error writing a line, if there was one.
    pub(crate) fn end(self) -> Result<()> {
        self.bar.finish_and_clear();
        self.error.into_inner().map_or(Ok(()), Err)
    }
}

/// Where a conformance run's results go, the server's and the client's alike: the report on
/// stdout (on stderr when --classroom owns stdout), JUnit, Gradescope and Classroom files.
pub(crate) struct Outputs<'a> {
    args: &'a OutputArgs,
    github_output: Option<std::ffi::OsString>,
    style: human::Style,
}

impl<'a> Outputs<'a> {
    pub(crate) fn new(args: &'a OutputArgs) -> Outputs<'a> {
        Outputs {
            args,
            github_output: std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty()),
            style: human::Style::detect(std::io::stdout().is_terminal()),
        }
    }

    pub(crate) fn human(&self) -> bool {
        self.args.format == Format::Human
    }

    /// A grading platform's result is asked for.
    pub(crate) fn scored(&self) -> bool {
        self.args.gradescope.is_some() || self.args.classroom
    }

    /// Report text: on stdout, or on stderr when --classroom without $GITHUB_OUTPUT owns stdout.
    pub(crate) fn emit(&self, text: &str) -> Result<()> {
        if self.args.classroom && self.github_output.is_none() {
            eprint!("{text}");
            Ok(())
        } else {
            write_stdout(text)
        }
    }

    /// Progress over `len` cases: a bar on a terminal, for human output (hidden otherwise).
    pub(crate) fn progress(&self, len: usize) -> Progress<'_> {
        let bar = if !self.human() || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            let pb = indicatif::ProgressBar::new(len as u64);
            pb.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                    .expect("valid progress template"),
            );
            pb
        };
        Progress {
            out: self,
            bar,
            error: std::cell::Cell::new(None),
        }
    }

    /// With --verbose, a finished case's line, naming the bug it recognised.
    pub(crate) fn case_line(&self, o: &runner::Outcome) -> Result<()> {
        if !(self.human() && self.args.verbose) {
            return Ok(());
        }
        let line = human::case_line(o, o.finding.map(Code::as_str), self.style);
        self.emit(&format!("{line}\n"))
    }

    /// Diagnoses the run (locating findings in `source`), writes every report asked for, and
    /// gives the exit code.
    pub(crate) fn finish(
        &self,
        report: &runner::RunReport,
        source: Option<&Source>,
        rubric: &Rubric,
        start_error: Option<String>,
    ) -> Result<u8> {
        let diagnosis = diagnose::diagnose(report, source);
        let doc = json::Doc::from_run(report, &diagnosis);
        if let Some(path) = &self.args.junit {
            write_file(path, &junit::render(&doc))?;
        }
        match self.args.format {
            Format::Human => self.emit(&human::render(
                report,
                &doc,
                start_error.as_deref(),
                self.style,
                self.args.verbose,
            ))?,
            Format::Json => self.emit(&doc.to_pretty())?,
        }
        self.platform_results(&doc, rubric, start_error)?;
        Ok(if report.summary().failed > 0 {
            EXIT_FAILED
        } else {
            EXIT_OK
        })
    }

    /// --gradescope and --classroom: the run scored with the rubric, in each platform's format.
    pub(crate) fn platform_results(
        &self,
        doc: &json::Doc,
        rubric: &Rubric,
        start_error: Option<String>,
    ) -> Result<()> {
        let (gradescope, classroom) = (self.args.gradescope.as_deref(), self.args.classroom);
        let github_output = self.github_output.as_deref();
        if !self.scored() {
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
}
