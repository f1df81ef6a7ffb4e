//! Accepting connections: plain TCP or TLS, hyper HTTP/1.1 with a header
//! read timeout and keep-alive, and graceful shutdown that lets in-flight
//! requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::routes::{App, ConnInfo};

/// Connection limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for a TLS handshake and for a request head.
    pub read_timeout: Duration,
    /// Time an idle keep-alive connection is kept.
    pub idle_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

/// A bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    limits: Limits,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `addr`.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        app: Arc<App>,
        limits: Limits,
    ) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        Ok(Self {
            listener,
            tls: tls.map(TlsAcceptor::from),
            app,
            limits,
        })
    }

    /// The bound address (the real port when 0 was asked for).
    ///
    /// # Errors
    /// If the socket cannot tell.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().context("local address")
    }

    /// The base URL of the server, `http://` or `https://` and the bound
    /// address.
    ///
    /// # Errors
    /// As [`Server::local_addr`].
    pub fn url(&self) -> Result<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    /// Serves until `shutdown` completes, then stops accepting and waits
    /// (up to the drain timeout) for open connections to finish their
    /// in-flight requests.
    ///
    /// # Errors
    /// Never after binding; accept errors are logged and retried.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            // A backstop only: Activity enforces the idle and read timeouts.
            .header_read_timeout(self.limits.read_timeout + self.limits.idle_timeout)
            .keep_alive(true)
            .max_buf_size(64 * 1024);
        let http = Arc::new(http);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            let app = Arc::clone(&self.app);
            let http = Arc::clone(&http);
            let limits = self.limits;
            let watcher = graceful.watcher();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => {
                        let conn = ConnInfo {
                            peer: Some(peer),
                            local,
                            ..ConnInfo::default()
                        };
                        serve_connection(&http, watcher, stream, conn, app, limits).await;
                    }
                    Some(acceptor) => {
                        let handshake =
                            tokio::time::timeout(limits.read_timeout, acceptor.accept(stream))
                                .await;
                        let tls = match handshake {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::info!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::info!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                        let session = tls.get_ref().1;
                        let client_cert = session
                            .peer_certificates()
                            .and_then(|certs| certs.first())
                            .map(|c| c.as_ref().to_vec());
                        let conn = ConnInfo {
                            peer: Some(peer),
                            local,
                            tls_client_cert: client_cert,
                            tls: true,
                            channel_binding: crate::tls::channel_binding(session),
                        };
                        serve_connection(&http, watcher, tls, conn, app, limits).await;
                    }
                }
            });
        }
        drop(self.listener);
        tracing::info!("shutting down: no new connections, draining open ones");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.limits.drain_timeout) => {
                tracing::warn!("drain timeout: closing the remaining connections");
            }
        }
        Ok(())
    }
}

/// Serves one connection until it ends, is idle for the idle timeout, or
/// takes longer than the read timeout to send a request head.
///
/// hyper's own header read timer also runs while a keep-alive connection
/// waits for its next request, so it cannot tell idle from slow; it is only
/// a backstop here, and [`Activity`] draws the line.
async fn serve_connection<S>(
    http: &hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    conn: ConnInfo,
    app: Arc<App>,
    limits: Limits,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = conn.peer.map(|p| p.to_string()).unwrap_or_default();
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let conn = Arc::new(conn);
    let svc_activity = Arc::clone(&activity);
    let svc = service_fn(move |req| {
        let app = Arc::clone(&app);
        let conn = Arc::clone(&conn);
        let activity = Arc::clone(&svc_activity);
        activity.request_started();
        async move {
            let reply = app.serve(conn, req).await;
            activity.request_done();
            reply
        }
    });
    let connection = watcher.watch(http.serve_connection(io, svc));
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        why = watchdog(&activity, limits) => {
            tracing::debug!(%peer, why, "closing connection");
        }
    }
}

async fn watchdog(activity: &Activity, limits: Limits) -> &'static str {
    loop {
        match activity.check(Instant::now(), limits) {
            Ok(wait) => tokio::time::sleep(wait).await,
            Err(why) => return why,
        }
    }
}

/// What a connection is doing, for the idle and header timeouts.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests being answered.
    in_flight: usize,
    /// The last read or write.
    last: Instant,
    /// When the first byte after the last answered request arrived.
    head_started: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                last: Instant::now(),
                head_started: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        // Every update is a few plain assignments, so a panic while the
        // lock was held cannot leave the state half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        s.last = now;
        if s.in_flight == 0 && s.head_started.is_none() {
            s.head_started = Some(now);
        }
    }

    fn wrote(&self) {
        self.lock().last = Instant::now();
    }

    fn request_started(&self) {
        let mut s = self.lock();
        s.in_flight += 1;
        s.head_started = None;
    }

    fn request_done(&self) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        s.head_started = None;
        s.last = Instant::now();
    }

    /// How long to wait before checking again, or why to close now.
    fn check(&self, now: Instant, limits: Limits) -> Result<Duration, &'static str> {
        let s = self.lock();
        if s.in_flight > 0 {
            // The body read has its own timeout (408); check again later.
            return Ok(limits.read_timeout.min(limits.idle_timeout));
        }
        match s.head_started {
            Some(started) => {
                let waited = now.saturating_duration_since(started);
                limits
                    .read_timeout
                    .checked_sub(waited)
                    .filter(|d| !d.is_zero())
                    .ok_or("request head not received within the read timeout")
            }
            None => {
                let waited = now.saturating_duration_since(s.last);
                limits
                    .idle_timeout
                    .checked_sub(waited)
                    .filter(|d| !d.is_zero())
                    .ok_or("idle timeout")
            }
        }
    }
}

/// A stream that reports its reads and writes to an [`Activity`].
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        drain_timeout: Duration::from_secs(1),
    };

    #[test]
    fn idle_and_slow_heads_are_told_apart() {
        let a = Activity::new();
        let t0 = a.lock().last;
        // Idle: closed after the idle timeout, not the read timeout.
        assert_eq!(
            a.check(t0 + Duration::from_secs(30), LIMITS),
            Ok(Duration::from_secs(30))
        );
        assert_eq!(
            a.check(t0 + Duration::from_secs(60), LIMITS),
            Err("idle timeout")
        );
        // A head has started: the read timeout counts from its first byte.
        a.read();
        let started = a.lock().head_started.unwrap();
        assert_eq!(
            a.check(started + Duration::from_secs(4), LIMITS),
            Ok(Duration::from_secs(6))
        );
        assert!(a.check(started + Duration::from_secs(10), LIMITS).is_err());
        // While a request is answered nothing is closed.
        a.request_started();
        assert!(a.check(started + Duration::from_secs(3600), LIMITS).is_ok());
        a.request_done();
        let done = a.lock().last;
        assert_eq!(a.lock().head_started, None);
        assert_eq!(
            a.check(done + Duration::from_secs(59), LIMITS),
            Ok(Duration::from_secs(1))
        );
    }
}
