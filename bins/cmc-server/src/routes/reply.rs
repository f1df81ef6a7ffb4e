//! The answers every route shares: plain-text statuses, headers, dates.

use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use super::Reply;

/// `reply` with the header `name: value` set.
pub(super) fn with_header(mut reply: Reply, name: HeaderName, value: &'static str) -> Reply {
    reply
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
    reply
}

/// A 200 with `body` of media type `content_type`.
pub(super) fn content(body: impl Into<Bytes>, content_type: &'static str) -> Reply {
    with_header(
        Response::new(Full::new(body.into())),
        header::CONTENT_TYPE,
        content_type,
    )
}

/// A plain-text response.
pub(super) fn text(status: StatusCode, body: &str) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body.to_owned())));
    *reply.status_mut() = status;
    with_header(reply, header::CONTENT_TYPE, "text/plain; charset=utf-8")
}

pub(super) fn not_found() -> Reply {
    text(StatusCode::NOT_FOUND, "not found\n")
}

pub(super) fn too_large(max: usize) -> Reply {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than {max} bytes\n"),
    )
}

pub(super) fn internal_error() -> Reply {
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

pub(super) fn unavailable() -> Reply {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is not taking requests now\n",
    )
}

/// Sets `name` to `value` when it is a valid header value (anything this
/// server formats is).
pub(super) fn set_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// Sets the date header `name` (Last-Modified, Expires) to the Unix time
/// `unix`, unless it cannot be written as an HTTP date.
pub(super) fn set_date(headers: &mut HeaderMap, name: HeaderName, unix: i64) {
    if let Some(date) = http_date(unix) {
        set_header(headers, name, &date);
    }
}

/// An IMF-fixdate (RFC 9110 §5.6.7) for a Unix time, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`; `None` outside years 1970..=9999.
#[must_use]
pub fn http_date(unix: i64) -> Option<String> {
    // httpdate panics outside this range; the check makes it a `None`.
    const YEAR_10000: u64 = 253_402_300_800;
    let secs = u64::try_from(unix).ok().filter(|s| *s < YEAR_10000)?;
    let time = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
    Some(httpdate::fmt_http_date(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0).unwrap(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(784_111_777).unwrap(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            http_date(951_782_400).unwrap(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            http_date(1_798_761_599).unwrap(),
            "Thu, 31 Dec 2026 23:59:59 GMT"
        );
        assert_eq!(
            http_date(253_402_300_799).unwrap(),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(http_date(-1), None);
        assert_eq!(http_date(253_402_300_800), None);
    }

    #[test]
    fn dates_out_of_range_set_no_header() {
        let mut headers = HeaderMap::new();
        set_date(&mut headers, header::EXPIRES, -5);
        set_date(&mut headers, header::LAST_MODIFIED, 0);
        assert_eq!(headers.get(header::EXPIRES), None);
        assert_eq!(
            headers.get(header::LAST_MODIFIED).unwrap(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
