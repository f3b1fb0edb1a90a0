//! `reference-server`: serve srpc (or, with `--protocol app`, the lab 4 protocol; with
//! `--protocol handshake`, the lab 3 pickle handshake) on a TCP port until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use reference_server::Config;

#[derive(Parser, Debug)]
#[command(version, about = "The reference server of srpc-check's lab protocols")]
struct Args {
    /// The protocol to serve: srpc (the GET/PUT lab), app (lab 4, Real Python's socket
    /// tutorial, with the assignment's double and negate) or handshake (lab 3's pickle
    /// handshake).
    #[arg(long, default_value = "srpc", value_parser = clap::builder::PossibleValuesParser::new(reference_server::PROTOCOLS))]
    protocol: String,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free one (printed on start) [default: the lab's: 4444 for
    /// srpc, 65432 for app, 12000 for handshake].
    #[arg(long)]
    port: Option<u16>,
    /// Largest request payload (srpc) or content (app) in bytes; a longer declared length gets
    /// ERROR (srpc) or a close (app) unread.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_payload: usize,
    /// Time a client has to deliver its whole request, e.g. 5s or 500ms.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    read_timeout: Duration,
    /// Connections open at once. At the cap, a new client sheds the oldest connection that has
    /// not yet sent a whole request (slow or idle clients cannot lock well-formed ones out).
    #[arg(long, default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The connection cap, not the descriptor limit, should decide how many clients fit.
    reference_server::raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("reference-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The accept loop runs on a worker, not on this thread, so each connection task it spawns
    // starts on the same worker without a cross-thread wake-up.
    let served = runtime.block_on(async {
        tokio::spawn(serve(args))
            .await
            .unwrap_or_else(|e| Err(format!("server task failed: {e}")))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let port = args
        .port
        .or_else(|| reference_server::default_port(&args.protocol))
        .unwrap_or(4444);
    let listener = bind(&args.host, port).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("{}", reference_server::listening_line(&args.protocol, addr));
    let _ = std::io::stdout().flush();
    let config = Config {
        max_payload: args.max_payload,
        read_timeout: args.read_timeout,
        max_connections: args.max_connections as usize,
        log: reference_server::Log::stdout(),
        ..Config::default()
    };
    reference_server::run_named(&args.protocol, listener, config, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn bind(host: &str, port: u16) -> Result<tokio::net::TcpListener, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve --host {host}: {e}"))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .map_err(|e| e.to_string())?;
        let _ = socket.set_reuseaddr(true);
        match socket.bind(*addr).and_then(|()| socket.listen(1024)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(format!("cannot listen on {addr}: {e}")),
        }
    }
    Err(last.unwrap_or_else(|| format!("--host {host} resolved to no address")))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
