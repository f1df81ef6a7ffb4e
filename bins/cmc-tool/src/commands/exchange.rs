//! The CMC client's exchange with a server: POST a request (RFC 5273), verify
//! the response (signature against the trusted certificates, the
//! recipientNonce), and sort what it brought: issued certificates,
//! failures, encryptedPOP challenges, pendTokens.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use cmc_asn1::{BodyPartReference, EncryptedPop, RecipientNonce};
use cmc_codec::trust_anchors::{ProvenAnchors, anchors_in_response};
use cmc_codec::{Limits, ResponseStatus, ResponseVerifyOptions, VerifiedResponse, decode_response};
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use der::Encode;
use x509_cert::Certificate;

use crate::Io;
use crate::commands::request::Built;
use crate::http;

/// The media type of a Full PKI Request (RFC 5273 §3).
pub(crate) const CMC_REQUEST_CONTENT_TYPE: &str = "application/pkcs7-mime; smime-type=CMC-request";

/// Where requests go, and the client (with its open connection) that
/// sends them.
pub(crate) struct Endpoint<'a> {
    /// The URL as given, for messages.
    text: &'a str,
    url: http::Url,
    client: http::Client,
}

impl<'a> Endpoint<'a> {
    /// `text` is the URL as given, `url` the same parsed; `timeout_secs`
    /// (at least 1) is for connecting, each write and each read; an
    /// https:// URL needs `tls`.
    pub(crate) fn new(
        text: &'a str,
        url: http::Url,
        timeout_secs: u64,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Self> {
        let client = http::Client::new(Duration::from_secs(timeout_secs.max(1)), tls)?;
        Ok(Self { text, url, client })
    }
}

/// What a verified response brought.
pub(crate) struct Answer {
    /// The certificates issued by the response signers (the top level and
    /// the nested responses).
    pub(crate) issued: Vec<Certificate>,
    /// The other certificates of the response (the CA chain).
    pub(crate) others: Vec<Certificate>,
    /// The statuses that were not success, for a person.
    pub(crate) failures: Vec<String>,
    /// encryptedPOP challenges (status popRequired), for a second round.
    pub(crate) challenges: Vec<EncryptedPop>,
    /// pendTokens of requests the CA holds for approval.
    pub(crate) pending: Vec<String>,
    /// The trust anchors the authData control proved with the shared
    /// secret, and the response's certificates they name.
    pub(crate) anchors: Option<(ProvenAnchors, Vec<Certificate>)>,
}

/// How far the authData's signingTime may be from now.
const ANCHORS_MAX_SKEW: Duration = Duration::from_secs(3600);

/// The trust anchors the authData control of the response `body` proves
/// with the request's shared secret (RFC 5272 §6.15, §6.16): refused when
/// the MAC does not verify, when it names none of the response's
/// certificates, or when its signingTime is missing or more than an hour
/// from now.
fn proven_anchors(built: &Built, body: &[u8]) -> Result<Option<(ProvenAnchors, Vec<Certificate>)>> {
    let Some(password) = &built.password else {
        return Ok(None);
    };
    let limits = Limits::default().with_max_input(body.len().max(Limits::DEFAULT_MAX_INPUT));
    let Some((proven, certificates)) =
        anchors_in_response(body, password, &limits).map_err(|e| {
            anyhow!("refusing the response: its authData does not verify with the secret: {e}")
        })?
    else {
        return Ok(None);
    };
    if certificates.is_empty() {
        bail!("refusing the response: its authData names no certificate the response carries");
    }
    let now = SystemTime::now();
    let Some(time) = proven.signing_time else {
        bail!("refusing the response: its authData has no signingTime");
    };
    let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
    if skew > ANCHORS_MAX_SKEW {
        bail!(
            "refusing the response: its authData was made {}s from now",
            skew.as_secs()
        );
    }
    Ok(Some((proven, certificates)))
}

/// Sends the request and checks the response: the certificates issued by
/// the response signer, and the other certificates of the response.
pub(crate) fn exchange(
    endpoint: &Endpoint<'_>,
    built: &Built,
    trusted: &[Certificate],
    io: &mut Io<'_>,
) -> Result<Answer> {
    let reply = endpoint
        .client
        .post(&endpoint.url, CMC_REQUEST_CONTENT_TYPE, &built.wire()?)
        .with_context(|| format!("POST {}", endpoint.text))?;
    if reply.status != 200 {
        let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(512)])
            .trim()
            .to_owned();
        bail!(
            "the server answered HTTP {} {}{}",
            reply.status,
            reply.reason,
            if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            }
        );
    }
    match reply.content_type.as_deref() {
        Some(ct)
            if ct
                .to_ascii_lowercase()
                .starts_with("application/pkcs7-mime") => {}
        other => bail!(
            "the server answered HTTP 200 with Content-Type {}, not application/pkcs7-mime",
            other.unwrap_or("(none)")
        ),
    }
    let body = crate::commands::encryption::open_answer(reply.body, built)?;
    let anchors = proven_anchors(built, &body)?;
    // Without a trust anchor of its own, the client trusts what the
    // secret proved.
    let trusted: &[Certificate] = match (&anchors, trusted.is_empty()) {
        (_, false) => trusted,
        (Some((_, proven)), true) => proven,
        (None, true) => bail!(
            "no --ca-cert, and the response carries no authData control with trust anchors to \
             check it with"
        ),
    };
    let response = decode_response(
        &body,
        &ResponseVerifyOptions::new(SystemTime::now(), trusted),
    )
    .map_err(|e| anyhow!("the response does not verify: {e}"))?;
    let echoed: Vec<RecipientNonce> = response
        .pki_response
        .controls_of::<RecipientNonce>()
        .map_err(|e| anyhow!("recipientNonce does not decode: {e}"))?
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    match echoed.as_slice() {
        [n] if n.0.as_bytes() == built.nonce => {}
        [] => bail!("the response has no recipientNonce"),
        [_] => bail!("the response's recipientNonce is not the senderNonce we sent"),
        _ => bail!("the response has more than one recipientNonce"),
    }
    let mut pending = Vec::new();
    let mut failures = report(&response, "", &mut pending, io)?;
    let Some(ca) = response.signer.certificate() else {
        bail!("the response signer has no certificate");
    };
    let mut issued: Vec<Certificate> = response.issued_by(ca).into_iter().cloned().collect();
    // Answers to nested requests (RFC 5272 §7.1), each a signed PKIResponse
    // in the cmsSequence.
    for item in &response.pki_response.cms_sequence {
        // The authData's AuthenticatedData was checked above.
        if item.content_info.content_type != ID_SIGNED_DATA {
            continue;
        }
        let der = item
            .content_info
            .to_der()
            .map_err(|e| anyhow!("re-encoding a nested response: {e}"))?;
        let nested = decode_response(
            &der,
            &ResponseVerifyOptions::new(SystemTime::now(), trusted),
        )
        .map_err(|e| anyhow!("nested response {} does not verify: {e}", item.body_part_id))?;
        let prefix = format!("nested {}: ", item.body_part_id);
        failures.extend(report(&nested, &prefix, &mut pending, io)?);
        if let Some(signer) = nested.signer.certificate() {
            issued.extend(nested.issued_by(signer).into_iter().cloned());
        }
    }
    let challenges: Vec<EncryptedPop> = response
        .pki_response
        .controls_of::<EncryptedPop>()
        .map_err(|e| anyhow!("encryptedPOP does not decode: {e}"))?
        .into_iter()
        .map(|(_, c)| c)
        .collect();

    let others = response
        .certificates
        .iter()
        .filter(|c| !issued.contains(c))
        .cloned()
        .collect();
    Ok(Answer {
        issued,
        others,
        failures,
        challenges,
        pending,
        anchors,
    })
}

/// Prints every status of `response` (after `prefix`); returns the ones
/// that are neither success nor pending, as `prefix + status (failInfo)`,
/// and adds the pendTokens of pending ones to `pending`.
fn report(
    response: &VerifiedResponse,
    prefix: &str,
    pending: &mut Vec<String>,
    io: &mut Io<'_>,
) -> Result<Vec<String>> {
    let statuses = response
        .statuses()
        .map_err(|e| anyhow!("the response's status does not decode: {e}"))?;
    if statuses.is_empty() {
        bail!("{prefix}the response carries no status");
    }
    let mut failures = Vec::new();
    for s in &statuses {
        writeln!(io.out, "{prefix}{}", status_line(s)).context("writing output")?;
        if let (cmc_asn1::CmcStatus::Pending, Some(info)) = (s.status, &s.pend_info) {
            pending.push(String::from_utf8_lossy(info.pend_token.as_bytes()).into_owned());
            continue;
        }
        if s.status != cmc_asn1::CmcStatus::Success {
            failures.push(match s.fail_info {
                Some(f) => format!("{prefix}{} ({})", s.status.name(), f.name()),
                None => format!("{prefix}{}", s.status.name()),
            });
        }
    }
    Ok(failures)
}

/// One status, for a person: `status: failed, failInfo: badIdentity, bodyList: 3`.
pub(crate) fn status_line(s: &ResponseStatus) -> String {
    let mut line = format!("status: {}", s.status.name());
    if let Some(f) = s.fail_info {
        line.push_str(&format!(", failInfo: {}", f.name()));
    }
    line.push_str(&format!(", bodyList: [{}]", body_list(&s.body_list)));
    if let Some(text) = &s.status_string {
        line.push_str(&format!(", statusString: {text:?}"));
    }
    line
}

/// A bodyList as `1, 2, 3/4`.
pub(crate) fn body_list(list: &[BodyPartReference]) -> String {
    list.iter()
        .map(|r| match r {
            BodyPartReference::BodyPartId(id) => id.to_string(),
            BodyPartReference::BodyPartPath(p) => {
                p.0.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
