//! Reading a request body within the size and time limits.

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body, Bytes};
use hyper::header;
use hyper::{Request, StatusCode};

use super::reply::{text, too_large};
use super::{App, BoxError, Reply};

impl App {
    /// Reads the whole body within `[server].max_body_bytes` and the read
    /// timeout.
    pub(super) async fn read_body<B>(&self, req: Request<B>) -> Result<Vec<u8>, Reply>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        self.read_body_up_to(req, self.settings.max_body_bytes)
            .await
    }

    /// Reads the whole body, at most `max` bytes, within the read timeout:
    /// 413 above `max` (a larger Content-Length is refused before reading),
    /// 408 when too slow, 400 when broken.
    pub(super) async fn read_body_up_to<B>(
        &self,
        req: Request<B>,
        max: usize,
    ) -> Result<Vec<u8>, Reply>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        if let Some(len) = req.headers().get(header::CONTENT_LENGTH) {
            let len = len.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok());
            match len {
                None => return Err(text(StatusCode::BAD_REQUEST, "bad Content-Length\n")),
                Some(n) if n > u64::try_from(max).unwrap_or(u64::MAX) => {
                    return Err(too_large(max));
                }
                Some(_) => {}
            }
        }
        let body = Limited::new(req.into_body(), max);
        match tokio::time::timeout(self.settings.read_timeout, body.collect()).await {
            Err(_) => Err(text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body was not received in time\n",
            )),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "reading a request body failed");
                Err(text(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read\n",
                ))
            }
            Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        }
    }
}
