//! Where srpc-check listens when it plays the server for a student's client, and the loop that
//! attends one run of the client program: it accepts each connection for the protocol to serve,
//! and ends when the program exits or does nothing for too long.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::server::supervisor::Supervised;
use crate::server::traceback::Traceback;
use crate::server::ServerEvent;

/// How long a hung client has to exit after Ctrl-C before it is stopped outright.
const INTERRUPT_WAIT: Duration = Duration::from_millis(500);

/// The sockets srpc-check listens on for the whole command.
pub struct Listeners {
    socks: Vec<TcpListener>,
    /// Where it listens.
    pub addrs: Vec<SocketAddr>,
}

impl Listeners {
    /// Listens on each address; IPv6 ones take IPv6 only, so `0.0.0.0` and `::` can share a
    /// port. Fails if none can be bound; an address family the machine lacks is left out.
    pub fn bind(addrs: &[SocketAddr]) -> std::io::Result<Listeners> {
        let mut socks = Vec::new();
        let mut bound = Vec::new();
        let mut first_error = None;
        for &addr in addrs {
            match bind_one(addr) {
                Ok(l) => {
                    bound.push(l.local_addr().unwrap_or(addr));
                    socks.push(l);
                }
                Err(e) => {
                    first_error.get_or_insert(std::io::Error::new(
                        e.kind(),
                        format!("cannot listen on {addr}: {e}"),
                    ));
                }
            }
        }
        if socks.is_empty() {
            return Err(
                first_error.unwrap_or_else(|| std::io::Error::other("no address to listen on"))
            );
        }
        Ok(Listeners {
            socks,
            addrs: bound,
        })
    }

    /// Every address of `port`, IPv4 and IPv6: where the lab's client can reach srpc-check
    /// whichever of this host's names it dials.
    pub fn every_address(port: u16) -> Vec<SocketAddr> {
        vec![
            SocketAddr::from(([0, 0, 0, 0], port)),
            SocketAddr::from(([0u16; 8], port)),
        ]
    }

    /// A connection waiting to be accepted, if one is.
    pub fn accept(&self) -> Option<(TcpStream, SocketAddr)> {
        self.socks.iter().find_map(|l| l.accept().ok())
    }

    /// Closes whatever connections wait to be accepted (left by a run that has ended).
    pub fn drain(&self) {
        while self.accept().is_some() {}
    }
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    let listener = TcpListener::from(socket);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// How one run ended.
pub enum Ended {
    /// The program exited by itself.
    Exited(ServerEvent),
    /// It did nothing for the idle limit (no connection, no byte) and was stopped.
    Stopped(ServerEvent),
}

impl Ended {
    /// How the run ended, as a client case judges it: whether the program hung (srpc-check
    /// stopped it) or crashed (a traceback in its `output`, or an exit status other than 0), its
    /// traceback, and its ending when that is evidence (a crash or a hang).
    pub fn judged(&self, output: &str) -> Ending {
        let (event, hung) = match self {
            Ended::Exited(e) => (e, false),
            Ended::Stopped(e) => (e, true),
        };
        let traceback = Traceback::parse(output);
        let crashed =
            !hung && (event.status.as_deref() != Some("exit status 0") || traceback.is_some());
        Ending {
            hung,
            crashed,
            shown: (hung || crashed).then(|| event.clone()),
            traceback,
        }
    }
}

/// See [`Ended::judged`].
pub struct Ending {
    pub hung: bool,
    pub crashed: bool,
    pub traceback: Option<Traceback>,
    pub shown: Option<ServerEvent>,
}

/// The program, and how it ended once that is known.
pub struct Program<'a> {
    pub process: &'a mut Supervised,
    pub ended: Option<ServerEvent>,
}

impl Program<'_> {
    /// Whether the program has ended (and how, in `ended`).
    pub fn gone(&mut self) -> bool {
        if self.ended.is_none() {
            self.ended = self.process.exited(Duration::ZERO);
        }
        self.ended.is_some()
    }
}

/// What the protocol is given to do, turn by turn.
pub enum Turn {
    /// A turn of the loop: look at the connections already served.
    Tick,
    /// The program connected: serve this connection.
    Accepted(TcpStream, SocketAddr),
}

/// Attends one run of the program: `on` serves each connection and looks after the open ones
/// each turn, until the program exits or makes no connection (and no byte moves) for
/// `start_timeout` at first, `timeout` after a connection. Returns how it ended and everything it
/// printed.
pub fn attend(
    listeners: &Listeners,
    process: &mut Supervised,
    (timeout, start_timeout): (Duration, Duration),
    on: &mut dyn FnMut(Turn, &mut Program<'_>),
) -> (Ended, String) {
    let mut program = Program {
        process,
        ended: None,
    };
    let mut last_activity = Instant::now();
    let mut idle_limit = start_timeout;
    let ended = loop {
        on(Turn::Tick, &mut program);
        if let Some((stream, peer)) = listeners.accept() {
            // It runs and has connected: its Python program, for the source scan.
            program.process.capture_program();
            on(Turn::Accepted(stream, peer), &mut program);
            last_activity = Instant::now();
            idle_limit = timeout;
            continue;
        }
        if program.gone() {
            // Its sockets closed with it; what that looked like is waiting to be read.
            std::thread::sleep(Duration::from_millis(2));
            on(Turn::Tick, &mut program);
            break Ended::Exited(program.ended.take().expect("it ended"));
        }
        if last_activity.elapsed() >= idle_limit {
            // Ctrl-C first: a Python client then shows where it was stuck.
            program.process.interrupt(INTERRUPT_WAIT);
            let mut event = program.process.kill_hung();
            event.cause = Some(
                "srpc-check stopped the client with Ctrl-C (SIGINT), then SIGTERM; a Python client's KeyboardInterrupt traceback shows where it was stuck".into(),
            );
            break Ended::Stopped(event);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let output = program.process.output_since_start();
    (ended, output)
}
