//! `--target builtin`: the reference server, embedded, on a free loopback port.
//!
//! It runs on its own thread and runtime so the harness's own load or timeouts never share a
//! scheduler with the server under test. Dropping the handle stops it and joins the thread.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use reference_server::{Config, Log};

use super::output::Output;
use tokio::sync::oneshot;

pub struct BuiltinServer {
    addr: SocketAddr,
    /// What it printed (the lines its protocol prints, such as lab 3's `Connected: ...`).
    printed: Output,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BuiltinServer {
    /// Starts the reference server on 127.0.0.1, port 0, with `worker_threads` runtime threads.
    pub fn start(worker_threads: usize) -> std::io::Result<BuiltinServer> {
        BuiltinServer::speaking("srpc", worker_threads)
    }

    /// Starts the reference server speaking the protocol called `protocol` (see
    /// [`reference_server::PROTOCOLS`]).
    pub fn speaking(protocol: &str, worker_threads: usize) -> std::io::Result<BuiltinServer> {
        let protocol = protocol.to_owned();
        // As the reference server's binary does: the connection cap decides, not the fd limit.
        reference_server::raise_fd_limit();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("builtin-server")
            .enable_all()
            .build()?;
        let printed = Output::default();
        let log = {
            let printed = printed.clone();
            Log::to(move |line| printed.push(format!("{line}\n").as_bytes()))
        };
        printed.push(format!("{}\n", reference_server::listening_line(&protocol, addr)).as_bytes());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("builtin-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("srpc-check: builtin server: {e}");
                            return;
                        }
                    };
                    let config = Config {
                        // Keep shutdown quick: the harness never leaves requests half-sent
                        // longer than its own operation timeout.
                        read_timeout: Duration::from_secs(5),
                        log,
                        ..Config::default()
                    };
                    let stopped = async {
                        let _ = stopped.await;
                    };
                    let served =
                        reference_server::run_named(&protocol, listener, config, stopped).await;
                    if let Err(e) = served {
                        eprintln!("srpc-check: builtin server: {e}");
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(BuiltinServer {
            addr,
            printed,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it printed, from its listening line on.
    pub fn printed(&self) -> Output {
        self.printed.clone()
    }
}

impl Drop for BuiltinServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
