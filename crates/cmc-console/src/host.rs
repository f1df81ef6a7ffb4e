//! The Host allow-list, against DNS rebinding: a page that a hostile site
//! loads under its own name, after pointing that name at 127.0.0.1, reaches
//! the console with the hostile name in its Host header. The console only
//! answers when the Host header names the address the connection came in on
//! (`127.0.0.1:PORT`, `[::1]:PORT`, and `localhost:PORT` on a loopback
//! listener) or one of the names configured in `[console] hosts`.

use std::net::{IpAddr, SocketAddr};

/// Whether `name` may stand in `[console] hosts`: a DNS name or an IP
/// address, optionally with `:PORT` (without a port it stands for the
/// listener's port; with one, for exactly that authority, as a reverse
/// proxy may present).
#[must_use]
pub fn valid_host_entry(name: &str) -> bool {
    let (host, port) = split_authority(name);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p != 0));
    port_ok && valid_host(host)
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    (1..=253).contains(&host.len())
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `host[:port]` split at the port's colon (a bracketed IPv6 literal keeps
/// its colons).
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.rfind("]:") {
            Some(at) => (&authority[..=at], Some(&authority[at + 2..])),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

/// Why a Host header is refused, for the 421 answer; `None` when it is
/// allowed. `local` is the address the connection came in on (the
/// listener's address); `configured` the `[console] hosts` entries; `tls`
/// says which port a Host without one means (443 or 80).
#[must_use]
pub fn refusal(
    host: Option<&str>,
    local: Option<SocketAddr>,
    configured: &[String],
    tls: bool,
) -> Option<&'static str> {
    let Some(host) = host.map(str::trim).filter(|h| !h.is_empty()) else {
        return Some("the request names no Host");
    };
    let Some(local) = local else {
        return Some("the console does not know its listener's address");
    };
    let (name, port) = split_authority(host);
    let default_port = if tls { 443 } else { 80 };
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(p) => p,
            Err(_) => return Some("the Host header's port is not a number"),
        },
    };
    let name = name.to_ascii_lowercase();
    let listener_name = port == local.port()
        && (ip_named(&name) == Some(local.ip())
            || (name == "localhost" && local.ip().is_loopback()));
    if listener_name {
        return None;
    }
    let configured_match = configured.iter().any(|entry| {
        let (e_name, e_port) = split_authority(entry);
        let e_port = match e_port {
            None => local.port(),
            Some(p) => match p.parse::<u16>() {
                Ok(p) => p,
                Err(_) => return false,
            },
        };
        e_name.eq_ignore_ascii_case(&name) && e_port == port
    });
    if configured_match {
        None
    } else {
        Some("the Host header names neither this listener's address nor a name in [console] hosts")
    }
}

/// The IP address a Host name spells, if it is one (`[::1]` for IPv6).
fn ip_named(name: &str) -> Option<IpAddr> {
    match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => name.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: &str) -> Option<SocketAddr> {
        Some(addr.parse().unwrap())
    }

    #[test]
    fn the_listeners_own_address_is_allowed() {
        let v4 = at("127.0.0.1:8444");
        for host in ["127.0.0.1:8444", "localhost:8444", "LOCALHOST:8444"] {
            assert_eq!(refusal(Some(host), v4, &[], true), None, "{host}");
        }
        let v6 = at("[::1]:8444");
        for host in ["[::1]:8444", "localhost:8444", "[0:0:0:0:0:0:0:1]:8444"] {
            assert_eq!(refusal(Some(host), v6, &[], true), None, "{host}");
        }
        // A listener on another interface answers to that address only.
        let lan = at("192.0.2.7:8444");
        assert_eq!(refusal(Some("192.0.2.7:8444"), lan, &[], true), None);
        assert!(refusal(Some("localhost:8444"), lan, &[], true).is_some());
    }

    #[test]
    fn rebinding_names_and_wrong_ports_are_refused() {
        let v4 = at("127.0.0.1:8444");
        for host in [
            "attacker.example:8444",
            "attacker.example",
            "127.0.0.1",
            "127.0.0.1:8445",
            "localhost",
            "localhost.attacker.example:8444",
            "127.0.0.2:8444",
            "[::1]:8444",
            "127.0.0.1:84x4",
            "127.0.0.1:8444@attacker.example",
            "",
        ] {
            assert!(refusal(Some(host), v4, &[], true).is_some(), "{host}");
        }
        assert!(refusal(None, v4, &[], true).is_some());
        assert!(refusal(Some("127.0.0.1:8444"), None, &[], true).is_some());
    }

    #[test]
    fn configured_names_are_allowed_on_their_port() {
        let v4 = at("127.0.0.1:8444");
        let names = vec![
            "ca.example.org".to_owned(),
            "proxy.example.org:443".to_owned(),
        ];
        assert_eq!(refusal(Some("ca.example.org:8444"), v4, &names, true), None);
        assert_eq!(refusal(Some("CA.Example.Org:8444"), v4, &names, true), None);
        assert!(refusal(Some("ca.example.org:9999"), v4, &names, true).is_some());
        assert!(refusal(Some("ca.example.org"), v4, &names, true).is_some());
        // An entry with a port: that authority, and a Host without a port
        // when the port is the scheme's default.
        assert_eq!(
            refusal(Some("proxy.example.org:443"), v4, &names, true),
            None
        );
        assert_eq!(refusal(Some("proxy.example.org"), v4, &names, true), None);
        assert!(refusal(Some("proxy.example.org"), v4, &names, false).is_some());
        assert!(refusal(Some("other.example.org:8444"), v4, &names, true).is_some());
    }

    #[test]
    fn host_entries_are_checked() {
        for ok in [
            "ca.example.org",
            "ca.example.org:8444",
            "[::1]:8444",
            "10.0.0.1",
            "localhost",
        ] {
            assert!(valid_host_entry(ok), "{ok}");
        }
        for bad in [
            "",
            "https://ca.example.org",
            "ca.example.org/",
            "ca.example.org:0",
            "ca.example.org:99999",
            "-bad.example",
            "a..b",
            "[::1",
            "under_score.example",
            "*.example.org",
        ] {
            assert!(!valid_host_entry(bad), "{bad}");
        }
    }
}
