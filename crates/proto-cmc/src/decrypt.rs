//! Encrypted CMC (RFC 5272 §5 "Option 1", §3.2.1.3.2): a Full PKI Request
//! inside an EnvelopedData or AuthEnvelopedData addressed to the CA's
//! encryption certificate (`[ca.NAME.encryption]`) is opened, layer by
//! layer (at most [`MAX_LAYERS`] envelopes, each no larger than the body
//! the server accepted), and the signed request inside is then handled as
//! if it had come in the clear. Nested requests in cmsSequence may be
//! encrypted the same way. An envelope may come inside a SignedData of
//! its own ("Option 2"): those signatures are verified (badMessageCheck if
//! one does not), but the request inside is authorized by its own signer.
//!
//! Refusals, answered with a signed PKIResponse, bodyList `[0]`, as the
//! RFC prescribes for an envelope that does not open: a CA without an
//! encryption credential, an envelope not addressed to it, one that does
//! not decode or decrypt, or whose content is not a signed request:
//! badMessageCheck; an unsupported content or key encryption algorithm:
//! badAlg. Every failure to decrypt reads the same to the sender (see
//! `cmc_codec::decrypt`). A body that is not CMS at all is still [`NotCmc`].
//!
//! The answer to an encrypted request is encrypted back (EnvelopedData,
//! AES-256-CBC, id-signedData content) when the request's signature
//! verified and its signer certificate, or another certificate in the
//! request with the same subject, can receive encrypted messages: an RSA
//! key whose keyUsage (if any) allows keyEncipherment, or a P-256/P-384
//! key whose keyUsage (if any) allows keyAgreement. Otherwise, and for
//! every refusal before the signature verified, the answer is signed only.

use cmc_codec::decrypt as codec;

use super::*;

/// The most envelopes opened around one request.
pub(crate) const MAX_LAYERS: usize = 3;

/// Why an envelope was not opened.
pub(crate) enum Unopened {
    /// The body is not CMS at all.
    NotCmc(NotCmc),
    /// A refusal to answer in CMC.
    Refused(Failure),
}

impl Cmc<'_> {
    /// The signed request inside `body` when `body` is an envelope, opened
    /// layer by layer with the encryption credential of `ca`; `None` when
    /// `body` is no envelope.
    pub(super) fn open_envelopes(
        &self,
        ca: &LoadedCa,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, Unopened> {
        // "Option 2": a SignedData around the envelope. Its signatures are
        // checked; the request inside is authorized by its own.
        let opts = VerifyOptions::new(self.engine.now().to_system_time())
            .with_limits(self.engine.config().limits());
        let outer = match cmc_codec::wrapped::signed_envelope(body, &opts) {
            Ok(outer) => outer,
            Err(e) => return Err(Unopened::Refused(codec_failure(&e, ca.name()))),
        };
        let signed_outer = outer.is_some();
        let body = match &outer {
            Some(outer) => outer.envelope.as_slice(),
            None if codec::envelope_kind(body).is_some() => body,
            None => return Ok(None),
        };
        let Some(credential) = self.engine.encryption(ca.name()) else {
            return Err(Unopened::Refused(Failure::failed(
                CmcFailInfo::BadMessageCheck,
                "this CA has no encryption certificate: encrypted requests cannot be read",
            )));
        };
        let max = self.engine.config().limits().max_input;
        let mut current = body.to_vec();
        for layer in 0..MAX_LAYERS {
            let opened =
                match codec::open(&current, credential.certificate(), credential.key(), max) {
                    Ok(opened) => opened,
                    // The outer envelope is the body: BER that does not
                    // decode is not CMS, as for a signed request.
                    Err(e) if e.is_not_cms() && layer == 0 && !signed_outer => {
                        return Err(Unopened::NotCmc(not_cms(&e)));
                    }
                    Err(e) => {
                        let e = inner_error(e);
                        return Err(Unopened::Refused(codec_failure(&e, ca.name())));
                    }
                };
            current = opened
                .content_info_der()
                .map_err(|e| Unopened::Refused(codec_failure(&e, ca.name())))?;
            if codec::envelope_kind(&current).is_none() {
                tracing::debug!(ca = ca.name(), layers = layer + 1, signed_outer,
                    kind = ?opened.kind, "opened an encrypted CMC request");
                return Ok(Some(current));
            }
        }
        Err(Unopened::Refused(Failure::failed(
            CmcFailInfo::BadMessageCheck,
            format!("more than {MAX_LAYERS} envelopes around one request"),
        )))
    }

    /// `reply`, encrypted to the requester when the request came
    /// encrypted and the requester can receive (see the module
    /// documentation); otherwise `reply` as it is.
    pub(super) fn seal_reply(
        &self,
        ca: &LoadedCa,
        encrypted: bool,
        request: &FullRequest,
        reply: Result<CmcReply, NotCmc>,
    ) -> Result<CmcReply, NotCmc> {
        let mut reply = reply?;
        if !encrypted {
            return Ok(reply);
        }
        let Some(to) = request.signed().and_then(receiving_certificate) else {
            return Ok(reply);
        };
        match cmc_codec::encrypt::envelop_signed(&reply.der, to).and_then(|ci| {
            ci.to_der()
                .map_err(|e| cmc_codec::Error::Encode(e.to_string()))
        }) {
            Ok(der) => {
                reply.der = der;
                Ok(reply)
            }
            Err(e) => {
                tracing::error!(ca = ca.name(), error = %e, "cannot encrypt a CMC response");
                Err(NotCmc::Internal)
            }
        }
    }
}

/// The certificate an answer to `signed` is encrypted to: the signer's, or
/// another in the request with the signer's subject, that can receive.
fn receiving_certificate(signed: &SignedRequest) -> Option<&Certificate> {
    let signer = signed.signer().certificate()?;
    if cmc_codec::encrypt::can_encrypt_to(signer) {
        return Some(signer);
    }
    let subject = signer.tbs_certificate().subject();
    signed
        .certificates
        .iter()
        .find(|c| c.tbs_certificate().subject() == subject && cmc_codec::encrypt::can_encrypt_to(c))
}

/// A decode error of what an envelope held: content that is not CMS after
/// decryption is an envelope that did not open (badMessageCheck), not a
/// body that is not CMS.
pub(crate) fn inner_error(e: cmc_codec::Error) -> cmc_codec::Error {
    if e.is_not_cms() || matches!(e, cmc_codec::Error::NotSignedData { .. }) {
        cmc_codec::Error::Undecryptable("the decrypted content is not a signed CMC request")
    } else {
        e
    }
}
