//! Shared-secret identity proof (RFC 5272 §6.2) and the POP link witness
//! (§6.3.1): the key derivations, the MACs, and where the witnesses live.
//!
//! The constructions, both sides:
//!
//! - identityProofV2: key = H(sharedSecret ‖ identification) when the
//!   PKIData carries an identification control (§6.2.3), H(sharedSecret)
//!   otherwise; witness = HMAC-H(key, reqSequence), where reqSequence is the
//!   DER of the PKIData's reqSequence field exactly as it appears in the
//!   request, tag and length included ([`req_sequence_der`]). The legacy
//!   identityProof control (§6.2.2) is the same with H fixed to SHA-1.
//! - popLinkWitnessV2: key = H(sharedSecret) (keyGenAlgorithm = H),
//!   witness = HMAC-H(key, popLinkRandom); the witness sits in the PKCS #10
//!   attributes or the CRMF controls of each request and so is covered by
//!   the request's own signature.
//!
//! H and the HMAC are one family: SHA-256 with HMAC-SHA256 and so on.
//! Mixed pairs (SHA-512 key, HMAC-SHA1 tag) are refused.

use cmc_asn1::{IdentityProofV2, PopLinkWitnessV2, TaggedRequest, oid};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::db::rfc6268::{ID_HMAC_WITH_SHA_256, ID_HMAC_WITH_SHA_384, ID_HMAC_WITH_SHA_512};
use der::asn1::{Null, OctetString, SetOfVec};
use der::{Any, Decode, Reader, SliceReader, Tag, Tagged};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use zeroize::Zeroizing;

use crate::error::encode_err;
use crate::{Error, Result};

/// HMAC-SHA1 as RFC 5274 §2 names it (`hMAC-SHA1`, from IPsec).
pub const ID_HMAC_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.8.1.2");
/// HMAC-SHA1 as PKCS #5 names it (`hmacWithSHA1`); accepted on input.
pub const ID_HMAC_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.7");

/// The hash family of a shared-secret proof: the hash that derives the key
/// and the HMAC that uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProofHash {
    /// SHA-1 / HMAC-SHA1: only for clients that cannot do better, where the
    /// operator allows it (RFC 5274 still lists it).
    Sha1,
    /// SHA-256 / HMAC-SHA256 (the default).
    Sha256,
    /// SHA-384 / HMAC-SHA384.
    Sha384,
    /// SHA-512 / HMAC-SHA512.
    Sha512,
}

impl ProofHash {
    /// Every family, weakest first.
    pub const ALL: [Self; 4] = [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512];

    /// The name used in configuration and in the store (`sha256`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The family of a [`name`](Self::name).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
    }

    /// The hash's OID.
    #[must_use]
    pub const fn digest_oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => ID_SHA_1,
            Self::Sha256 => ID_SHA_256,
            Self::Sha384 => ID_SHA_384,
            Self::Sha512 => ID_SHA_512,
        }
    }

    /// The HMAC's OID (for SHA-1 the RFC 5274 one).
    #[must_use]
    pub const fn hmac_oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => ID_HMAC_SHA1,
            Self::Sha256 => ID_HMAC_WITH_SHA_256,
            Self::Sha384 => ID_HMAC_WITH_SHA_384,
            Self::Sha512 => ID_HMAC_WITH_SHA_512,
        }
    }

    /// The family whose hash has this OID.
    #[must_use]
    pub fn from_digest_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.digest_oid() == *oid)
    }

    /// The family whose HMAC has this OID (both SHA-1 HMAC OIDs).
    #[must_use]
    pub fn from_hmac_oid(oid: &ObjectIdentifier) -> Option<Self> {
        if *oid == ID_HMAC_WITH_SHA1 {
            return Some(Self::Sha1);
        }
        Self::ALL.into_iter().find(|h| h.hmac_oid() == *oid)
    }

    /// The hash algorithm identifier (parameters absent, RFC 5754 §2).
    #[must_use]
    pub fn digest_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.digest_oid(),
            parameters: None,
        }
    }

    /// The HMAC algorithm identifier (parameters NULL, as RFC 8018 and
    /// RFC 4231 implementations write them).
    #[must_use]
    pub fn hmac_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.hmac_oid(),
            parameters: Some(Any::from(Null)),
        }
    }

    /// The hash of the concatenation of `parts`.
    #[must_use]
    pub fn hash(self, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        Zeroizing::new(match self {
            Self::Sha1 => run::<sha1::Sha1>(parts),
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        })
    }

    /// HMAC of `message` under `key`.
    ///
    /// # Errors
    /// [`Error::Encode`] if the MAC refuses the key (HMAC takes keys of any
    /// length, so not in practice).
    pub fn hmac(self, key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
        fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
            let mut mac = <M as KeyInit>::new_from_slice(key).map_err(encode_err)?;
            mac.update(message);
            Ok(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Self::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Self::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Self::Sha384 => run::<Hmac<sha2::Sha384>>(key, message),
            Self::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }

    /// Whether `tag` is the HMAC of `message` under `key`, compared in
    /// constant time.
    #[must_use]
    pub fn verify_hmac(self, key: &[u8], message: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
            let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
                return false;
            };
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            Self::Sha1 => run::<Hmac<sha1::Sha1>>(key, message, tag),
            Self::Sha256 => run::<Hmac<sha2::Sha256>>(key, message, tag),
            Self::Sha384 => run::<Hmac<sha2::Sha384>>(key, message, tag),
            Self::Sha512 => run::<Hmac<sha2::Sha512>>(key, message, tag),
        }
    }
}

impl std::fmt::Display for ProofHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The identityProofV2 MAC key: H(secret ‖ identification), or H(secret)
/// when the request carries no identification control (RFC 5272 §6.2.1
/// step 2 and §6.2.3).
#[must_use]
pub fn identity_key(
    hash: ProofHash,
    secret: &[u8],
    identification: Option<&str>,
) -> Zeroizing<Vec<u8>> {
    match identification {
        Some(id) => hash.hash(&[secret, id.as_bytes()]),
        None => hash.hash(&[secret]),
    }
}

/// The popLinkWitnessV2 MAC key: H(secret) (keyGenAlgorithm = H, §6.3.1.1
/// step 2). Dogtag derives it from secret ‖ identification instead; this
/// follows the RFC.
#[must_use]
pub fn link_key(hash: ProofHash, secret: &[u8]) -> Zeroizing<Vec<u8>> {
    hash.hash(&[secret])
}

/// The reqSequence field of a PKIData, exactly as encoded in `pki_data`
/// (the eContent octets): its tag, length and contents.
///
/// # Errors
/// [`Error::MalformedContent`] if `pki_data` is not a SEQUENCE of at least
/// two SEQUENCE fields.
pub fn req_sequence_der(pki_data: &[u8]) -> Result<&[u8]> {
    let malformed = |e: der::Error| Error::MalformedContent(format!("PKIData: {e}"));
    let mut outer = SliceReader::new(pki_data).map_err(malformed)?;
    let header = der::Header::decode(&mut outer).map_err(malformed)?;
    if header.tag() != Tag::Sequence {
        return Err(Error::MalformedContent("PKIData is not a SEQUENCE".into()));
    }
    let body = outer.read_slice(header.length()).map_err(malformed)?;
    let mut fields = SliceReader::new(body).map_err(malformed)?;
    let _controls = fields.tlv_bytes().map_err(malformed)?;
    let req_sequence = fields.tlv_bytes().map_err(malformed)?;
    let tag = Any::from_der(req_sequence).map_err(malformed)?.tag();
    if tag != Tag::Sequence {
        return Err(Error::MalformedContent(
            "the reqSequence field of PKIData is not a SEQUENCE".into(),
        ));
    }
    Ok(req_sequence)
}

/// An identityProofV2 over `req_sequence` (from [`req_sequence_der`]) with
/// `key` (from [`identity_key`]).
///
/// # Errors
/// [`Error::Encode`].
pub fn identity_proof_v2(
    hash: ProofHash,
    key: &[u8],
    req_sequence: &[u8],
) -> Result<IdentityProofV2> {
    Ok(IdentityProofV2 {
        proof_alg_id: hash.digest_algorithm(),
        mac_alg_id: hash.hmac_algorithm(),
        witness: OctetString::new(hash.hmac(key, req_sequence)?).map_err(encode_err)?,
    })
}

/// The family an identityProofV2 or popLinkWitnessV2 names: `hash_alg` a
/// known hash (parameters absent or NULL) and `mac_alg` the HMAC of the
/// same hash.
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for an unknown hash or MAC, or a MAC of
/// another family than the hash.
pub fn proof_family(
    hash_alg: &AlgorithmIdentifierOwned,
    mac_alg: &AlgorithmIdentifierOwned,
) -> Result<ProofHash> {
    let null_or_absent = |a: &AlgorithmIdentifierOwned| {
        a.parameters
            .as_ref()
            .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty())
    };
    let hash = ProofHash::from_digest_oid(&hash_alg.oid)
        .filter(|_| null_or_absent(hash_alg))
        .ok_or(Error::UnsupportedAlgorithm { oid: hash_alg.oid })?;
    match ProofHash::from_hmac_oid(&mac_alg.oid) {
        Some(mac) if mac == hash && null_or_absent(mac_alg) => Ok(hash),
        _ => Err(Error::UnsupportedAlgorithm { oid: mac_alg.oid }),
    }
}

/// A popLinkWitnessV2 for `random` (the popLinkRandom value) with `key`
/// (from [`link_key`]).
///
/// # Errors
/// [`Error::Encode`].
pub fn pop_link_witness_v2(hash: ProofHash, key: &[u8], random: &[u8]) -> Result<PopLinkWitnessV2> {
    Ok(PopLinkWitnessV2 {
        key_gen_algorithm: hash.digest_algorithm(),
        mac_algorithm: hash.hmac_algorithm(),
        witness: OctetString::new(hash.hmac(key, random)?).map_err(encode_err)?,
    })
}

/// The popLinkWitnessV2 of one certification request: the attribute of a
/// PKCS #10 request or the control of a CRMF request; `None` if it has
/// none.
///
/// # Errors
/// [`Error::MalformedContent`] if there is more than one, or it does not
/// decode.
pub fn find_pop_link_witness(request: &TaggedRequest) -> Result<Option<PopLinkWitnessV2>> {
    match link_witness_values(request, oid::ID_CMC_POP_LINK_WITNESS_V2).as_slice() {
        [] => Ok(None),
        [one] => one
            .decode_as::<PopLinkWitnessV2>()
            .map(Some)
            .map_err(|e| Error::MalformedContent(format!("popLinkWitnessV2: {e}"))),
        _ => Err(Error::MalformedContent(
            "more than one popLinkWitnessV2 in one request".into(),
        )),
    }
}

/// The popLinkWitness (version 1, RFC 5272 §6.3.1.1: HMAC-SHA1(SHA-1(secret),
/// popLinkRandom)) of one certification request, if it has one.
///
/// # Errors
/// [`Error::MalformedContent`] if there is more than one, or it does not
/// decode.
pub fn find_pop_link_witness_v1(request: &TaggedRequest) -> Result<Option<OctetString>> {
    match link_witness_values(request, oid::ID_CMC_POP_LINK_WITNESS).as_slice() {
        [] => Ok(None),
        [one] => one
            .decode_as::<OctetString>()
            .map(Some)
            .map_err(|e| Error::MalformedContent(format!("popLinkWitness: {e}"))),
        _ => Err(Error::MalformedContent(
            "more than one popLinkWitness in one request".into(),
        )),
    }
}

/// The values of the attribute (PKCS #10) or control (CRMF) `id` of one
/// certification request.
fn link_witness_values(request: &TaggedRequest, id: ObjectIdentifier) -> Vec<&Any> {
    match request {
        TaggedRequest::Tcr(tcr) => tcr
            .certification_request
            .info
            .attributes
            .iter()
            .filter(|a| a.oid == id)
            .flat_map(|a| a.values.iter())
            .collect(),
        TaggedRequest::Crm(crm) => crm
            .cert_req
            .controls
            .iter()
            .flatten()
            .filter(|c| c.oid == id)
            .map(|c| &c.value)
            .collect(),
        TaggedRequest::Orm(_) => Vec::new(),
    }
}

/// A popLinkWitness (version 1) as a PKCS #10 attribute: `witness` is
/// HMAC-SHA1(SHA-1(secret), popLinkRandom).
///
/// # Errors
/// [`Error::Encode`].
pub fn pop_link_witness_v1_attribute(witness: &[u8]) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values
        .insert(
            Any::encode_from(&OctetString::new(witness).map_err(encode_err)?)
                .map_err(encode_err)?,
        )
        .map_err(encode_err)?;
    Ok(Attribute {
        oid: oid::ID_CMC_POP_LINK_WITNESS,
        values,
    })
}

/// A popLinkWitnessV2 as a PKCS #10 attribute (for
/// [`build_csr_with_attributes`](crate::build_csr_with_attributes)).
///
/// # Errors
/// [`Error::Encode`].
pub fn pop_link_witness_attribute(witness: &PopLinkWitnessV2) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values
        .insert(Any::encode_from(witness).map_err(encode_err)?)
        .map_err(encode_err)?;
    Ok(Attribute {
        oid: oid::ID_CMC_POP_LINK_WITNESS_V2,
        values,
    })
}

/// A popLinkWitnessV2 as a CRMF control (for
/// [`build_crmf_with_controls`](crate::build_crmf_with_controls)).
///
/// # Errors
/// [`Error::Encode`].
pub fn pop_link_witness_control(witness: &PopLinkWitnessV2) -> Result<AttributeTypeAndValue> {
    Ok(AttributeTypeAndValue {
        oid: oid::ID_CMC_POP_LINK_WITNESS_V2,
        value: Any::encode_from(witness).map_err(encode_err)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_oids_round_trip() {
        for h in ProofHash::ALL {
            assert_eq!(ProofHash::from_name(h.name()), Some(h));
            assert_eq!(ProofHash::from_digest_oid(&h.digest_oid()), Some(h));
            assert_eq!(ProofHash::from_hmac_oid(&h.hmac_oid()), Some(h));
            assert_eq!(
                proof_family(&h.digest_algorithm(), &h.hmac_algorithm()).unwrap(),
                h
            );
        }
        assert_eq!(
            ProofHash::from_hmac_oid(&ID_HMAC_WITH_SHA1),
            Some(ProofHash::Sha1)
        );
        assert_eq!(ProofHash::from_name("md5"), None);
    }

    #[test]
    fn mixed_families_are_refused() {
        let err = proof_family(
            &ProofHash::Sha512.digest_algorithm(),
            &ProofHash::Sha1.hmac_algorithm(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnsupportedAlgorithm { oid } if oid == ID_HMAC_SHA1));
    }

    // RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn hmac_sha256_known_answer() {
        let tag = ProofHash::Sha256
            .hmac(b"Jefe", b"what do ya want for nothing?")
            .unwrap();
        assert_eq!(
            tag,
            hex_literal::hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert!(ProofHash::Sha256.verify_hmac(b"Jefe", b"what do ya want for nothing?", &tag));
        assert!(!ProofHash::Sha256.verify_hmac(b"Jefe", b"what do ya want for nothing!", &tag));
    }

    #[test]
    fn identity_key_appends_the_identification() {
        let with = identity_key(ProofHash::Sha256, b"secret", Some("alice"));
        assert_eq!(*with, *ProofHash::Sha256.hash(&[b"secretalice"]));
        let without = identity_key(ProofHash::Sha256, b"secret", None);
        assert_eq!(*without, *link_key(ProofHash::Sha256, b"secret"));
    }

    #[test]
    fn req_sequence_is_sliced_as_encoded() {
        // PKIData { controlSequence {}, reqSequence { INTEGER 5 }, {}, {} }
        let pki = [
            0x30, 0x0b, 0x30, 0x00, 0x30, 0x03, 0x02, 0x01, 0x05, 0x30, 0x00, 0x30, 0x00,
        ];
        assert_eq!(
            req_sequence_der(&pki).unwrap(),
            &[0x30, 0x03, 0x02, 0x01, 0x05]
        );
        assert!(req_sequence_der(&[0x30, 0x02, 0x30, 0x00]).is_err());
        assert!(req_sequence_der(&[0x04, 0x00]).is_err());
    }
}
