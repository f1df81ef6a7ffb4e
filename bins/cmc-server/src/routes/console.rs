//! The operator console's listener: every request goes to
//! `cmc_console::Console` on the blocking pool (the console calls the
//! engine), under the same permits as the other routes.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Body, Bytes};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::{App, BoxError, ConnInfo, Reply};

/// The largest console form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

impl App {
    /// Answers one console request.
    pub(super) async fn console<B>(
        &self,
        console: Arc<cmc_console::Console>,
        conn: &ConnInfo,
        req: Request<B>,
    ) -> Reply
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let header = |name: HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        // Several Cookie headers (HTTP/2 style) are one list.
        let cookie: Vec<&str> = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let cookie = (!cookie.is_empty()).then(|| cookie.join("; "));
        let origin = header(header::ORIGIN);
        let host = header(header::HOST);
        let loopback = conn.peer.is_some_and(|p| p.ip().is_loopback());
        let local = conn.local;
        // Verified by the listener against `[console.tls] client_ca`.
        let client_cert = conn.tls_client_cert.clone();
        let body = if method == "POST" {
            match self.read_body_up_to(req, MAX_FORM_BYTES).await {
                Ok(b) => b,
                Err(reply) => return reply,
            }
        } else {
            Vec::new()
        };
        let answer = self
            .on_engine("console", move |engine| {
                console.handle(
                    engine,
                    &cmc_console::Request {
                        method: &method,
                        path: &path,
                        query: &query,
                        cookie: cookie.as_deref(),
                        origin: origin.as_deref(),
                        host: host.as_deref(),
                        body: &body,
                        loopback,
                        local,
                        client_cert: client_cert.as_deref(),
                    },
                )
            })
            .await;
        match answer {
            Ok(answer) => to_reply(answer),
            Err(unserved) => unserved.reply(),
        }
    }
}

fn to_reply(answer: cmc_console::Response) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(answer.body)));
    *reply.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = reply.headers_mut();
    for (name, value) in answer.headers {
        // The console formats its headers itself; one that is not a valid
        // value is dropped rather than sent broken.
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(HeaderName::from_static(name), v);
        }
    }
    reply
}
