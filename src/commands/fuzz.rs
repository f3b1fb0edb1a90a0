//! `srpc-check fuzz`: random sessions against a model, shrunk and saved (see `crate::fuzz`).

use std::io::IsTerminal;

use crate::cli::{Format, FuzzArgs};
use crate::error::{Error, Result, EXIT_FAILED, EXIT_OK};
use crate::fuzz::FuzzOptions;
use crate::report::fuzz_text;
use crate::report::write_stdout;
use crate::server::Target;

use super::{locate, reach, shell_quote, target_name};

/// A saved fuzz finding: enough to replay it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Saved {
    target: String,
    seed: u64,
    /// The protocol the session speaks (files saved before there were several: srpc).
    #[serde(default = "crate::protocol::default_name")]
    protocol: String,
    session: serde_json::Value,
}

pub(crate) fn fuzz_command(args: FuzzArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let replayed = match &args.replay {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            let saved: Saved = serde_json::from_str(&text).map_err(|e| {
                Error::Usage(format!(
                    "{} is not a saved fuzz session: {e}",
                    path.display()
                ))
            })?;
            if saved.protocol != protocol.name {
                return Err(Error::Usage(format!(
                    "{} is a session of --protocol {}, not {}",
                    path.display(),
                    saved.protocol,
                    protocol.name
                )));
            }
            Some((path, saved.session))
        }
        None => None,
    };
    let (addr, mut server) = locate(protocol, args.target.as_ref(), &args.exec, |host, port| {
        reach(protocol, host, port, args.timeout, seed)
    })?;
    let opts = FuzzOptions {
        addr,
        target: target_name(args.target.as_ref(), &args.exec),
        target_flag: match (&args.exec.exec, &args.target) {
            (Some(command), _) => format!("--exec {}", shell_quote(command)),
            (None, Some(t)) => format!("--target {t}"),
            (None, None) => String::new(),
        } + &crate::commands::explain::flag(protocol),
        seed,
        cases: args.cases.unwrap_or(if args.duration.is_some() {
            u64::MAX
        } else {
            500
        }),
        duration: args.duration,
        timeout: args.timeout,
        parallel: if matches!(args.target, Some(Target::Builtin)) && args.exec.exec.is_none() {
            crate::fuzz::PARALLEL_SESSIONS
        } else {
            1
        },
    };
    let human = args.format == Format::Human;
    if human {
        write_stdout(&fuzz_text::header(&opts))?;
    }
    let report = match &replayed {
        Some((path, session)) => {
            (protocol.fuzz.replay)(&opts, server.control(), session).map_err(|e| {
                Error::Usage(format!(
                    "{} is not a saved fuzz session: {e}",
                    path.display()
                ))
            })?
        }
        None => {
            let bar = if human && std::io::stderr().is_terminal() {
                let len = if opts.cases == u64::MAX {
                    0
                } else {
                    opts.cases
                };
                let pb = indicatif::ProgressBar::new(len);
                pb.set_style(
                    indicatif::ProgressStyle::with_template("{pos} cases  {per_sec}  {msg}")
                        .expect("valid progress template"),
                );
                pb
            } else {
                indicatif::ProgressBar::hidden()
            };
            let report = (protocol.fuzz.run)(&opts, server.control(), &mut |done, failures| {
                bar.set_position(done);
                bar.set_message(format!("failures: {failures}"));
            });
            bar.finish_and_clear();
            report
        }
    };
    if let (Some(path), Some(finding)) = (&args.save, &report.finding) {
        let saved = Saved {
            target: opts.target.clone(),
            seed,
            protocol: protocol.name.to_owned(),
            session: finding.minimal.clone(),
        };
        let text = serde_json::to_string_pretty(&saved).expect("session serialises");
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    match args.format {
        Format::Human => write_stdout(&fuzz_text::render(&report, args.save.as_deref()))?,
        Format::Json => write_stdout(
            &(serde_json::to_string_pretty(&report).expect("report serialises") + "\n"),
        )?,
    }
    Ok(if report.finding.is_some() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
