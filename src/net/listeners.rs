//! When a connection is refused: is the server listening on the same port at another local
//! address? The lab's server binds `socket.gethostname()`, which on many Debian-family machines
//! is 127.0.1.1, so `localhost:4444` is refused while the server is up.
//!
//! On Linux this reads the kernel's socket tables (/proc/net/tcp and tcp6) instead of trying to
//! connect, because a bare connect-and-close is itself a test case that crashes fragile servers.
//! The kernel also tells whether a local server has read what it was sent ([`server_side`],
//! over netlink), which is how a split request is made certain to arrive as separate reads.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One row of a kernel socket table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// TCP state as the kernel numbers it (0A is LISTEN, 01 ESTABLISHED).
    pub state: u8,
    /// Bytes received but not yet read by the application.
    pub rx_queue: u32,
    /// The socket's inode, which `/proc/PID/fd` links name as `socket:[INODE]` (0 if absent).
    pub inode: u64,
}

fn table_path(v6: bool) -> &'static str {
    if v6 {
        "/proc/net/tcp6"
    } else {
        "/proc/net/tcp"
    }
}

/// TCP state LISTEN, as the kernel's tables number it.
pub const LISTEN: u8 = 0x0A;

/// Listening sockets on `port`, from the kernel's tables (empty where there are none to read).
pub fn listening_on(port: u16) -> Vec<SocketAddr> {
    let all = if crate::host::portable() {
        crate::host::every_listener()
    } else {
        listening(None).into_iter().map(|r| r.local).collect()
    };
    all.into_iter().filter(|l| l.port() == port).collect()
}

/// Every listening TCP socket in the network namespace of `pid` (of this process for None).
/// Asked of the kernel over sock_diag when that namespace is this process's own (its answer
/// holds listeners alone, however many closed connections linger), else read from
/// `/proc/PID/net/tcp` and `tcp6`.
pub fn listening(pid: Option<u32>) -> Vec<SocketRow> {
    let ours = |pid: u32| {
        let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/net")).ok();
        ns("self").is_some_and(|own| ns(&pid.to_string()) == Some(own))
    };
    if pid.is_none_or(ours) {
        if let Some(found) = listening_diag() {
            return found;
        }
    }
    let mut found = Vec::new();
    for v6 in [false, true] {
        let path = match pid {
            None => table_path(v6).to_owned(),
            Some(pid) => format!("/proc/{pid}{}", table_path(v6).trim_start_matches("/proc")),
        };
        if let Ok(table) = std::fs::read_to_string(path) {
            found.extend(
                parse_table(&table, v6)
                    .into_iter()
                    .filter(|r| r.state == LISTEN),
            );
        }
    }
    found
}

/// The inodes of the sockets that process `pid` holds open (empty if it cannot be read).
pub fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            link.to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// What the server end of a local connection has done with the bytes sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSide {
    /// Received but not yet read.
    pub unread: u32,
    /// Received in all (`tcpi_bytes_received`), when the kernel reports it.
    pub received: Option<u64>,
    /// The socket's inode: 0 while the connection waits in the listener's accept queue (no
    /// process holds it yet), else what `/proc/PID/fd` links name.
    pub inode: u64,
    /// TCP state as the kernel numbers it (8 is CLOSE-WAIT: the client's end of stream has
    /// arrived).
    pub state: u8,
}

/// TCP state CLOSE-WAIT: the peer's end of stream has arrived.
pub const CLOSE_WAIT: u8 = 8;

impl ServerSide {
    /// Has the server read every one of the `sent` bytes?
    pub fn has_read(&self, sent: u64) -> bool {
        self.unread == 0 && self.received.is_some_and(|r| r >= sent)
    }
}

/// What the server end of the connection `client` -> `server` has received and not yet read,
/// if the server is on this machine, with how much it has received in all (TCP_INFO), so a
/// caller can tell "read everything" from "nothing has arrived yet". Asks the kernel about that
/// one socket over netlink (sock_diag), which stays cheap however many sockets the machine has;
/// reading the whole /proc table instead took 30 ms with a few thousand TIME_WAIT sockets about.
#[cfg(target_os = "linux")]
pub fn server_side(client: SocketAddr, server: SocketAddr) -> Option<ServerSide> {
    if crate::host::portable() {
        return None;
    }
    use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_packet_sock_diag::SockDiagMessage;

    // The server's socket: its own address is the source.
    let request = InetRequest {
        family: if server.is_ipv4() { AF_INET } else { AF_INET6 },
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::INFO,
        states: StateFlags::all(),
        socket_id: SocketId {
            source_port: server.port(),
            destination_port: client.port(),
            source_address: server.ip(),
            destination_address: client.ip(),
            interface_id: 0,
            cookie: [0xff; 8],
        },
    };
    let socket = diag_socket()?;
    diag_send(&socket, request, NLM_F_REQUEST)?;
    // The kernel answers while handling the send, so the reply is already queued.
    socket.set_non_blocking(true).ok()?;
    let mut reply = vec![0; 8192];
    let n = socket.recv(&mut &mut reply[..], 0).ok()?;
    match NetlinkMessage::<SockDiagMessage>::deserialize(&reply[..n])
        .ok()?
        .payload
    {
        // With that connection gone, the kernel answers with the listener that would take a
        // new one; that is not the server's end of it.
        NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r))
            if r.header.socket_id.destination_port == client.port() =>
        {
            // tcpi_bytes_received: a u64 at offset 128 of struct tcp_info (Linux 4.1 on).
            let received = r.nlas.iter().find_map(|nla| match nla {
                netlink_packet_sock_diag::inet::nlas::Nla::TcpInfo(raw) => raw
                    .get(128..136)
                    .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes"))),
                _ => None,
            });
            Some(ServerSide {
                unread: r.header.recv_queue,
                received,
                inode: u64::from(r.header.inode),
                state: r.header.state,
            })
        }
        _ => None,
    }
}

/// Every listener in this network namespace, from a sock_diag dump of LISTEN sockets (IPv4
/// and IPv6); `rx_queue` is then the accept queue's length. None where netlink cannot be used.
#[cfg(target_os = "linux")]
fn listening_diag() -> Option<Vec<SocketRow>> {
    use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_packet_sock_diag::SockDiagMessage;

    /// The most rows read, whatever the kernel sends.
    const MOST: usize = 65_536;
    let socket = diag_socket()?;
    let _ = socket.set_rx_buf_sz(1 << 20);
    let mut found = Vec::new();
    for family in [AF_INET, AF_INET6] {
        let request = InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::LISTEN,
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        };
        diag_send(&socket, request, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut buf = vec![0; 64 * 1024];
        'dump: loop {
            let n = socket.recv(&mut &mut buf[..], 0).ok()?;
            let mut offset = 0;
            while offset < n {
                let message =
                    NetlinkMessage::<SockDiagMessage>::deserialize(&buf[offset..n]).ok()?;
                let length = message.header.length as usize;
                match message.payload {
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                        let id = &r.header.socket_id;
                        found.push(SocketRow {
                            local: SocketAddr::new(id.source_address, id.source_port),
                            remote: SocketAddr::new(id.destination_address, id.destination_port),
                            state: r.header.state,
                            rx_queue: r.header.recv_queue,
                            inode: u64::from(r.header.inode),
                        });
                        if found.len() > MOST {
                            return Some(found);
                        }
                    }
                    NetlinkPayload::Done(_) => break 'dump,
                    NetlinkPayload::Error(_) => return None,
                    _ => {}
                }
                if length == 0 {
                    return None;
                }
                offset += length;
            }
        }
    }
    Some(found)
}

/// A sock_diag socket whose reads wait at most a second (the kernel answers at once; a read
/// that found nothing must not hang the run).
#[cfg(target_os = "linux")]
fn diag_socket() -> Option<netlink_sys::Socket> {
    use std::os::fd::AsRawFd;
    let mut socket = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_SOCK_DIAG).ok()?;
    socket.bind_auto().ok()?;
    socket.connect(&netlink_sys::SocketAddr::new(0, 0)).ok()?;
    let limit = nix::libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: the descriptor is open for the call, and `limit` is a valid timeval of the size given.
    let rc = unsafe {
        nix::libc::setsockopt(
            socket.as_raw_fd(),
            nix::libc::SOL_SOCKET,
            nix::libc::SO_RCVTIMEO,
            (&limit as *const nix::libc::timeval).cast(),
            std::mem::size_of::<nix::libc::timeval>() as nix::libc::socklen_t,
        )
    };
    (rc == 0).then_some(socket)
}

/// Sends one sock_diag request with netlink `flags`.
#[cfg(target_os = "linux")]
fn diag_send(
    socket: &netlink_sys::Socket,
    request: netlink_packet_sock_diag::inet::InetRequest,
    flags: u16,
) -> Option<()> {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage};
    use netlink_packet_sock_diag::SockDiagMessage;
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    let mut packet = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
    packet.finalize();
    let mut out = vec![0; packet.buffer_len()];
    packet.serialize(&mut out);
    socket.send(&out, 0).ok().map(|_| ())
}

#[cfg(not(target_os = "linux"))]
fn listening_diag() -> Option<Vec<SocketRow>> {
    None
}

/// Elsewhere the harness cannot see a server's unread bytes and relies on its pauses alone.
#[cfg(not(target_os = "linux"))]
pub fn server_side(_client: SocketAddr, _server: SocketAddr) -> Option<ServerSide> {
    None
}

/// Parses a /proc/net/tcp-style table.
pub fn parse_table(table: &str, v6: bool) -> Vec<SocketRow> {
    let addr = |field: &str| -> Option<SocketAddr> {
        let (ip_hex, port_hex) = field.split_once(':')?;
        let port = u16::from_str_radix(port_hex, 16).ok()?;
        let ip = if v6 {
            parse_v6(ip_hex)?
        } else {
            IpAddr::V4(parse_v4(ip_hex)?)
        };
        Some(SocketAddr::new(ip, port))
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = addr(fields.get(1)?)?;
            let remote = addr(fields.get(2)?)?;
            let state = u8::from_str_radix(fields.get(3)?, 16).ok()?;
            let rx_queue = fields
                .get(4)?
                .split_once(':')
                .and_then(|(_, rx)| u32::from_str_radix(rx, 16).ok())?;
            let inode = fields.get(9).and_then(|i| i.parse().ok()).unwrap_or(0);
            Some(SocketRow {
                local,
                remote,
                state,
                rx_queue,
                inode,
            })
        })
        .collect()
}

/// The kernel prints each 32-bit word in host byte order (little-endian on x86 and arm64).
fn parse_v4(hex: &str) -> Option<Ipv4Addr> {
    let word = u32::from_str_radix(hex, 16).ok()?;
    Some(Ipv4Addr::from(word.to_le_bytes()))
}

fn parse_v6(hex: &str) -> Option<IpAddr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for i in 0..4 {
        let word = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
        bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    let v6 = Ipv6Addr::from(bytes);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

#[cfg(unix)]
fn hostname() -> Option<String> {
    let name = nix::unistd::gethostname().ok()?.into_string().ok()?;
    (!name.trim().is_empty()).then_some(name)
}

#[cfg(not(unix))]
fn hostname() -> Option<String> {
    None
}

/// `--target` values that would reach a listener on the same port, best first.
pub fn suggestions(port: u16, tried: &[SocketAddr]) -> Vec<String> {
    let host = hostname();
    let host_addrs: Vec<IpAddr> = host
        .as_deref()
        .and_then(|h| std::net::ToSocketAddrs::to_socket_addrs(&(h, port)).ok())
        .map(|it| it.map(|a| a.ip()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for listener in listening_on(port) {
        if tried.iter().any(|t| t.ip() == listener.ip()) {
            continue;
        }
        let ip = listener.ip();
        if ip.is_unspecified() {
            continue;
        }
        if let Some(h) = host.as_ref().filter(|_| host_addrs.contains(&ip)) {
            out.push(format!("{h}:{port}"));
        }
        out.push(match ip {
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            IpAddr::V4(v4) => format!("{v4}:{port}"),
        });
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kernel_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0101007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 0100007F:115C 0100007F:C350 01 00000000:0000001A 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";
        let rows = parse_table(v4, false);
        assert_eq!(rows[0].local, "127.0.1.1:4444".parse().unwrap());
        assert_eq!(rows[0].state, 0x0A);
        assert_eq!(rows[1].remote, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(rows[1].rx_queue, 26);
        assert_eq!((rows[0].inode, rows[1].inode), (1, 2));
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue\n   0: 00000000000000000000000001000000:115C 00000000000000000000000000000000:0000 0A 00000000:00000000\n";
        assert_eq!(
            parse_table(v6, true)[0].local,
            "[::1]:4444".parse().unwrap()
        );
    }

    #[test]
    fn sees_unread_bytes_on_a_local_connection() {
        use std::io::{Read, Write};
        if !std::path::Path::new("/proc/net/tcp").exists() {
            return;
        }
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut server, _) = l.accept().unwrap();
        client.write_all(b"12345").unwrap();
        let (c, s) = (client.local_addr().unwrap(), l.local_addr().unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while server_side(c, s).map(|side| side.unread) != Some(5)
            && std::time::Instant::now() < deadline
        {
            std::thread::yield_now();
        }
        assert_eq!(server_side(c, s).map(|side| side.unread), Some(5));
        assert!(!server_side(c, s).unwrap().has_read(5));
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(server_side(c, s).map(|side| side.unread), Some(0));
        let side = server_side(c, s).unwrap();
        assert_eq!(side.received, Some(5));
        assert!(side.has_read(5) && !side.has_read(6));
    }

    #[test]
    fn finds_a_real_listener_without_connecting() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if std::path::Path::new("/proc/net/tcp").exists() {
            assert!(listening_on(port).contains(&l.local_addr().unwrap()));
            let ours = socket_inodes(std::process::id());
            let row = listening(Some(std::process::id()))
                .into_iter()
                .find(|r| r.local == l.local_addr().unwrap())
                .expect("the listener is in this process's namespace table");
            assert!(
                ours.contains(&row.inode),
                "this process holds the listener's inode"
            );
        }
    }

    #[test]
    fn the_kernel_dump_agrees_with_the_tables_and_counts_the_accept_queue() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let _waiting: Vec<_> = (0..2)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let Some(dump) = listening_diag() else {
            return; // no sock_diag here
        };
        let row = dump
            .iter()
            .find(|r| r.local == addr)
            .expect("the dump lists the listener");
        assert_eq!(row.state, LISTEN);
        assert_eq!(row.rx_queue, 2, "two connections wait to be accepted");
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        let from_table = parse_table(&table, false)
            .into_iter()
            .find(|r| r.local == addr && r.state == LISTEN)
            .unwrap();
        assert_eq!(row.inode, from_table.inode);
        assert!(dump.iter().all(|r| r.state == LISTEN));
    }
}
