//! Accepting connections: plain TCP or TLS, hyper HTTP/1.1 with a header
//! read timeout and keep-alive, and graceful shutdown that lets in-flight
//! requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::http::{App, ConnInfo};

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
            .header_read_timeout(self.limits.read_timeout)
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
            let app = Arc::clone(&self.app);
            let http = Arc::clone(&http);
            let limits = self.limits;
            match &self.tls {
                None => {
                    let conn = ConnInfo {
                        peer: Some(peer.to_string()),
                        tls_client_cert: None,
                    };
                    let fut = serve(&http, &graceful, stream, conn, app, limits);
                    tokio::spawn(fut);
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
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
                        let client_cert = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|certs| certs.first())
                            .map(|c| c.as_ref().to_vec());
                        let conn = ConnInfo {
                            peer: Some(peer.to_string()),
                            tls_client_cert: client_cert,
                        };
                        let io = TokioIo::new(tls);
                        let svc = service(app, conn);
                        let connection = watcher.watch(http.serve_connection(io, svc));
                        if let Err(e) = connection.await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
            }
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

fn service(
    app: Arc<App>,
    conn: ConnInfo,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = crate::http::Reply,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<crate::http::Reply, std::convert::Infallible>> + Send,
> + Clone {
    let conn = Arc::new(conn);
    service_fn(move |req| Arc::clone(&app).serve(Arc::clone(&conn), req))
}

fn serve<S>(
    http: &hyper::server::conn::http1::Builder,
    graceful: &GracefulShutdown,
    stream: S,
    conn: ConnInfo,
    app: Arc<App>,
    _limits: Limits,
) -> impl Future<Output = ()> + Send + 'static
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = conn.peer.clone().unwrap_or_default();
    let connection =
        graceful.watch(http.serve_connection(TokioIo::new(stream), service(app, conn)));
    async move {
        if let Err(e) = connection.await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
