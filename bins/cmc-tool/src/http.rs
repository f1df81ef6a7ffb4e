//! A small blocking HTTP/1.1 client for `http://` and `https://` URLs
//! (rustls): one POST per connection (`Connection: close`), with timeouts
//! and a cap on the size of the response.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// The largest response accepted, head and body together.
pub(crate) const MAX_RESPONSE: usize = 4 * 1024 * 1024;
/// The largest response head (status line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// An `http://host[:port]/path` or `https://...` URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url {
    /// `https://`.
    pub(crate) tls: bool,
    /// The host as written (a name, an IPv4 address or `[IPv6]`).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The path and query, starting with `/`.
    pub(crate) path: String,
}

impl Url {
    const fn default_port(&self) -> u16 {
        if self.tls { 443 } else { 80 }
    }

    /// The `Host` header value.
    fn host_header(&self) -> String {
        if self.port == self.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Parses an `http://` or `https://` URL.
pub(crate) fn parse_url(url: &str) -> Result<Url> {
    let lower = url.to_ascii_lowercase();
    let (tls, rest) = if lower.starts_with("https://") {
        (true, &url[8..])
    } else if lower.starts_with("http://") {
        (false, &url[7..])
    } else {
        bail!("{url}: not an http:// or https:// URL");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        bail!("{url}: user information in the URL is not supported");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| anyhow!("{url}: unterminated [IPv6] host"))?;
        let host = &authority[..end + 2];
        match &v6[end + 1..] {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| anyhow!("{url}: bad port"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        bail!("{url}: no host");
    }
    let port = match port {
        None if tls => 443,
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| anyhow!("{url}: bad port {p:?}"))?,
    };
    if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
        bail!("{url}: the path contains whitespace or control characters");
    }
    Ok(Url {
        tls,
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// What the server answered.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// POSTs `body` with `content_type` to `url` and reads the whole response;
/// an `https://` URL needs `tls`.
pub(crate) fn post(
    url: &Url,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Response> {
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (host, url.port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {}", url.host))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(anyhow!("connecting to {addr}: {e}")),
        }
    }
    let Some(stream) = stream else {
        return Err(last.unwrap_or_else(|| anyhow!("{}: no address", url.host)));
    };
    stream
        .set_read_timeout(Some(timeout))
        .context("setting a timeout")?;
    stream
        .set_write_timeout(Some(timeout))
        .context("setting a timeout")?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Accept: application/pkcs7-mime\r\nUser-Agent: cmc-tool/{}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host_header(),
        body.len(),
        env!("CARGO_PKG_VERSION"),
    );
    if !url.tls {
        return exchange(stream, &head, body);
    }
    let config = tls.ok_or_else(|| anyhow!("https:// needs a TLS configuration"))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| anyhow!("{}: not a TLS server name: {e}", url.host))?;
    let conn = rustls::ClientConnection::new(Arc::clone(config), name)
        .map_err(|e| anyhow!("TLS set-up: {e}"))?;
    exchange(rustls::StreamOwned::new(conn, stream), &head, body).context("over TLS")
}

fn exchange(mut stream: impl Read + Write, head: &str, body: &[u8]) -> Result<Response> {
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .context("sending the request")?;
    read_response(&mut stream)
}

fn read_response(stream: &mut impl Read) -> Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            bail!("the response head is larger than {MAX_HEAD} bytes");
        }
        let n = stream.read(&mut chunk).context("reading the response")?;
        if n == 0 {
            bail!("the server closed the connection before a complete response head");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| anyhow!("the response head is not text"))?
        .to_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: {status_line:?}");
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| anyhow!("bad status line {status_line:?}"))?;
    let reason = parts.next().unwrap_or_default().to_owned();
    let mut content_length = None;
    let mut content_type = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("bad header line {line:?}");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| anyhow!("bad Content-Length {value:?}"))?;
            if n > MAX_RESPONSE {
                bail!("the response body ({n} bytes) is larger than {MAX_RESPONSE} bytes");
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && !value.eq_ignore_ascii_case("identity")
        {
            bail!("Transfer-Encoding {value:?} is not supported");
        }
    }
    let mut body = buf.split_off(head_end + 4);
    loop {
        if content_length.is_some_and(|n| body.len() >= n) {
            break;
        }
        if body.len() > MAX_RESPONSE {
            bail!("the response body is larger than {MAX_RESPONSE} bytes");
        }
        let n = stream
            .read(&mut chunk)
            .context("reading the response body")?;
        if n == 0 {
            if let Some(n) = content_length {
                bail!(
                    "the server closed the connection after {} of {n} body bytes",
                    body.len()
                );
            }
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if let Some(n) = content_length {
        body.truncate(n);
    }
    Ok(Response {
        status,
        reason,
        content_type,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = parse_url("http://ca.example:8080/cmc/root").unwrap();
        assert_eq!(
            u,
            Url {
                tls: false,
                host: "ca.example".into(),
                port: 8080,
                path: "/cmc/root".into()
            }
        );
        assert_eq!(u.host_header(), "ca.example:8080");
        let u = parse_url("http://[::1]/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 80));
        let u = parse_url("https://ca.example/cmc/root").unwrap();
        assert_eq!(
            (u.tls, u.port, u.host_header().as_str()),
            (true, 443, "ca.example")
        );
        let u = parse_url("HTTPS://ca.example:8443/").unwrap();
        assert_eq!((u.tls, u.host_header().as_str()), (true, "ca.example:8443"));
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://x:0/").is_err());
        assert!(parse_url("http://x:99999/").is_err());
    }

    #[test]
    fn responses_parse() {
        let text = b"HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 3\r\n\r\nabcdef";
        let r = read_response(&mut &text[..]).unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert_eq!(r.content_type.as_deref(), Some("a/b"));
        assert_eq!(r.body, b"abc");
        let text = b"HTTP/1.0 403 Forbidden\r\n\r\nno";
        let r = read_response(&mut &text[..]).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (403, &b"no"[..]));
        let text = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc";
        assert!(read_response(&mut &text[..]).is_err());
        let text = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n";
        assert!(read_response(&mut &text[..]).is_err());
    }
}
