//! Static ECDH proof of possession for PKCS #10 requests (RFC 6955 §6): how a key that can
//! only agree keys proves possession to a CA that holds a static ECDH certificate, without
//! the encryptedPOP round trip.
//!
//! The requester computes ZZ, the x-coordinate of ECDH(its private key, the recipient's
//! public key); the MAC key is K = H(LeadingInfo || ZZ || TrailingInfo), with LeadingInfo
//! the DER of the recipient certificate's subject name and TrailingInfo the DER of its
//! issuer name; the "signature" of the request is the DER of [`DhSigStatic`] whose
//! hashValue is HMAC-H(K, DER of certificationRequestInfo). The algorithm identifier
//! (`id-alg-ecdhPop-static-shaN-hmac-shaN`, parameters absent) names H. SHA-224 is not
//! accepted (nothing else here uses it; the CA answers badAlg).
//!
//! The CA side computes the same ZZ with its ECDH key and the requested public key, so only
//! the holder of the requested private key (or of the CA's) can produce the MAC.

use cmc_asn1::BodyPartId;
use cmc_asn1::dhpop::{
    DhSigStatic, ID_ALG_ECDH_POP_STATIC_SHA256_HMAC_SHA256,
    ID_ALG_ECDH_POP_STATIC_SHA384_HMAC_SHA384, ID_ALG_ECDH_POP_STATIC_SHA512_HMAC_SHA512,
};
use cms::cert::IssuerAndSerialNumber;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::request::{CertReq, CertReqInfo};
use zeroize::Zeroizing;

use crate::error::encode_err;
use crate::identity::ProofHash;
use crate::{Error, Result};

/// A PKCS #10 request's static-ECDH proof, decoded but not yet verified (the CA's ECDH key
/// is needed for that: [`verify_dh_pop`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhPop {
    /// H of the algorithm.
    pub hash: ProofHash,
    /// The recipient certificate the requester names, if it does.
    pub recipient: Option<IssuerAndSerialNumber>,
    /// hashValue.
    pub mac: Vec<u8>,
}

/// The hash of a static-ECDH POP algorithm OID (SHA-256/384/512), or `None` for any other
/// OID.
#[must_use]
pub fn dh_pop_hash(oid: &der::asn1::ObjectIdentifier) -> Option<ProofHash> {
    [
        (ID_ALG_ECDH_POP_STATIC_SHA256_HMAC_SHA256, ProofHash::Sha256),
        (ID_ALG_ECDH_POP_STATIC_SHA384_HMAC_SHA384, ProofHash::Sha384),
        (ID_ALG_ECDH_POP_STATIC_SHA512_HMAC_SHA512, ProofHash::Sha512),
    ]
    .into_iter()
    .find(|(o, _)| o == oid)
    .map(|(_, h)| h)
}

/// The algorithm identifier of the static-ECDH POP with `hash` (parameters absent).
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for SHA-1.
pub fn dh_pop_algorithm(hash: ProofHash) -> Result<AlgorithmIdentifierOwned> {
    let oid = match hash {
        ProofHash::Sha256 => ID_ALG_ECDH_POP_STATIC_SHA256_HMAC_SHA256,
        ProofHash::Sha384 => ID_ALG_ECDH_POP_STATIC_SHA384_HMAC_SHA384,
        ProofHash::Sha512 => ID_ALG_ECDH_POP_STATIC_SHA512_HMAC_SHA512,
        ProofHash::Sha1 => {
            return Err(Error::UnsupportedAlgorithm {
                oid: ProofHash::Sha1.digest_oid(),
            });
        }
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

/// Decodes the proof of a PKCS #10 request signed with a static-ECDH POP algorithm; `None`
/// when its algorithm is another one.
///
/// # Errors
/// [`Error::PopFailed`] for parameters other than absent or NULL, a signature BIT STRING
/// with unused bits, or one that is not a `DhSigStatic`.
pub fn decode_dh_pop(req: &CertReq, body_part_id: BodyPartId) -> Result<Option<DhPop>> {
    let Some(hash) = dh_pop_hash(&req.algorithm.oid) else {
        return Ok(None);
    };
    let failed = |reason| Error::PopFailed {
        body_part_id,
        reason,
    };
    if req
        .algorithm
        .parameters
        .as_ref()
        .is_some_and(|p| !(p.tag() == Tag::Null && p.value().is_empty()))
    {
        return Err(failed("static-ECDH POP parameters must be absent"));
    }
    let bytes = req
        .signature
        .as_bytes()
        .ok_or_else(|| failed("signature BIT STRING has unused bits"))?;
    let sig =
        DhSigStatic::from_der(bytes).map_err(|_| failed("the signature is no DhSigStatic"))?;
    Ok(Some(DhPop {
        hash,
        recipient: sig.issuer_and_serial,
        mac: sig.hash_value.as_bytes().to_vec(),
    }))
}

/// K = H(DER(recipient subject) || ZZ || DER(recipient issuer)).
fn pop_key(hash: ProofHash, recipient: &Certificate, zz: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let tbs = recipient.tbs_certificate();
    let leading = tbs.subject().to_der().map_err(encode_err)?;
    let trailing = tbs.issuer().to_der().map_err(encode_err)?;
    Ok(hash.hash(&[&leading, zz, &trailing]))
}

/// The issuer and serial number of `cert`.
#[must_use]
pub fn issuer_and_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    }
}

/// Verifies a static-ECDH proof: it names `recipient` (or no certificate), and its MAC over
/// the request's certificationRequestInfo is the one K gives, K derived from `zz` (ECDH of
/// the recipient's private key and the requested public key) and `recipient`. The MACs are
/// compared in constant time.
///
/// # Errors
/// [`Error::PopFailed`] when the proof names another certificate or the MAC differs.
pub fn verify_dh_pop(
    pop: &DhPop,
    req: &CertReq,
    recipient: &Certificate,
    zz: &[u8],
    body_part_id: BodyPartId,
) -> Result<()> {
    let failed = |reason| Error::PopFailed {
        body_part_id,
        reason,
    };
    if pop
        .recipient
        .as_ref()
        .is_some_and(|named| *named != issuer_and_serial(recipient))
    {
        return Err(failed(
            "the static-ECDH POP names another certificate than the CA's ECDH certificate",
        ));
    }
    let key = pop_key(pop.hash, recipient, zz)?;
    let info = req.info.to_der().map_err(encode_err)?;
    if pop.hash.verify_hmac(&key, &info, &pop.mac) {
        Ok(())
    } else {
        Err(failed("the static-ECDH POP MAC does not verify"))
    }
}

/// Makes a PKCS #10 request for `info` with a static-ECDH proof for `recipient` (the
/// requester's side): `zz` is ECDH of the requested private key and the recipient
/// certificate's public key.
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for SHA-1; encoding errors.
pub fn sign_dh_pop(
    info: CertReqInfo,
    hash: ProofHash,
    recipient: &Certificate,
    zz: &[u8],
) -> Result<CertReq> {
    let algorithm = dh_pop_algorithm(hash)?;
    let key = pop_key(hash, recipient, zz)?;
    let mac = hash.hmac(&key, &info.to_der().map_err(encode_err)?)?;
    let sig = DhSigStatic {
        issuer_and_serial: Some(issuer_and_serial(recipient)),
        hash_value: OctetString::new(mac).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)?;
    Ok(CertReq {
        info,
        algorithm,
        signature: BitString::from_bytes(&sig).map_err(encode_err)?,
    })
}
