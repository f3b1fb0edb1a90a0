//! Runs the selected cases in order and collects their outcomes for the reporters.
//!
//! After any case that does not pass, a liveness check decides whether the target is still
//! serving. Once it is not, the remaining cases are reported as `not_run`, naming the case after
//! which it went down, rather than as failures of their own.

use std::time::{Duration, Instant};

use crate::conn::Transcript;
use crate::suite::{Case, Ctx, Group, Settings, Status, Verdict};

/// A case's result, as reporters see it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: &'static str,
    pub group: Group,
    pub description: &'static str,
    pub requirement: &'static str,
    pub status: Status,
    pub duration: Duration,
    pub message: String,
    pub hint: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub transcript: Option<Transcript>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub not_run: usize,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub target: String,
    pub addr: std::net::SocketAddr,
    pub seed: u64,
    pub outcomes: Vec<Outcome>,
    /// The case after which the target stopped answering.
    pub down_after: Option<&'static str>,
    pub duration: Duration,
}

impl RunReport {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for o in &self.outcomes {
            match o.status {
                Status::Pass => s.passed += 1,
                Status::Fail => s.failed += 1,
                Status::Warn => s.warned += 1,
                Status::Skip => s.skipped += 1,
                Status::NotRun => s.not_run += 1,
            }
        }
        s
    }
}

/// Which cases run: each is either selected or skipped with a reason.
pub struct Plan<'a> {
    pub cases: Vec<(&'a Case, Option<String>)>,
}

/// Runs the plan. `on_start` and `on_outcome` let a reporter show progress as it happens.
pub fn run(
    plan: &Plan<'_>,
    settings: Settings,
    target: &str,
    on_start: &mut dyn FnMut(&Case, usize),
    on_outcome: &mut dyn FnMut(&Outcome),
) -> RunReport {
    let started = Instant::now();
    let addr = settings.addr;
    let seed = settings.seed;
    let mut ctx = Ctx::new(settings);
    let mut outcomes = Vec::new();
    let mut down_after: Option<&'static str> = None;
    for (n, (case, skip_reason)) in plan.cases.iter().enumerate() {
        let t0 = Instant::now();
        let verdict = if let Some(reason) = skip_reason {
            Verdict::new(Status::Skip, reason.clone())
        } else if let Some(down) = down_after {
            Verdict::new(
                Status::NotRun,
                format!("not run: the target stopped answering after {down}"),
            )
        } else {
            on_start(case, n);
            ctx.begin(case.id);
            let mut v = (case.run)(&mut ctx);
            if v.transcript.is_none() && v.status != Status::Pass {
                v.transcript = ctx.exchanges.last().cloned().map(Box::new);
            }
            if matches!(v.status, Status::Fail) && ctx.alive().is_err() {
                down_after = Some(case.id);
                v.message = format!(
                    "{}; the server stopped answering after this case",
                    v.message
                );
                if v.hint.is_none() {
                    v.hint = Some(
                        "the server exited or crashed: no well-formed request is answered any more"
                            .into(),
                    );
                }
            }
            v
        };
        let outcome = Outcome {
            id: case.id,
            group: case.group,
            description: case.description,
            requirement: case.requirement,
            status: verdict.status,
            duration: t0.elapsed(),
            message: verdict.message,
            hint: verdict.hint,
            expected: verdict.expected,
            actual: verdict.actual,
            transcript: verdict.transcript.map(|t| *t),
        };
        on_outcome(&outcome);
        outcomes.push(outcome);
    }
    RunReport {
        target: target.to_owned(),
        addr,
        seed,
        outcomes,
        down_after,
        duration: started.elapsed(),
    }
}
