//! RFC 5272 §5 "Option 2": a signed request inside an EnvelopedData (or
//! AuthEnvelopedData) inside a second SignedData, whose eContentType is
//! then id-envelopedData (id-ct-authEnvelopedData). [`signed_envelope`]
//! checks the outer signatures and hands back the envelope, to be opened
//! like one sent on its own ("Option 1", [`crate::decrypt`]).

use cms::content_info::ContentInfo;
use der::{Any, Decode, Encode};

use crate::decrypt::EnvelopeKind;
use crate::error::encode_err;
use crate::signed::{self, VerifiedSigner, VerifyOptions};
use crate::{Error, Result};

/// How far into a SignedData its eContentType is looked for.
const HEAD: usize = 512;
/// The DER of the OID id-envelopedData (1.2.840.113549.1.7.3).
const ENVELOPED_DATA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03,
];
/// The DER of the OID id-ct-authEnvelopedData (1.2.840.113549.1.9.16.1.23).
const AUTH_ENVELOPED_DATA_OID: &[u8] = &[
    0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17,
];

/// The outer layer of a signed envelope, verified.
#[derive(Clone, Debug)]
pub struct SignedEnvelope {
    /// The outer signers, every one verified.
    pub signers: Vec<VerifiedSigner>,
    /// The envelope it carries, as the DER of a ContentInfo.
    pub envelope: Vec<u8>,
}

/// The envelope inside `input` when `input` is a SignedData whose
/// eContentType is an envelope; `Ok(None)` for anything else (a signed
/// request, an envelope on its own, or what is not a SignedData at all,
/// which the caller's own decoding then reports).
///
/// Every SignerInfo is verified as a request's is (signed attributes,
/// messageDigest, the signature with the certificate the sid names, its
/// keyUsage and validity at `opts.time`); the outer signer vouches for the
/// envelope's integrity only: the request inside is authorized by its own
/// signature.
///
/// # Errors
/// The signature errors of [`crate::decode_full_request`]
/// (badMessageCheck, badAlg, badTime); [`Error::MissingContent`] for a
/// detached eContent; [`Error::SignerNotFound`] for a SignedData without
/// signers.
pub fn signed_envelope(input: &[u8], opts: &VerifyOptions<'_>) -> Result<Option<SignedEnvelope>> {
    // The eContentType comes within the first octets of a SignedData
    // (after the version and the digest algorithms): a signed request,
    // which names id-cct-PKIData there, is not decoded twice.
    let head = &input[..input.len().min(HEAD)];
    if ![ENVELOPED_DATA_OID, AUTH_ENVELOPED_DATA_OID]
        .iter()
        .any(|oid| head.windows(oid.len()).any(|w| w == *oid))
    {
        return Ok(None);
    }
    let Ok(parsed) = signed::parse(input, &opts.limits) else {
        return Ok(None);
    };
    let content_type = parsed.signed_data.encap_content_info.econtent_type;
    if EnvelopeKind::of(&content_type).is_none() {
        return Ok(None);
    }
    let econtent = parsed.econtent.clone().ok_or(Error::MissingContent)?;
    if parsed.signed_data.signer_infos.0.is_empty() {
        return Err(Error::SignerNotFound);
    }
    let signers = parsed
        .signed_data
        .signer_infos
        .0
        .iter()
        .map(|si| signed::verify_signer(&parsed, &econtent, si, opts, &[]))
        .collect::<Result<Vec<_>>>()?;
    // The eContent is the EnvelopedData (RFC 5652 §5.2); a ContentInfo
    // around it, as `openssl cms -sign -econtent_type` of an envelope file
    // makes, is taken as it is.
    let envelope = match ContentInfo::from_der(&econtent) {
        Ok(ci) if ci.content_type == content_type => econtent,
        _ => {
            let content = Any::from_der(&econtent)
                .map_err(|_| Error::Undecryptable("the signed envelope does not decode"))?;
            ContentInfo {
                content_type,
                content,
            }
            .to_der()
            .map_err(encode_err)?
        }
    };
    Ok(Some(SignedEnvelope { signers, envelope }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oids_are_the_envelopes() {
        use const_oid::db::rfc5911::{ID_CT_AUTH_ENVELOPED_DATA, ID_ENVELOPED_DATA};
        assert_eq!(ID_ENVELOPED_DATA.to_der().unwrap(), ENVELOPED_DATA_OID);
        assert_eq!(
            ID_CT_AUTH_ENVELOPED_DATA.to_der().unwrap(),
            AUTH_ENVELOPED_DATA_OID
        );
    }
}
