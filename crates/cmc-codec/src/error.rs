//! The crate's error type and its mapping to `CMCFailInfo`.

use std::time::SystemTime;

use cmc_asn1::{BodyPartId, CmcFailInfo};
use const_oid::ObjectIdentifier;

/// Everything that can go wrong while decoding, verifying, encoding or signing.
///
/// Each variant names the check that failed. [`Error::fail_info`] maps it to the
/// `CMCFailInfo` a server reports, and [`Error::is_not_cms`] tells the input that cannot be
/// answered in CMC at all (the server answers HTTP 400) from CMS that failed a check (the
/// server answers with a signed CMC failure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than the configured limit.
    #[error("input of {len} octets exceeds the limit of {max}")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The configured limit.
        max: usize,
    },

    /// The input is not BER/DER at all: truncated, bad lengths, too deeply nested, trailing
    /// data.
    #[error("not BER/DER: {0}")]
    Malformed(String),

    /// The input is valid BER/DER but not a CMS `ContentInfo`.
    #[error("not a CMS ContentInfo: {0}")]
    NotCms(String),

    /// The `ContentInfo` holds something other than `SignedData` (for example Dogtag's bare
    /// id-data).
    #[error("ContentInfo holds {content_type}, not SignedData")]
    NotSignedData {
        /// The `contentType` found.
        content_type: ObjectIdentifier,
    },

    /// The `SignedData` (or a part of it: a certificate, a signed attribute) does not decode.
    #[error("malformed SignedData: {0}")]
    MalformedSignedData(String),

    /// The eContentType is not the one expected (`id-cct-PKIData` for requests,
    /// `id-cct-PKIResponse` for responses).
    #[error("eContentType is {found}, expected {expected}")]
    WrongContentType {
        /// The eContentType found.
        found: ObjectIdentifier,
        /// The eContentType expected.
        expected: ObjectIdentifier,
    },

    /// The eContent is absent (a detached signature), so there is no PKIData to read.
    #[error("the SignedData carries no eContent")]
    MissingContent,

    /// The eContent does not decode as the type its eContentType names.
    #[error("eContent does not decode: {0}")]
    MalformedContent(String),

    /// The input is a PKCS #10 request that does not decode.
    #[error("not a PKCS #10 certification request: {0}")]
    NotPkcs10(String),

    /// More `SignerInfo`s than the configured limit.
    #[error("{count} SignerInfos exceed the limit of {max}")]
    TooManySigners {
        /// How many there were.
        count: usize,
        /// The configured limit.
        max: usize,
    },

    /// More certificates than the configured limit.
    #[error("{count} certificates exceed the limit of {max}")]
    TooManyCertificates {
        /// How many there were.
        count: usize,
        /// The configured limit.
        max: usize,
    },

    /// A `SignerInfo` has no signed attributes (CMC requires them: RFC 5272 §3.2.1.1 by way
    /// of RFC 5652 §5.3, since the eContentType is not id-data).
    #[error("SignerInfo has no signed attributes")]
    MissingSignedAttributes,

    /// A required signed attribute (contentType or messageDigest) is missing.
    #[error("signed attribute {oid} is missing")]
    MissingAttribute {
        /// The attribute type.
        oid: ObjectIdentifier,
    },

    /// A signed attribute occurs more than once or with other than one value
    /// (RFC 5652 §11: contentType, messageDigest and signingTime are single-valued).
    #[error("signed attribute {oid} must occur once with one value")]
    DuplicateAttribute {
        /// The attribute type.
        oid: ObjectIdentifier,
    },

    /// A signed attribute value does not decode as its type.
    #[error("signed attribute {oid} is malformed: {reason}")]
    MalformedAttribute {
        /// The attribute type.
        oid: ObjectIdentifier,
        /// What the decoder said.
        reason: String,
    },

    /// The contentType signed attribute differs from the eContentType.
    #[error("contentType attribute {attribute} differs from eContentType {econtent_type}")]
    ContentTypeMismatch {
        /// The value of the contentType attribute.
        attribute: ObjectIdentifier,
        /// The eContentType.
        econtent_type: ObjectIdentifier,
    },

    /// The messageDigest signed attribute is not the digest of the eContent.
    #[error("messageDigest does not match the eContent")]
    MessageDigestMismatch,

    /// An AuthenticatedData (RFC 5652 §9) that does not decode, lacks what CMC needs (one
    /// PasswordRecipientInfo with PBKDF2), or has parameters out of bounds (iteration count,
    /// salt length, key length), found before anything is derived.
    #[error("AuthenticatedData: {0}")]
    MalformedAuthenticatedData(String),

    /// An AuthenticatedData does not authenticate with the secret: the key does not unwrap
    /// or the MAC does not verify (one error for both, so that the answer does not say
    /// which).
    #[error("AuthenticatedData: the MAC does not verify with this secret")]
    AuthDataMac,

    /// The CMSAlgorithmProtection attribute (RFC 6211) names other algorithms than the
    /// SignerInfo uses.
    #[error("CMSAlgorithmProtection disagrees with the SignerInfo's {which} algorithm")]
    AlgorithmProtectionMismatch {
        /// `"digest"` or `"signature"`.
        which: &'static str,
    },

    /// A signature (CMS, PKCS #10 or certificate) does not verify.
    #[error("{what}: signature does not verify")]
    BadSignature {
        /// Which signature.
        what: &'static str,
    },

    /// No certificate (in the message or supplied by the caller) matches the
    /// SignerIdentifier, and the message is not signed by a key it certifies.
    #[error("no certificate matches the SignerIdentifier")]
    SignerNotFound,

    /// The signer certificate's validity ends before the verification time.
    #[error("signer certificate expired at {not_after:?}")]
    SignerExpired {
        /// The certificate's notAfter.
        not_after: SystemTime,
    },

    /// The signer certificate's validity begins after the verification time.
    #[error("signer certificate is not valid before {not_before:?}")]
    SignerNotYetValid {
        /// The certificate's notBefore.
        not_before: SystemTime,
    },

    /// The signer certificate has a keyUsage extension that does not assert
    /// digitalSignature (RFC 5280 §4.2.1.3: a CMS signature is neither a certificate nor a
    /// CRL signature, so it needs digitalSignature; a nonRepudiation-only certificate is
    /// refused too), or a keyUsage extension that does not decode or occurs twice. A
    /// certificate without keyUsage is not restricted.
    #[error("signer certificate's keyUsage does not allow digitalSignature")]
    SignerKeyUsage,

    /// A PKIData signed with the key of one of its own certification requests has more than
    /// one SignerInfo. RFC 5272 §3.2: "If the request key is used for signing, there MUST be
    /// only one SignerInfo in the SignedData."
    #[error("signed with a request's key, but the SignedData has {count} SignerInfos, not one")]
    RequestKeySignerNotAlone {
        /// How many SignerInfos there were.
        count: usize,
    },

    /// The signer of a response does not chain to any trusted certificate.
    #[error("signer certificate does not chain to a trusted certificate")]
    UntrustedSigner,

    /// An algorithm (digest, signature, curve, PSS parameters) that is not supported.
    #[error("unsupported algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The algorithm (or curve) identifier.
        oid: ObjectIdentifier,
    },

    /// The public key does not fit the signature algorithm (an RSA signature with an EC
    /// key, say), is too small, or does not decode.
    #[error("public key unusable with the signature algorithm: {0}")]
    BadPublicKey(String),

    /// A certificate template without the public key that a POP must be verified with.
    #[error("request {body_part_id}: the template has no publicKey")]
    MissingPublicKey {
        /// The request's body part identifier (certReqId).
        body_part_id: BodyPartId,
    },

    /// Proof of possession failed: the PKCS #10 self-signature or the CRMF POPOSigningKey
    /// does not verify, or the POPOSigningKey breaks a rule of RFC 4211 §4.1 (poposkInput
    /// present although the template has subject and publicKey, absent although it lacks
    /// one, naming another public key than the template, or with a publicKeyMAC authInfo).
    #[error("request {body_part_id}: proof of possession failed: {reason}")]
    PopFailed {
        /// The request's body part identifier.
        body_part_id: BodyPartId,
        /// What exactly failed.
        reason: &'static str,
    },

    /// Two body parts of a PKIData being built share an identifier.
    #[error("body part identifier {0} is used twice")]
    DuplicateBodyPartId(BodyPartId),

    /// The certificate given to sign with does not hold the signing key's public key.
    #[error("the signer certificate does not hold the signing key's public key")]
    SignerKeyMismatch,

    /// A CRMF request to build (with a POPOSigningKey over `certReq`) from a template
    /// without a subject: RFC 4211 §4.1 would then require `poposkInput`, and RFC 5272
    /// §3.2.1.2.2 requires the subject to be present (it may be an empty name).
    #[error("the CRMF template has no subject (RFC 5272 §3.2.1.2.2: it must be present)")]
    TemplateWithoutSubject,

    /// Signing with a subjectKeyIdentifier sid, but the certificate has no such extension.
    #[error("the signer certificate has no subjectKeyIdentifier extension")]
    MissingSubjectKeyIdentifier,

    /// A time cannot be represented (before 1970 or after 9999).
    #[error("time out of range: {0}")]
    TimeOutOfRange(String),

    /// Encoding something we built failed.
    #[error("encoding failed: {0}")]
    Encode(String),

    /// An encrypted message (EnvelopedData, AuthEnvelopedData) does not open: no
    /// RecipientInfo is addressed to the recipient's certificate, the envelope does not
    /// decode, or the content does not decrypt (RFC 5272 §3.2.1.3.2: badMessageCheck). Every
    /// failure to recover the content key ends as the content not decrypting.
    #[error("the encrypted message does not open: {0}")]
    Undecryptable(&'static str),

    /// The signing key failed, or the decryption key failed for a reason of
    /// its own (a token that is gone, a key without `CKA_DECRYPT`), not of
    /// the message.
    #[error("key: {0}")]
    Key(#[from] cmc_keys::Error),
}

impl Error {
    /// The `CMCFailInfo` a server reports for this error (RFC 5272 §6.1.4).
    ///
    /// - integrity of the CMS layer (attributes, digest, signature, unknown signer, signer
    ///   keyUsage, a request-key signature that is not alone, untrusted signer):
    ///   `badMessageCheck`;
    /// - algorithms and keys: `badAlg`;
    /// - malformed or unacceptable content: `badRequest`;
    /// - signer certificate outside its validity: `badTime`;
    /// - proof of possession: `popFailed`;
    /// - an AuthenticatedData that does not authenticate with the secret: `authDataFail`
    ///   (RFC 5272 §6.1.4: "failure occurred during processing of authenticated data");
    /// - our own encoding or signing, and misuse of the builders: `internalCAError`.
    #[must_use]
    pub fn fail_info(&self) -> CmcFailInfo {
        match self {
            Self::TooLarge { .. }
            | Self::Malformed(_)
            | Self::NotCms(_)
            | Self::NotSignedData { .. }
            | Self::MalformedSignedData(_)
            | Self::WrongContentType { .. }
            | Self::MissingContent
            | Self::MalformedContent(_)
            | Self::NotPkcs10(_)
            | Self::TooManySigners { .. }
            | Self::TooManyCertificates { .. }
            | Self::MissingPublicKey { .. }
            | Self::MalformedAuthenticatedData(_)
            | Self::DuplicateBodyPartId(_) => CmcFailInfo::BadRequest,
            Self::AuthDataMac => CmcFailInfo::AuthDataFail,
            Self::MissingSignedAttributes
            | Self::MissingAttribute { .. }
            | Self::DuplicateAttribute { .. }
            | Self::MalformedAttribute { .. }
            | Self::ContentTypeMismatch { .. }
            | Self::MessageDigestMismatch
            | Self::AlgorithmProtectionMismatch { .. }
            | Self::BadSignature { .. }
            | Self::SignerNotFound
            | Self::SignerKeyUsage
            | Self::RequestKeySignerNotAlone { .. }
            | Self::UntrustedSigner
            | Self::Undecryptable(_) => CmcFailInfo::BadMessageCheck,
            Self::SignerExpired { .. } | Self::SignerNotYetValid { .. } => CmcFailInfo::BadTime,
            Self::UnsupportedAlgorithm { .. } | Self::BadPublicKey(_) => CmcFailInfo::BadAlg,
            Self::PopFailed { .. } => CmcFailInfo::PopFailed,
            Self::SignerKeyMismatch
            | Self::TemplateWithoutSubject
            | Self::MissingSubjectKeyIdentifier
            | Self::TimeOutOfRange(_)
            | Self::Encode(_)
            | Self::Key(_) => CmcFailInfo::InternalCaError,
        }
    }

    /// Whether the input cannot be answered in CMC at all: it is too large, not BER/DER,
    /// not a CMS `ContentInfo`, or (for a Simple PKI Request) not a PKCS #10 request.
    /// A server answers these with an HTTP error (400 or 413); every other error is "CMS
    /// but bad" and gets a signed CMC failure with [`Error::fail_info`].
    #[must_use]
    pub fn is_not_cms(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. } | Self::Malformed(_) | Self::NotCms(_) | Self::NotPkcs10(_)
        )
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn encode_err(e: impl std::fmt::Display) -> Error {
    Error::Encode(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_and_disposition() {
        let cases: Vec<(Error, CmcFailInfo, bool)> = vec![
            (Error::NotCms("x".into()), CmcFailInfo::BadRequest, true),
            (Error::Malformed("x".into()), CmcFailInfo::BadRequest, true),
            (
                Error::TooLarge { len: 2, max: 1 },
                CmcFailInfo::BadRequest,
                true,
            ),
            (Error::NotPkcs10("x".into()), CmcFailInfo::BadRequest, true),
            (
                Error::MessageDigestMismatch,
                CmcFailInfo::BadMessageCheck,
                false,
            ),
            (
                Error::Undecryptable("x"),
                CmcFailInfo::BadMessageCheck,
                false,
            ),
            (
                Error::BadSignature { what: "CMS" },
                CmcFailInfo::BadMessageCheck,
                false,
            ),
            (
                Error::SignerExpired {
                    not_after: SystemTime::UNIX_EPOCH,
                },
                CmcFailInfo::BadTime,
                false,
            ),
            (
                Error::UnsupportedAlgorithm {
                    oid: const_oid::db::rfc5912::ID_SHA_1,
                },
                CmcFailInfo::BadAlg,
                false,
            ),
            (
                Error::PopFailed {
                    body_part_id: 1,
                    reason: "x",
                },
                CmcFailInfo::PopFailed,
                false,
            ),
            (Error::SignerKeyUsage, CmcFailInfo::BadMessageCheck, false),
            (
                Error::RequestKeySignerNotAlone { count: 2 },
                CmcFailInfo::BadMessageCheck,
                false,
            ),
            (
                Error::WrongContentType {
                    found: const_oid::db::rfc5911::ID_DATA,
                    expected: cmc_asn1::oid::ID_CCT_PKI_DATA,
                },
                CmcFailInfo::BadRequest,
                false,
            ),
        ];
        for (e, fail, not_cms) in cases {
            assert_eq!(e.fail_info(), fail, "{e}");
            assert_eq!(e.is_not_cms(), not_cms, "{e}");
        }
    }
}
