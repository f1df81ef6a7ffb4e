//! What the CMC handler hands back to the HTTP server: a signed reply
//! ([`CmcReply`]) or the few answers that are not CMC at all ([`NotCmc`]),
//! and the one mapping from the engine's refusal reasons to `CMCFailInfo`.

use std::fmt;

use cmc_asn1::{
    BodyPartId, BodyPartReference, CmcFailInfo, CmcStatus, CmcStatusInfoV2, OtherStatusInfo,
    PkiResponse, TaggedAttribute,
};

use cmc_ca::{Reason, Refused};

/// The media type of a Full PKI Response (RFC 5273 §3).
pub const CMC_RESPONSE_CONTENT_TYPE: &str = "application/pkcs7-mime; smime-type=CMC-response";
/// The media type of a Simple PKI Response (RFC 5273 §3).
pub const CERTS_ONLY_CONTENT_TYPE: &str = "application/pkcs7-mime; smime-type=certs-only";

/// Facts about the HTTP exchange that the engine may use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    /// The TLS client certificate (DER), when the connection presented one.
    /// When present it must be the certificate that signed the CMC request,
    /// otherwise the request fails with badIdentity.
    pub tls_client_cert: Option<Vec<u8>>,
    /// The peer's address, for logs.
    pub peer: Option<String>,
}

/// A request that cannot be answered in CMC: the server answers it with the
/// HTTP status of [`NotCmc::http_status`] and the short text of
/// [`NotCmc::reason`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotCmc {
    /// The body is not CMS (or, for a Simple PKI Request, not PKCS #10)
    /// at all: HTTP 400.
    Malformed(String),
    /// The body is larger than the engine accepts: HTTP 413.
    TooLarge {
        /// The body's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No CA of this name: HTTP 404.
    UnknownCa(String),
    /// This CA does not accept Simple PKI Requests (`allow_simple_requests`
    /// is off): HTTP 403. (Not 415: the media type is one the server
    /// understands; it is this CA's policy that refuses it.)
    SimpleRequestsNotAllowed(String),
    /// The CA could not sign a response (its key failed): HTTP 500. The
    /// detail is logged, not returned.
    Internal,
}

impl NotCmc {
    /// The HTTP status to answer with.
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::TooLarge { .. } => 413,
            Self::UnknownCa(_) => 404,
            Self::SimpleRequestsNotAllowed(_) => 403,
            Self::Internal => 500,
        }
    }

    /// A short reason for the response body (no internal detail).
    #[must_use]
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for NotCmc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a CMC request: {why}"),
            Self::TooLarge { len, max } => {
                write!(f, "request of {len} bytes exceeds the limit of {max}")
            }
            Self::UnknownCa(ca) => write!(f, "no CA named {ca:?}"),
            Self::SimpleRequestsNotAllowed(ca) => {
                write!(f, "CA {ca:?} does not accept Simple PKI Requests")
            }
            Self::Internal => f.write_str("internal error"),
        }
    }
}

impl std::error::Error for NotCmc {}

/// One status the reply reports, for metrics and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartStatus {
    /// The status.
    pub status: CmcStatus,
    /// The failure reason of a failed part.
    pub fail_info: Option<CmcFailInfo>,
    /// The body parts it covers (0: the whole PKIData).
    pub body_list: Vec<BodyPartId>,
}

/// A signed CMC reply, ready to send with HTTP 200.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmcReply {
    /// The DER `ContentInfo`.
    pub der: Vec<u8>,
    /// [`CMC_RESPONSE_CONTENT_TYPE`] or [`CERTS_ONLY_CONTENT_TYPE`].
    pub content_type: &'static str,
    /// Every status reported (a certs-only reply reports one success).
    pub statuses: Vec<PartStatus>,
    /// How many certificates were issued.
    pub issued: usize,
    /// Whether the request's sender was authenticated (a verified
    /// signature by a principal this CA knows, or a secret that proved
    /// itself). An unauthenticated failure echoes only the senderNonce and
    /// transactionId; the server rate-limits such failures per source.
    pub authenticated: bool,
}

impl CmcReply {
    /// The fail infos reported, in order.
    #[must_use]
    pub fn fail_infos(&self) -> Vec<CmcFailInfo> {
        self.statuses.iter().filter_map(|s| s.fail_info).collect()
    }

    /// Whether every part succeeded.
    #[must_use]
    pub fn all_succeeded(&self) -> bool {
        self.statuses.iter().all(|s| s.status == CmcStatus::Success)
    }
}

/// A failure to report for some body parts: the status (failed or
/// noSupport), the CMCFailInfo and a statusString that says what was wrong
/// with the request without internal detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: CmcStatus,
    pub(crate) fail_info: CmcFailInfo,
    pub(crate) text: String,
}

impl Failure {
    pub(crate) fn failed(fail_info: CmcFailInfo, text: impl Into<String>) -> Self {
        Self {
            status: CmcStatus::Failed,
            fail_info,
            text: text.into(),
        }
    }

    /// popRequired (status and failInfo, RFC 5272 §6.7): the request's
    /// key must answer the encryptedPOP challenge first.
    pub(crate) fn pop_required(text: impl Into<String>) -> Self {
        Self {
            status: CmcStatus::PopRequired,
            fail_info: CmcFailInfo::PopRequired,
            text: text.into(),
        }
    }

    pub(crate) fn no_support(text: impl Into<String>) -> Self {
        Self {
            status: CmcStatus::NoSupport,
            fail_info: CmcFailInfo::BadRequest,
            text: text.into(),
        }
    }

    /// The failure to report for an engine error on CA `ca` (internal
    /// errors are logged with their detail and reported with a fixed text).
    pub(crate) fn from_engine(e: &cmc_ca::Error, ca: &str) -> Self {
        Self::from(Refused::from_error(e, ca))
    }
}

impl From<Refused> for Failure {
    fn from(refused: Refused) -> Self {
        let Refused { reason, detail } = refused;
        match reason {
            Reason::NotSupported => Self::no_support(detail),
            _ => Self::failed(fail_info(reason), detail),
        }
    }
}

/// The CMCFailInfo for an engine refusal: the one place the mapping lives,
/// exhaustive so that a new reason does not compile until it is mapped.
///
/// A principal that may not do what it asks gets badRequest (RFC 5272 has
/// no "not authorised"; badIdentity is kept for "who are you?"), and so
/// does a second request while one is held or a rejected one; an unknown
/// certificate is badCertId; a request the CA does not support is
/// reported with status noSupport (and badRequest); everything on the
/// CA's side is internalCAError.
pub(crate) const fn fail_info(reason: Reason) -> CmcFailInfo {
    match reason {
        Reason::BadRequest
        | Reason::NotAuthorized
        | Reason::AlreadyPending
        | Reason::Rejected
        | Reason::NotSupported => CmcFailInfo::BadRequest,
        Reason::UnsupportedExtension => CmcFailInfo::UnsupportedExt,
        Reason::BadAlg => CmcFailInfo::BadAlg,
        Reason::BadIdentity => CmcFailInfo::BadIdentity,
        Reason::PopFailed => CmcFailInfo::PopFailed,
        Reason::NoKeyReuse => CmcFailInfo::NoKeyReuse,
        Reason::UnknownCertificate => CmcFailInfo::BadCertId,
        Reason::BadTime => CmcFailInfo::BadTime,
        Reason::TryLater => CmcFailInfo::TryLater,
        Reason::Internal => CmcFailInfo::InternalCaError,
    }
}

/// Builds the controls of a PKIResponse, numbering them 1, 2, 3, ...
#[derive(Debug, Default)]
pub(crate) struct ResponseBuilder {
    response: PkiResponse,
    statuses: Vec<PartStatus>,
}

impl ResponseBuilder {
    fn next_id(&self) -> BodyPartId {
        BodyPartId::try_from(self.response.control_sequence.len())
            .map_or(BodyPartId::MAX, |n| n.saturating_add(1))
    }

    /// Adds a control.
    pub(crate) fn control<T: const_oid::AssociatedOid + der::Encode>(
        &mut self,
        value: &T,
    ) -> Result<(), cmc_asn1::Error> {
        let attr = TaggedAttribute::from_value(self.next_id(), value)?;
        self.response.control_sequence.push(attr);
        Ok(())
    }

    /// Adds a statusInfoV2 control (nothing if `body_list` is empty: the
    /// list is SIZE(1..MAX)).
    pub(crate) fn status(
        &mut self,
        status: CmcStatus,
        body_list: &[BodyPartId],
        text: Option<String>,
        fail_info: Option<CmcFailInfo>,
    ) -> Result<(), cmc_asn1::Error> {
        if body_list.is_empty() {
            return Ok(());
        }
        self.control(&CmcStatusInfoV2 {
            cmc_status: status,
            body_list: body_list
                .iter()
                .copied()
                .map(BodyPartReference::from)
                .collect(),
            status_string: text,
            other_info: fail_info.map(OtherStatusInfo::FailInfo),
        })?;
        self.statuses.push(PartStatus {
            status,
            fail_info,
            body_list: body_list.to_vec(),
        });
        Ok(())
    }

    /// Adds a pending status with its pendInfo for `body_list`.
    pub(crate) fn pending(
        &mut self,
        body_list: &[BodyPartId],
        pend_info: cmc_asn1::PendInfo,
    ) -> Result<(), cmc_asn1::Error> {
        if body_list.is_empty() {
            return Ok(());
        }
        self.control(&CmcStatusInfoV2 {
            cmc_status: CmcStatus::Pending,
            body_list: body_list
                .iter()
                .copied()
                .map(BodyPartReference::from)
                .collect(),
            status_string: Some("waiting for approval: ask again with queryPending".into()),
            other_info: Some(OtherStatusInfo::PendInfo(pend_info)),
        })?;
        self.statuses.push(PartStatus {
            status: CmcStatus::Pending,
            fail_info: None,
            body_list: body_list.to_vec(),
        });
        Ok(())
    }

    /// Adds a failure status for `body_list`.
    pub(crate) fn failure(
        &mut self,
        failure: &Failure,
        body_list: &[BodyPartId],
    ) -> Result<(), cmc_asn1::Error> {
        self.status(
            failure.status,
            body_list,
            Some(failure.text.clone()),
            Some(failure.fail_info),
        )
    }

    /// Adds signed PKIResponses to nested requests to the cmsSequence,
    /// named by one batchResponses control (`batch`) or each by a
    /// responseBody control (RFC 5272 §6.17, RFC 6402 §2.5). Call after
    /// every other control: the items take the ids after those controls.
    pub(crate) fn nested(
        &mut self,
        items: Vec<cms::content_info::ContentInfo>,
        batch: bool,
    ) -> Result<(), cmc_asn1::Error> {
        if items.is_empty() {
            return Ok(());
        }
        let naming = if batch { 1 } else { items.len() };
        let first = self
            .next_id()
            .saturating_add(BodyPartId::try_from(naming).unwrap_or(BodyPartId::MAX));
        let ids: Vec<BodyPartId> = (0..items.len())
            .map(|i| first.saturating_add(BodyPartId::try_from(i).unwrap_or(BodyPartId::MAX)))
            .collect();
        if batch {
            self.control(&cmc_asn1::BatchResponses(ids.clone()))?;
        } else {
            for id in &ids {
                self.control(&cmc_asn1::ResponseBodyPath(vec![*id]))?;
            }
        }
        for (id, content_info) in ids.into_iter().zip(items) {
            self.response
                .cms_sequence
                .push(cmc_asn1::TaggedContentInfo {
                    body_part_id: id,
                    content_info,
                });
        }
        Ok(())
    }

    /// Adds `content_info` (an AuthenticatedData) to the cmsSequence and an
    /// id-cmc-authData control naming it (RFC 5272 §6.16), with ids after
    /// every other control and body part: call it last.
    pub(crate) fn authenticated_content(
        &mut self,
        content_info: cms::content_info::ContentInfo,
    ) -> Result<(), cmc_asn1::Error> {
        let last = self
            .response
            .control_sequence
            .iter()
            .map(|c| c.body_part_id)
            .chain(self.response.cms_sequence.iter().map(|c| c.body_part_id))
            .max()
            .unwrap_or(0);
        let (control_id, content_id) = (last.saturating_add(1), last.saturating_add(2));
        self.response
            .control_sequence
            .push(TaggedAttribute::from_value(
                control_id,
                &cmc_asn1::AuthPublish(content_id),
            )?);
        self.response
            .cms_sequence
            .push(cmc_asn1::TaggedContentInfo {
                body_part_id: content_id,
                content_info,
            });
        Ok(())
    }

    pub(crate) fn finish(self) -> (PkiResponse, Vec<PartStatus>) {
        (self.response, self.statuses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses() {
        assert_eq!(NotCmc::Malformed("x".into()).http_status(), 400);
        assert_eq!(NotCmc::TooLarge { len: 2, max: 1 }.http_status(), 413);
        assert_eq!(NotCmc::UnknownCa("x".into()).http_status(), 404);
        assert_eq!(
            NotCmc::SimpleRequestsNotAllowed("x".into()).http_status(),
            403
        );
        assert_eq!(NotCmc::Internal.http_status(), 500);
        assert_eq!(NotCmc::Internal.reason(), "internal error");
    }

    #[test]
    fn fail_info_mapping() {
        use cmc_ca::Error;
        use cmc_policy::{DropReason, Dropped, Refusal};
        let policy = |reason| {
            Failure::from_engine(
                &Error::Policy(cmc_policy::Error::Refused {
                    profile: "p".into(),
                    reasons: vec![reason],
                }),
                "ca",
            )
            .fail_info
        };
        assert_eq!(policy(Refusal::MissingCommonName), CmcFailInfo::BadRequest);
        assert_eq!(
            policy(Refusal::Item(Dropped {
                item: "x".into(),
                oid: None,
                reason: DropReason::UnknownCritical,
            })),
            CmcFailInfo::UnsupportedExt
        );
        let engine = |e: &Error| Failure::from_engine(e, "ca").fail_info;
        assert_eq!(
            engine(&Error::ProfileNotAllowed {
                ca: "a".into(),
                profile: "b".into()
            }),
            CmcFailInfo::BadRequest
        );
        assert_eq!(
            engine(&Error::Policy(cmc_policy::Error::Algorithm("x".into()))),
            CmcFailInfo::BadAlg
        );
        assert_eq!(engine(&Error::Rng), CmcFailInfo::InternalCaError);
        // Internal detail never reaches the statusString.
        let f = Failure::from_engine(&Error::Rng, "ca");
        assert_eq!(f.text, "internal CA error");
        assert_eq!(f.fail_info, CmcFailInfo::InternalCaError);
        // Not supported is a status of its own.
        let f = Failure::from(Refused::new(Reason::NotSupported, "x"));
        assert_eq!(f.status, CmcStatus::NoSupport);
        assert_eq!(
            fail_info(Reason::UnknownCertificate),
            CmcFailInfo::BadCertId
        );
        assert_eq!(fail_info(Reason::NotAuthorized), CmcFailInfo::BadRequest);
    }

    #[test]
    fn empty_body_lists_are_not_sent() {
        let mut b = ResponseBuilder::default();
        b.status(CmcStatus::Success, &[], None, None).unwrap();
        b.status(CmcStatus::Success, &[4, 5], None, None).unwrap();
        b.failure(&Failure::failed(CmcFailInfo::PopFailed, "pop"), &[6])
            .unwrap();
        let (response, statuses) = b.finish();
        assert_eq!(response.control_sequence.len(), 2);
        assert_eq!(
            response
                .control_sequence
                .iter()
                .map(|c| c.body_part_id)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(statuses[1].fail_info, Some(CmcFailInfo::PopFailed));
        let decoded = cmc_codec::statuses(&response).unwrap();
        assert_eq!(decoded[0].body_list.len(), 2);
    }
}
