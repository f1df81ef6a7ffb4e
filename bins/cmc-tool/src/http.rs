//! The CMC client's HTTP/1.1: hyper's client with a keep-alive pool, over
//! `http://` or `https://` (rustls through hyper-rustls, with the trust and
//! client certificate of [`crate::tls`]), driven by a small current-thread
//! tokio runtime so that the commands stay synchronous.
//!
//! The timeout applies as it did to the blocking sockets this replaces: to
//! connecting (TCP and the TLS handshake), to each write and to each read
//! (hyper-timeout's connector). A response body is capped at
//! [`MAX_RESPONSE`] bytes and its head at [`MAX_HEAD`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// The largest response body accepted.
pub(crate) const MAX_RESPONSE: usize = 4 * 1024 * 1024;
/// The largest response head (status line and headers): hyper's read
/// buffer, which a head must fit in.
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

    /// The URL as hyper takes it.
    fn uri(&self) -> Result<hyper::Uri> {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}:{}{}", self.host, self.port, self.path)
            .parse()
            .map_err(|e| anyhow!("{scheme}://{}{}: {e}", self.host_header(), self.path))
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

type Connector = TimeoutConnector<HttpsConnector<HttpConnector>>;

/// A blocking HTTP/1.1 client that keeps its connections open between
/// requests (one pool per client; a client used from one thread at a time
/// holds one connection per server).
pub(crate) struct Client {
    // Dropped before the runtime that drives its connections.
    client: HyperClient<Connector, Full<Bytes>>,
    runtime: tokio::runtime::Runtime,
    /// Whether `https://` URLs can be used (a TLS configuration was given).
    tls: bool,
    /// Whether connections are kept for the next request (else each
    /// request says `Connection: close` and gets its own connection).
    keep_alive: bool,
}

impl Client {
    /// A client with `timeout` for connecting, each write and each read;
    /// `https://` URLs need `tls`.
    ///
    /// # Errors
    /// Inside an async runtime (the client blocks on its own), or when its
    /// runtime or the TLS set-up for plain http:// cannot be made.
    pub(crate) fn new(timeout: Duration, tls: Option<&Arc<rustls::ClientConfig>>) -> Result<Self> {
        Self::build(timeout, tls, true)
    }

    /// A client that opens one connection per request (`Connection:
    /// close`, nothing pooled): what clients without keep-alive cost a
    /// server, for comparison (`bench --no-keep-alive`).
    ///
    /// # Errors
    /// As [`Client::new`].
    pub(crate) fn one_connection_per_request(
        timeout: Duration,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Self> {
        Self::build(timeout, tls, false)
    }

    fn build(
        timeout: Duration,
        tls: Option<&Arc<rustls::ClientConfig>>,
        keep_alive: bool,
    ) -> Result<Self> {
        refuse_async_context()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("starting the HTTP client's runtime")?;
        // Without a configuration only http:// is sent ([`Client::post`]
        // refuses https:// first); the connector still wants one.
        let config = match tls {
            Some(config) => rustls::ClientConfig::clone(config),
            None => plain_only_config()?,
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let mut connector = TimeoutConnector::new(https);
        connector.set_connect_timeout(Some(timeout));
        connector.set_read_timeout(Some(timeout));
        connector.set_write_timeout(Some(timeout));
        let mut builder = HyperClient::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .http1_max_buf_size(MAX_HEAD);
        if !keep_alive {
            builder.pool_max_idle_per_host(0);
        }
        let client = builder.build(connector);
        Ok(Self {
            client,
            runtime,
            tls: tls.is_some(),
            keep_alive,
        })
    }

    /// POSTs `body` with `content_type` to `url` and reads the whole
    /// response, on a pooled connection when one is open.
    ///
    /// # Errors
    /// An https:// URL without a TLS configuration, a connection, TLS or
    /// HTTP failure, a timeout, or a response body over [`MAX_RESPONSE`].
    pub(crate) fn post(&self, url: &Url, content_type: &str, body: &[u8]) -> Result<Response> {
        self.post_accepting(url, content_type, "application/pkcs7-mime", body)
    }

    /// [`Client::post`] with another `Accept` header (`application/pkixcmp` for CMP).
    ///
    /// # Errors
    /// As [`Client::post`].
    pub(crate) fn post_accepting(
        &self,
        url: &Url,
        content_type: &str,
        accept: &str,
        body: &[u8],
    ) -> Result<Response> {
        let request = hyper::Request::post(url.uri()?)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, accept);
        self.send(url, request, Bytes::copy_from_slice(body))
    }

    /// GETs `url` and reads the whole response, as [`Client::post`].
    ///
    /// # Errors
    /// As [`Client::post`].
    pub(crate) fn get(&self, url: &Url) -> Result<Response> {
        self.send(url, hyper::Request::get(url.uri()?), Bytes::new())
    }

    fn send(
        &self,
        url: &Url,
        request: hyper::http::request::Builder,
        body: Bytes,
    ) -> Result<Response> {
        if url.tls && !self.tls {
            bail!("https:// needs a TLS configuration");
        }
        refuse_async_context()?;
        let mut request = request
            .header(HOST, url.host_header())
            .header(USER_AGENT, concat!("cmc-tool/", env!("CARGO_PKG_VERSION")));
        if !self.keep_alive {
            request = request.header(CONNECTION, "close");
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| anyhow!("building the request: {e}"))?;
        let over = if url.tls { " over TLS" } else { "" };
        self.runtime.block_on(async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(anyhow::Error::new)
                .with_context(|| format!("sending the request{over}"))?;
            let (head, incoming) = response.into_parts();
            if let Some(n) = head
                .headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n > MAX_RESPONSE as u64)
            {
                bail!("the response body ({n} bytes) is larger than {MAX_RESPONSE} bytes");
            }
            let body = Limited::new(incoming, MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<LengthLimitError>() {
                        anyhow!("the response body is larger than {MAX_RESPONSE} bytes")
                    } else {
                        anyhow::Error::from_boxed(e)
                            .context(format!("reading the response body{over}"))
                    }
                })?
                .to_bytes()
                .to_vec();
            let reason = head
                .extensions
                .get::<hyper::ext::ReasonPhrase>()
                .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
                .or_else(|| head.status.canonical_reason().map(str::to_owned))
                .unwrap_or_default();
            let content_type = head
                .headers
                .get(CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned());
            Ok(Response {
                status: head.status.as_u16(),
                reason,
                content_type,
                body,
            })
        })
    }
}

/// The client blocks on its own runtime, which tokio does not allow
/// inside another one (it would panic): refused with an error instead.
fn refuse_async_context() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        bail!("the blocking HTTP client cannot run inside an async runtime");
    }
    Ok(())
}

/// A TLS configuration for a client that sends only to http:// URLs: it
/// trusts nothing, so no https:// connection could succeed with it.
fn plain_only_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(crate::tls::crypto_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS set-up: {e}"))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

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
        assert_eq!(u.uri().unwrap().to_string(), "http://[::1]:80/x");
        let u = parse_url("https://ca.example/cmc/root").unwrap();
        assert_eq!(
            (u.tls, u.port, u.host_header().as_str()),
            (true, 443, "ca.example")
        );
        let u = parse_url("HTTPS://ca.example:8443/").unwrap();
        assert_eq!((u.tls, u.host_header().as_str()), (true, "ca.example:8443"));
        let u = parse_url("http://ca.example:8080/cmc/root?x=1").unwrap();
        assert_eq!(u.uri().unwrap().path_and_query().unwrap(), "/cmc/root?x=1");
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://x:0/").is_err());
        assert!(parse_url("http://x:99999/").is_err());
    }

    /// A loopback server that answers each request on a connection with
    /// `answers[i]` (raw bytes), then closes; returns its URL and a channel
    /// with each connection's request heads.
    fn server(answers: Vec<Vec<u8>>) -> (Url, std::sync::mpsc::Receiver<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut heads = Vec::new();
            let mut buf = Vec::new();
            for answer in answers {
                // One request: its head, then Content-Length body bytes.
                let mut chunk = [0u8; 4096];
                let end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    let n = stream.read(&mut chunk).unwrap();
                    assert!(n > 0, "the client closed early");
                    buf.extend_from_slice(&chunk[..n]);
                };
                let head = String::from_utf8(buf[..end].to_vec()).unwrap();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |n| n.parse().unwrap());
                while buf.len() < end + length {
                    let n = stream.read(&mut chunk).unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                buf.drain(..end + length);
                heads.push(head);
                stream.write_all(&answer).unwrap();
            }
            tx.send(heads).unwrap();
        });
        (
            parse_url(&format!("http://127.0.0.1:{port}/cmc/root")).unwrap(),
            rx,
        )
    }

    #[test]
    fn requests_share_one_connection() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 3\r\n\r\nabc".to_vec();
        let forbidden = b"HTTP/1.1 403 Not Today\r\nContent-Length: 2\r\n\r\nno".to_vec();
        let (url, heads) = server(vec![ok, forbidden]);
        let client = Client::new(Duration::from_secs(10), None).unwrap();
        let r = client.post(&url, "x/y", b"first").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert_eq!(r.content_type.as_deref(), Some("a/b"));
        assert_eq!(r.body, b"abc");
        // The second request comes on the same connection (the server
        // accepts only one).
        let r = client.post(&url, "x/y", b"second").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (403, "Not Today"));
        assert_eq!(r.body, b"no");
        let heads = heads.recv().unwrap();
        assert_eq!(heads.len(), 2);
        for (head, length) in heads.iter().zip([5, 6]) {
            assert!(head.starts_with("POST /cmc/root HTTP/1.1\r\n"), "{head}");
            let lower = head.to_ascii_lowercase();
            for line in [
                format!("host: 127.0.0.1:{}\r\n", url.port),
                "content-type: x/y\r\n".to_owned(),
                format!("content-length: {length}\r\n"),
                "accept: application/pkcs7-mime\r\n".to_owned(),
            ] {
                assert!(lower.contains(&line), "{line:?} in {head}");
            }
        }
    }

    #[test]
    fn without_keep_alive_each_request_has_its_own_connection() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        let (url, heads) = server(vec![ok.clone()]);
        let client = Client::one_connection_per_request(Duration::from_secs(10), None).unwrap();
        let r = client.post(&url, "x/y", b"first").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        let heads = heads.recv().unwrap();
        assert!(
            heads[0]
                .to_ascii_lowercase()
                .contains("connection: close\r\n"),
            "{}",
            heads[0]
        );
        // The server accepted one connection and is gone: a second request
        // cannot reuse the first one's.
        assert!(client.post(&url, "x/y", b"second").is_err());

        // The keep-alive client's GET: no body, no Connection: close.
        let (url, heads) = server(vec![ok.clone(), ok]);
        let client = Client::new(Duration::from_secs(10), None).unwrap();
        assert_eq!(client.get(&url).unwrap().body, b"ok");
        assert_eq!(client.get(&url).unwrap().body, b"ok");
        for head in heads.recv().unwrap() {
            assert!(head.starts_with("GET /cmc/root HTTP/1.1\r\n"), "{head}");
            let lower = head.to_ascii_lowercase();
            assert!(!lower.contains("connection: close"), "{head}");
            assert!(!lower.contains("content-type"), "{head}");
        }
    }

    #[test]
    fn an_http10_body_ends_with_the_connection() {
        let (url, _) = server(vec![b"HTTP/1.0 403 Forbidden\r\n\r\nno".to_vec()]);
        let client = Client::new(Duration::from_secs(10), None).unwrap();
        let r = client.post(&url, "x/y", b"z").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (403, "Forbidden"));
        assert_eq!((r.content_type, r.body.as_slice()), (None, &b"no"[..]));
    }

    #[test]
    fn oversized_and_short_responses_are_refused() {
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_RESPONSE + 1
        );
        let (url, _) = server(vec![big.into_bytes()]);
        let client = Client::new(Duration::from_secs(10), None).unwrap();
        let e = client.post(&url, "x/y", b"").unwrap_err();
        assert!(format!("{e:#}").contains("is larger than"), "{e:#}");

        // A chunked body that goes on past the cap.
        let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..5 {
            chunked.extend_from_slice(b"100000\r\n");
            chunked.extend_from_slice(&chunk);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let (url, _) = server(vec![chunked]);
        let e = client.post(&url, "x/y", b"").unwrap_err();
        assert!(
            format!("{e:#}").contains(&format!(
                "the response body is larger than {MAX_RESPONSE} bytes"
            )),
            "{e:#}"
        );

        // Fewer body bytes than announced, then the connection ends.
        let (url, _) = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc".to_vec(),
        ]);
        let e = client.post(&url, "x/y", b"").unwrap_err();
        assert!(
            format!("{e:#}").starts_with("reading the response body: "),
            "{e:#}"
        );
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            // Accept, read the request, never answer.
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            while stream.read(&mut buf).is_ok_and(|n| n > 0) {}
        });
        let url = parse_url(&format!("http://127.0.0.1:{port}/")).unwrap();
        let client = Client::new(Duration::from_secs(1), None).unwrap();
        let e = client.post(&url, "x/y", b"hello").unwrap_err();
        assert!(format!("{e:#}").contains("timed out"), "{e:#}");
    }

    #[test]
    fn https_needs_a_tls_configuration() {
        let client = Client::new(Duration::from_secs(1), None).unwrap();
        let url = parse_url("https://127.0.0.1:1/").unwrap();
        let e = client.post(&url, "x/y", b"").unwrap_err();
        assert_eq!(e.to_string(), "https:// needs a TLS configuration");
    }
}
