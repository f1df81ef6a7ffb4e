//! `PKIMessage` (RFC 4210 §5.1), bounded decoding from untrusted bytes, and protection
//! over `ProtectedPart` (RFC 4210 §5.1.3).

use alloc::vec::Vec;

use der::asn1::BitString;
use der::{Decode, Encode, Reader, Sequence, SliceReader, Tag};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::Error;
use crate::body::{PkiBody, SUPPORTED_BODY_TYPES};
use crate::cert_rep::CmpCertificate;
use crate::header::PkiHeader;
use crate::mac::{MacAlgorithm, MacLimits};

/// `PKIProtection` (RFC 4210 §5.1.3).
///
/// ```text
/// PKIProtection ::= BIT STRING
/// ```
pub type PkiProtection = BitString;

/// `PKIMessage` (RFC 4210 §5.1).
///
/// ```text
/// PKIMessage ::= SEQUENCE {
///     header           PKIHeader,
///     body             PKIBody,
///     protection   [0] PKIProtection OPTIONAL,
///     extraCerts   [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate
///                      OPTIONAL }
/// ```
///
/// Both tags are EXPLICIT. Decode untrusted bytes with [`decode_message`], which bounds the
/// size, names unsupported bodies and keeps the received `ProtectedPart` for verification.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiMessage {
    /// The header.
    pub header: PkiHeader,
    /// The body.
    pub body: PkiBody,
    /// `[0]` MAC or signature over [`ProtectedPart`].
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub protection: Option<PkiProtection>,
    /// `[1]` certificates for the recipient: the protecting certificate first, then its chain
    /// (RFC 9483 §3.3).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub extra_certs: Option<Vec<CmpCertificate>>,
}

/// `ProtectedPart` (RFC 4210 §5.1.3): what the protection is computed over.
///
/// ```text
/// ProtectedPart ::= SEQUENCE {
///     header    PKIHeader,
///     body      PKIBody }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ProtectedPart {
    /// The header, with `protectionAlg` set.
    pub header: PkiHeader,
    /// The body.
    pub body: PkiBody,
}

/// Limits applied to untrusted input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest `PKIMessage` accepted, in octets. Default 256 KiB (a request with a few
    /// certificates in `extraCerts` is a few KiB).
    pub max_message_len: usize,
    /// Costs of MAC verification.
    pub mac: MacLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_len: 256 * 1024,
            mac: MacLimits::default(),
        }
    }
}

/// A decoded message with the exact DER of its `ProtectedPart` as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The message.
    pub message: PkiMessage,
    protected_part: Vec<u8>,
}

/// How a received message is protected, from its `protectionAlg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protection {
    /// No `protectionAlg` or no `protection`.
    None,
    /// PBM or PBMAC1, with checked parameters.
    Mac(MacAlgorithm),
    /// Anything else: a signature algorithm, checked when the signature is verified.
    Signature(AlgorithmIdentifierOwned),
}

/// Decodes a `PKIMessage` from untrusted bytes.
///
/// # Errors
/// [`Error::TooLarge`] past `limits.max_message_len` (checked first);
/// [`Error::UnsupportedBody`] for a `PKIBody` alternative outside the Lightweight CMP
/// Profile; [`Error::Decode`] for anything that is not a DER `PKIMessage` (including
/// trailing data).
pub fn decode_message(bytes: &[u8], limits: &Limits) -> Result<Received, Error> {
    if bytes.len() > limits.max_message_len {
        return Err(Error::TooLarge {
            len: bytes.len(),
            max: limits.max_message_len,
        });
    }
    // First pass: the raw header and body TLVs, so that the body type can be named before
    // its content is decoded, and so that the protection is checked over the octets that
    // were received.
    let (header_tlv, body_tlv) = split_protected_part(bytes).map_err(Error::Decode)?;
    let body_tag = SliceReader::new(body_tlv)
        .and_then(|r| Tag::peek(&r))
        .map_err(Error::Decode)?;
    if let Tag::ContextSpecific {
        constructed: true,
        number,
    } = body_tag
        && !SUPPORTED_BODY_TYPES.contains(&number.value())
    {
        return Err(Error::UnsupportedBody {
            number: number.value(),
        });
    }
    let message = PkiMessage::from_der(bytes).map_err(Error::Decode)?;
    let protected_part = sequence_of(&[header_tlv, body_tlv]).map_err(Error::Decode)?;
    Ok(Received {
        message,
        protected_part,
    })
}

fn split_protected_part(bytes: &[u8]) -> der::Result<(&[u8], &[u8])> {
    let mut reader = SliceReader::new(bytes)?;
    let parts = reader.sequence(|r| {
        let header = r.tlv_bytes()?;
        let body = r.tlv_bytes()?;
        // protection and extraCerts are checked by the full decode.
        r.drain(r.remaining_len())?;
        der::Result::Ok((header, body))
    })?;
    reader.finish()?;
    Ok(parts)
}

fn sequence_of(parts: &[&[u8]]) -> der::Result<Vec<u8>> {
    let len = parts.iter().try_fold(der::Length::ZERO, |acc, p| {
        acc + der::Length::try_from(p.len())?
    })?;
    let header = der::Header::new(Tag::Sequence, len);
    let mut out = Vec::with_capacity(usize::try_from(len)? + 6);
    header.encode_to_vec(&mut out)?;
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(out)
}

impl Received {
    /// The DER of `ProtectedPart` exactly as received: what a signature or MAC covers.
    #[must_use]
    pub fn protected_part(&self) -> &[u8] {
        &self.protected_part
    }

    /// How the message is protected. MAC parameters are checked against `limits`.
    ///
    /// # Errors
    /// Those of [`MacAlgorithm::from_algorithm_identifier`] for a PBM or PBMAC1
    /// `protectionAlg` with bad parameters.
    pub fn protection(&self, limits: &MacLimits) -> Result<Protection, Error> {
        let (Some(alg), Some(_)) = (
            &self.message.header.protection_alg,
            &self.message.protection,
        ) else {
            return Ok(Protection::None);
        };
        if MacAlgorithm::is_mac(alg) {
            MacAlgorithm::from_algorithm_identifier(alg, limits).map(Protection::Mac)
        } else {
            Ok(Protection::Signature(alg.clone()))
        }
    }

    /// Verifies MAC protection (PBM or PBMAC1) with `secret`.
    ///
    /// # Errors
    /// [`Error::NotProtected`] if the message is unprotected or signed; the errors of
    /// [`MacAlgorithm::from_algorithm_identifier`]; [`Error::MacMismatch`] if the MAC does
    /// not verify.
    pub fn verify_mac(&self, secret: &[u8], limits: &MacLimits) -> Result<MacAlgorithm, Error> {
        let Protection::Mac(alg) = self.protection(limits)? else {
            return Err(Error::NotProtected("expected MAC protection"));
        };
        alg.verify(secret, &self.protected_part, self.protection_bits()?)?;
        Ok(alg)
    }

    /// Verifies signature protection with the public key of the protecting certificate
    /// (normally the first of `extraCerts`, RFC 9483 §3.3; finding and validating that
    /// certificate is the caller's job).
    ///
    /// # Errors
    /// [`Error::NotProtected`] if the message is unprotected or MAC-protected;
    /// [`Error::Signature`] if the algorithm is not supported, does not fit the key, or the
    /// signature does not verify.
    pub fn verify_signature(&self, spki: &SubjectPublicKeyInfoOwned) -> Result<(), Error> {
        let Some(alg) = &self.message.header.protection_alg else {
            return Err(Error::NotProtected("no protectionAlg"));
        };
        if MacAlgorithm::is_mac(alg) {
            return Err(Error::NotProtected("expected signature protection"));
        }
        let sig_alg = cmc_codec::alg::SignatureAlg::from_algorithm_identifier(alg, None)
            .map_err(Error::Signature)?;
        cmc_codec::alg::verify_signature(
            spki,
            &sig_alg,
            &self.protected_part,
            self.protection_bits()?,
            "CMP message protection",
        )
        .map_err(Error::Signature)
    }

    fn protection_bits(&self) -> Result<&[u8], Error> {
        self.message
            .protection
            .as_ref()
            .and_then(BitString::as_bytes)
            .ok_or(Error::NotProtected(
                "no protection, or it is not whole octets",
            ))
    }
}

impl PkiMessage {
    /// The DER of `ProtectedPart` for this message's header and body (as they are now).
    ///
    /// # Errors
    /// [`Error::Encode`] if encoding fails (not expected).
    pub fn protected_part_der(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        ProtectedPartRef {
            header: &self.header,
            body: &self.body,
        }
        .encode_to_vec(&mut out)
        .map_err(Error::Encode)?;
        Ok(out)
    }

    /// Builds a MAC-protected message: sets `protectionAlg` in `header`, then computes the
    /// MAC over `ProtectedPart` with `secret`.
    ///
    /// # Errors
    /// [`Error::Encode`] if encoding fails (not expected).
    pub fn protect_with_mac(
        mut header: PkiHeader,
        body: PkiBody,
        alg: &MacAlgorithm,
        secret: &[u8],
        extra_certs: Option<Vec<CmpCertificate>>,
    ) -> Result<Self, Error> {
        header.protection_alg = Some(alg.algorithm_identifier()?);
        let mut message = Self {
            header,
            body,
            protection: None,
            extra_certs,
        };
        let mac = alg.compute(secret, &message.protected_part_der()?);
        message.protection = Some(BitString::from_bytes(&mac).map_err(Error::Encode)?);
        Ok(message)
    }

    /// Builds a signature-protected message: sets `protectionAlg` to `alg` in `header` and
    /// asks `sign` for the signature over the DER of `ProtectedPart` (a DER
    /// `ECDSA-Sig-Value` for ECDSA, the raw signature for RSA).
    ///
    /// # Errors
    /// [`Error::Encode`] if encoding fails; whatever `sign` returns, converted.
    pub fn protect_with_signature<E>(
        mut header: PkiHeader,
        body: PkiBody,
        alg: AlgorithmIdentifierOwned,
        extra_certs: Option<Vec<CmpCertificate>>,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Self, E>
    where
        E: From<Error>,
    {
        header.protection_alg = Some(alg);
        let mut message = Self {
            header,
            body,
            protection: None,
            extra_certs,
        };
        let signature = sign(&message.protected_part_der()?)?;
        message.protection = Some(BitString::from_bytes(&signature).map_err(Error::Encode)?);
        Ok(message)
    }

    /// The DER of the whole message.
    ///
    /// # Errors
    /// [`Error::Encode`] if encoding fails (not expected).
    pub fn to_der_bytes(&self) -> Result<Vec<u8>, Error> {
        self.to_der().map_err(Error::Encode)
    }
}

/// `ProtectedPart` over borrowed parts, so that encoding it copies nothing.
struct ProtectedPartRef<'a> {
    header: &'a PkiHeader,
    body: &'a PkiBody,
}

impl der::EncodeValue for ProtectedPartRef<'_> {
    fn value_len(&self) -> der::Result<der::Length> {
        self.header.encoded_len()? + self.body.encoded_len()?
    }

    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.header.encode(writer)?;
        self.body.encode(writer)
    }
}

impl der::FixedTag for ProtectedPartRef<'_> {
    const TAG: Tag = Tag::Sequence;
}
