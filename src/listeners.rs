//! When a connection is refused: is the server listening on the same port at another local
//! address? The lab's server binds `socket.gethostname()`, which on many Debian-family machines
//! is 127.0.1.1, so `localhost:4444` is refused while the server is up.
//!
//! On Linux this reads the kernel's socket tables (/proc/net/tcp and tcp6) instead of trying to
//! connect, because a bare connect-and-close is itself a test case that crashes fragile servers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Listening sockets on `port`, from the kernel's tables (empty where there are none to read).
pub fn listening_on(port: u16) -> Vec<SocketAddr> {
    let mut found = Vec::new();
    for (path, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(table) = std::fs::read_to_string(path) {
            found.extend(
                parse_table(&table, v6)
                    .into_iter()
                    .filter(|a| a.port() == port),
            );
        }
    }
    found
}

/// Parses a /proc/net/tcp-style table, returning the local addresses in state LISTEN (0A).
pub fn parse_table(table: &str, v6: bool) -> Vec<SocketAddr> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            if state != "0A" {
                return None;
            }
            let (ip_hex, port_hex) = local.split_once(':')?;
            let port = u16::from_str_radix(port_hex, 16).ok()?;
            let ip = if v6 {
                parse_v6(ip_hex)?
            } else {
                IpAddr::V4(parse_v4(ip_hex)?)
            };
            Some(SocketAddr::new(ip, port))
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

fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
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
    fn reads_listeners_from_kernel_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0101007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 0100007F:115C 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";
        assert_eq!(
            parse_table(v4, false),
            vec!["127.0.1.1:4444".parse().unwrap()]
        );
        let v6 = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:115C 00000000000000000000000000000000:0000 0A 00000000:00000000\n";
        assert_eq!(parse_table(v6, true), vec!["[::1]:4444".parse().unwrap()]);
    }

    #[test]
    fn finds_a_real_listener_without_connecting() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if std::path::Path::new("/proc/net/tcp").exists() {
            assert!(listening_on(port).contains(&l.local_addr().unwrap()));
        }
    }
}
