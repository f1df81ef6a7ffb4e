//! What `show` prints of an AuthenticatedData (RFC 5652 §9): a Full PKI
//! Request wrapped in one (RFC 5272 §3.2), or the one a response's authData
//! control names (§6.16) with its publishTrustAnchors (§6.15). The MAC is
//! not checked (`show` has no secret); the algorithms are printed.

use std::io::Write;

use anyhow::{Context as _, Result, anyhow};
use cmc_asn1::{PkiData, PkiResponse, PublishTrustAnchors};
use cmc_codec::authenticated::{AuthenticatedMessage, KeyWrap, from_structure};
use cmc_codec::trust_anchors::{auth_publish, seq_number};
use der::Decode;
use serde::Serialize;

use crate::inspect::oid_name;
use crate::output::hex;

/// One AuthenticatedData.
#[derive(Debug, Serialize)]
pub(crate) struct AuthShown {
    /// Where it is: `the request` or `authData body part N`.
    pub(crate) place: String,
    pub(crate) recipient: String,
    pub(crate) key_derivation: String,
    pub(crate) key_encryption: String,
    pub(crate) mac_algorithm: String,
    pub(crate) digest_algorithm: String,
    pub(crate) content_type: String,
    /// The controls of the PKIData inside (for the authData one).
    pub(crate) controls: Vec<String>,
    pub(crate) trust_anchors: Option<AnchorsShown>,
}

/// A publishTrustAnchors control.
#[derive(Debug, Serialize)]
pub(crate) struct AnchorsShown {
    pub(crate) seq_number: String,
    pub(crate) hash_algorithm: String,
    pub(crate) anchor_hashes: Vec<String>,
}

fn describe(message: &AuthenticatedMessage, place: String) -> AuthShown {
    let p = &message.params;
    let wrap = match p.wrap {
        KeyWrap::AesKw(_) => p.wrap.to_string(),
        KeyWrap::PwriKek(_) => format!("{} (RFC 3211)", p.wrap),
    };
    let mut shown = AuthShown {
        place,
        recipient: "PasswordRecipientInfo (version 0)".into(),
        key_derivation: format!(
            "PBKDF2, PRF hmacWith{}, {} iterations, {}-octet salt",
            p.prf.name().to_uppercase(),
            p.iterations,
            p.salt_len
        ),
        key_encryption: wrap,
        mac_algorithm: format!("hmacWith{}", p.mac.name().to_uppercase()),
        digest_algorithm: p.digest.name().to_uppercase(),
        content_type: oid_name(&message.content_type()),
        controls: Vec::new(),
        trust_anchors: None,
    };
    if let Ok(pki) = PkiData::from_der(message.unverified_content()) {
        shown.controls = pki
            .control_sequence
            .iter()
            .map(|c| {
                cmc_asn1::oid::control_name(&c.attr_type)
                    .map_or_else(|| c.attr_type.to_string(), str::to_owned)
            })
            .collect();
        if let Ok(Some((_, pta))) = pki.unique_control::<PublishTrustAnchors>() {
            shown.trust_anchors = Some(AnchorsShown {
                seq_number: seq_number(&pta)
                    .map_or_else(|| hex(pta.seq_number.as_bytes()), |n| n.to_string()),
                hash_algorithm: oid_name(&pta.hash_algorithm.oid),
                anchor_hashes: pta
                    .anchor_hashes
                    .iter()
                    .map(|h| hex(h.as_bytes()))
                    .collect(),
            });
        }
    }
    shown
}

/// A request's AuthenticatedData wrapper (the ContentInfo's content),
/// and the PKIData inside (not authenticated: no secret here).
pub(crate) fn request(content: &der::Any) -> Result<(AuthShown, PkiData)> {
    let data = content
        .decode_as()
        .map_err(|e| anyhow!("AuthenticatedData does not decode: {e}"))?;
    let message = from_structure(data).map_err(|e| anyhow!("{e}"))?;
    let pki = PkiData::from_der(message.unverified_content())
        .map_err(|e| anyhow!("the AuthenticatedData's content is not a PKIData: {e}"))?;
    Ok((describe(&message, "the request".into()), pki))
}

/// The AuthenticatedData a response's authData control names, if any.
pub(crate) fn in_response(response: &PkiResponse) -> Vec<AuthShown> {
    let id = response
        .unique_control::<cmc_asn1::AuthPublish>()
        .ok()
        .flatten()
        .map(|(_, a)| a.0);
    match (auth_publish(response), id) {
        (Ok(Some(message)), Some(id)) => {
            vec![describe(&message, format!("authData body part {id}"))]
        }
        _ => Vec::new(),
    }
}

/// Prints `list`.
pub(crate) fn print(out: &mut dyn Write, list: &[AuthShown]) -> Result<()> {
    for a in list {
        let lines = [
            format!("\nAuthenticatedData ({}), MAC not checked:", a.place),
            format!("  recipient: {}", a.recipient),
            format!("  key derivation: {}", a.key_derivation),
            format!("  key encryption: {}", a.key_encryption),
            format!(
                "  MAC: {}, messageDigest {}",
                a.mac_algorithm, a.digest_algorithm
            ),
            format!("  content type: {}", a.content_type),
        ];
        for line in lines {
            writeln!(out, "{line}").context("writing output")?;
        }
        if !a.controls.is_empty() {
            writeln!(out, "  controls: {}", a.controls.join(", ")).context("writing output")?;
        }
        if let Some(t) = &a.trust_anchors {
            writeln!(
                out,
                "  publishTrustAnchors: seqNumber {}, {}",
                t.seq_number, t.hash_algorithm
            )
            .context("writing output")?;
            for h in &t.anchor_hashes {
                writeln!(out, "    {h}").context("writing output")?;
            }
        }
    }
    Ok(())
}
