//! `srpc-check client`: the student's client under test, with srpc-check as the server (see
//! `crate::client`), and the same reports as a server's run.

use std::net::SocketAddr;

use crate::cli::ClientArgs;
use crate::client::{self, ClientCase, Listeners};
use crate::error::{Error, Result, EXIT_OK};
use crate::protocol::Protocol;
use crate::report::write_stdout;

use super::check::{selection, Outputs};
use super::load_rubric;

/// Where srpc-check listens, and how to say so.
pub(crate) struct Listening {
    addrs: Vec<SocketAddr>,
    words: String,
}

/// Enters a private network where srpc-check can take the protocol's port (srpc's 4444) on
/// every address, unless `--listen` names an address (or namespaces cannot be made). Must run
/// before any thread. Says so on stderr when namespaces cannot be used; there, a command that
/// takes the address (`{port}`) gets a free port of loopback's.
pub(crate) fn listening(
    listen: Option<SocketAddr>,
    protocol: &Protocol,
    takes_address: bool,
) -> Listening {
    let port = protocol.default_port;
    if let Some(addr) = listen {
        return Listening {
            addrs: vec![addr],
            words: format!("{addr} (--listen)"),
        };
    }
    let entered = private_network();
    match entered {
        Ok(()) => Listening {
            addrs: Listeners::every_address(port),
            words: format!("port {port} on every address of a private network (socket.gethostname(), localhost and 127.0.1.1 all reach it)"),
        },
        Err(why) if takes_address => {
            eprintln!(
                "srpc-check: no private network for the client ({why}); listening on a free port of 127.0.0.1 in this machine's network instead"
            );
            Listening {
                addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
                words: "a free port of 127.0.0.1 in this machine's network".into(),
            }
        }
        Err(why) => {
            eprintln!(
                "srpc-check: no private network for the client ({why}); listening on 0.0.0.0:{port} in this machine's network instead (--listen ADDR picks another address)"
            );
            Listening {
                addrs: vec![SocketAddr::from(([0, 0, 0, 0], port))],
                words: format!("0.0.0.0:{port} in this machine's network"),
            }
        }
    }
}

/// Enters a private network namespace, or says why there is none: portable runs have none
/// (see [`crate::host`]).
fn private_network() -> std::result::Result<(), String> {
    #[cfg(target_os = "linux")]
    if !crate::host::portable() {
        return match crate::sandbox::namespaces::disabled() {
            Some(why) => Err(why),
            None => crate::sandbox::namespaces::enter_net_box(),
        };
    }
    let why = crate::host::why_portable().unwrap_or("this run is portable");
    Err(format!("{why}: network namespaces are Linux's"))
}

/// Runs the client cases: listens where `listening` says, runs `command` once per case, with a
/// progress bar and --verbose lines through `out`.
pub(crate) fn run_cases(
    protocol: &'static Protocol,
    command: &str,
    cases: &[&ClientCase],
    left_out: usize,
    listening: &Listening,
    (timeout, start_timeout): (std::time::Duration, std::time::Duration),
    out: &Outputs<'_>,
) -> Result<client::ClientRun> {
    let listeners = Listeners::bind(&listening.addrs).map_err(|e| {
        Error::Server(format!(
            "{e}; is another program using it? (--listen ADDR picks another address)"
        ))
    })?;
    let target = format!("client '{command}'");
    let command = &client::address_in(command, &listeners);
    if out.human() {
        out.emit(&format!(
            "srpc-check {} testing {target}; srpc-check is the server, on {}\n",
            env!("CARGO_PKG_VERSION"),
            listening.words
        ))?;
    }
    let settings = client::Settings {
        protocol,
        program: client::program(command),
        timeout,
        start_timeout,
        listening: listening.words.clone(),
    };
    let progress = out.progress(cases.len());
    let report = client::run(
        cases,
        left_out,
        &settings,
        &listeners,
        &target,
        None,
        &mut |o| progress.finished(o),
    )
    .map_err(Error::Server)?;
    progress.end().map(|()| report)
}

pub(crate) fn client_command(args: ClientArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    crate::protocol::client_exec_allowed(protocol, true).map_err(Error::Usage)?;
    let all = client::cases(protocol);
    let keys = client::keys(protocol);
    if args.print_rubric {
        write_stdout(crate::outcome::rubric::default_text(protocol, &keys))?;
        return Ok(EXIT_OK);
    }
    let Some(command) = args.exec.clone() else {
        return Err(Error::Usage("client needs --exec COMMAND".into()));
    };
    let keep = selection(&args.only, &args.skip, &keys)?;
    let cases: Vec<&ClientCase> = all.iter().filter(|c| keep(c.id)).collect();
    let (rubric, _) = load_rubric(args.output.rubric.as_deref(), protocol, &keys)?;
    // Before any thread starts: a process with threads cannot enter a user namespace.
    let listening = listening(args.listen, protocol, client::takes_address(&command));
    crate::server::supervisor::stop_servers_on_panic();
    let out = Outputs::new(&args.output);
    let run = run_cases(
        protocol,
        &command,
        &cases,
        all.len() - cases.len(),
        &listening,
        (args.timeout, args.start_timeout),
        &out,
    )?;
    // The program the client's Python process ran, whatever command started it.
    let source = std::env::current_dir()
        .ok()
        .map(|dir| crate::diagnose::Source::for_run(run.program.as_ref(), &command, &dir));
    out.finish(&run.report, source.as_ref(), &rubric, None)
}
