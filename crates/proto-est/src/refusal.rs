//! The engine's refusals as HTTP answers: the one exhaustive mapping from the engine's
//! neutral reason to an HTTP status (RFC 7030 §4.2.3: a rejected request gets a 4xx or
//! 5xx status and a human-readable explanation, here a `text/plain` body).
//!
//! [`Reason`] is the engine's (`cmc_ca::Reason`, deliberately not `#[non_exhaustive]`): a
//! reason the engine adds fails to compile here until EST says what it means.

use cmc_ca::Reason;

use crate::reply::{DEFAULT_RETRY_AFTER_SECS, Reply};

/// The HTTP status for a refusal.
///
/// - **400 Bad Request**: BadRequest, UnsupportedExtension, BadAlg, PopFailed, NoKeyReuse.
///   Something in the request itself must change; RFC 7030 §4.2.3 wants 4xx for a
///   rejected request, and 400 is the one for "the client sent what cannot be processed"
///   (RFC 9110 §15.5.1).
/// - **403 Forbidden**: BadIdentity, NotAuthorized, BadTime, UnknownCertificate, Rejected.
///   The client authenticated (TLS or Basic) but the CA will not do this for it: other
///   credentials, not the same request again, would be needed (RFC 9110 §15.5.4). EST
///   names no certificate in the URL, so UnknownCertificate can only be the certificate
///   presented for a renewal that this CA did not issue: an authorisation failure, not a
///   missing resource. BadTime here is an expired credential. A failed *authentication*
///   (no principal for the certificate or the Basic secret) is not mapped here: the caller
///   answers it with [`Reply::unauthorized`] (401 with a Basic challenge, RFC 7030
///   §3.2.3), so that a client that also has a password can use it.
/// - **409 Conflict**: AlreadyPending. Another request of this client waits for approval;
///   202 would tell the client to poll for a request that was not kept (RFC 7030 §4.2.3
///   uses 202 only for the request that is held, and the caller answers that one with
///   [`Reply::pending`]). RFC 9110 §15.5.10: "conflict with the current state of the
///   target resource".
/// - **501 Not Implemented**: NotSupported (for example serverkeygen where the profile
///   does not allow server-side key generation): the CA lacks the function, not the
///   client its rights (RFC 9110 §15.6.2).
/// - **503 Service Unavailable** with `Retry-After`: TryLater (RFC 9110 §15.6.4,
///   §10.2.3; RFC 7030 §4.2.3 pairs Retry-After with a later retry).
/// - **500 Internal Server Error**: Internal, with a fixed text. Only the CA's own
///   failures get here, never bad input.
#[must_use]
pub const fn status_for(reason: Reason) -> u16 {
    match reason {
        Reason::BadRequest
        | Reason::UnsupportedExtension
        | Reason::BadAlg
        | Reason::PopFailed
        | Reason::NoKeyReuse => 400,
        Reason::BadIdentity
        | Reason::NotAuthorized
        | Reason::BadTime
        | Reason::UnknownCertificate
        | Reason::Rejected => 403,
        Reason::AlreadyPending => 409,
        Reason::NotSupported => 501,
        Reason::TryLater => 503,
        Reason::Internal => 500,
    }
}

/// The reply for a refusal: [`status_for`] with `detail` (the engine's text, safe to
/// send) as a `text/plain` body; `Retry-After` ([`DEFAULT_RETRY_AFTER_SECS`]) on 503; a
/// fixed text instead of `detail` on 500.
#[must_use]
pub fn refused_reply(reason: Reason, detail: &str) -> Reply {
    let status = status_for(reason);
    let mut reply = if reason == Reason::Internal {
        Reply::text(status, "internal CA error")
    } else {
        Reply::text(status, detail)
    };
    if reason == Reason::TryLater {
        reply.headers.push((
            "Retry-After".to_owned(),
            DEFAULT_RETRY_AFTER_SECS.to_string(),
        ));
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Reason; 14] = [
        Reason::BadRequest,
        Reason::UnsupportedExtension,
        Reason::BadAlg,
        Reason::BadIdentity,
        Reason::NotAuthorized,
        Reason::PopFailed,
        Reason::NoKeyReuse,
        Reason::BadTime,
        Reason::UnknownCertificate,
        Reason::TryLater,
        Reason::AlreadyPending,
        Reason::Rejected,
        Reason::NotSupported,
        Reason::Internal,
    ];

    #[test]
    fn every_reason_is_an_error_status() {
        let expected = [
            400, 400, 400, 403, 403, 400, 400, 403, 403, 503, 409, 403, 501, 500,
        ];
        for (reason, status) in ALL.into_iter().zip(expected) {
            assert_eq!(status_for(reason), status, "{reason:?}");
            let r = refused_reply(reason, "the detail");
            assert_eq!(r.status, status);
            assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
            assert_eq!(
                r.header("Retry-After").is_some(),
                status == 503,
                "{reason:?}"
            );
            let body = String::from_utf8(r.body).unwrap();
            assert_eq!(body.contains("the detail"), status != 500, "{reason:?}");
        }
    }
}
