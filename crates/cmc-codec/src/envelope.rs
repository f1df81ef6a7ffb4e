//! The encryptedPOP challenge (RFC 5272 §6.7): an EnvelopedData (RFC 5652
//! §6) that only the holder of the requested RSA key can open, and the
//! MACs of the two rounds.
//!
//! Server side, [`envelop_challenge`]: a fresh AES-256-CBC content key
//! encrypts the challenge (content type id-data); RSAES-OAEP with SHA-256
//! and MGF1-SHA-256 (RFC 8017, RFC 4055) carries the content key to the
//! requested key in one KeyTransRecipientInfo whose rid is
//! issuerAndSerialNumber with an empty issuer and the request's
//! bodyPartID as serial, as §6.7 prescribes for that form. The witness is
//! SHA-256(challenge); thePOP is HMAC-SHA256(challenge, the DER of the
//! certification request), the challenge cut to 64 octets.
//!
//! For a P-256 or P-384 key, the content key goes in a
//! KeyAgreeRecipientInfo instead (RFC 5753 §3.1.1): an ephemeral key on the
//! same curve, ECDH, the X9.63 KDF with SHA-256 or SHA-384
//! (dhSinglePass-stdDH-sha256kdf-scheme / sha384kdf) and aes256-wrap, with
//! the same empty-issuer issuerAndSerialNumber as rid.
//!
//! Client side, [`open_challenge`]: finds that recipient, decrypts with the
//! key and checks the witness.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo,
    KeyTransRecipientInfo, OriginatorIdentifierOrKey, OriginatorPublicKey, RecipientEncryptedKey,
    RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_DATA, ID_ENVELOPED_DATA};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use zeroize::Zeroizing;

use crate::error::encode_err;
use crate::identity::ProofHash;
use crate::{Error, Result};

/// id-RSAES-OAEP (RFC 8017, RFC 4055 §4.1).
pub const ID_RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
/// id-mgf1 (RFC 8017).
pub const ID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// aes256-CBC (RFC 3565).
pub const ID_AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

/// aes256-wrap (RFC 3565).
pub const ID_AES256_WRAP: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.45");
/// dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753 §7.1.4).
pub const DH_SINGLE_PASS_STD_DH_SHA256_KDF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.132.1.11.1");
/// dhSinglePass-stdDH-sha384kdf-scheme (RFC 5753 §7.1.4).
pub const DH_SINGLE_PASS_STD_DH_SHA384_KDF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.132.1.11.2");

/// The most of a challenge that keys thePOP's HMAC (§6.7).
const MAX_POP_KEY: usize = 64;

/// `RSAES-OAEP-params` (RFC 4055 §4.1) with every field present.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct RsaesOaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
}

/// `ECC-CMS-SharedInfo` (RFC 5753 §7.2), the SharedInfo of the X9.63 KDF.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct EccCmsSharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

/// The curves this module agrees keys on, with their KDF hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    pub(crate) fn of(spki: &SubjectPublicKeyInfoOwned) -> Option<Self> {
        if spki.algorithm.oid != const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
            return None;
        }
        let curve: ObjectIdentifier = spki.algorithm.parameters.as_ref()?.decode_as().ok()?;
        match curve {
            c if c == const_oid::db::rfc5912::SECP_256_R_1 => Some(Self::P256),
            c if c == const_oid::db::rfc5912::SECP_384_R_1 => Some(Self::P384),
            _ => None,
        }
    }

    fn scheme(self) -> ObjectIdentifier {
        match self {
            Self::P256 => DH_SINGLE_PASS_STD_DH_SHA256_KDF,
            Self::P384 => DH_SINGLE_PASS_STD_DH_SHA384_KDF,
        }
    }

    fn hash(self) -> ProofHash {
        match self {
            Self::P256 => ProofHash::Sha256,
            Self::P384 => ProofHash::Sha384,
        }
    }
}

/// The key encryption algorithm of a KeyAgreeRecipientInfo for `curve`:
/// the dhSinglePass scheme with aes256-wrap as its parameter.
fn kari_algorithm(curve: Curve) -> Result<AlgorithmIdentifierOwned> {
    let wrap = AlgorithmIdentifierOwned {
        oid: ID_AES256_WRAP,
        parameters: None,
    };
    Ok(AlgorithmIdentifierOwned {
        oid: curve.scheme(),
        parameters: Some(Any::encode_from(&wrap).map_err(encode_err)?),
    })
}

/// The ANSI X9.63 KDF of RFC 5753 §3.1.1 for a 256-bit AES wrap key:
/// H(Z ‖ counter ‖ ECC-CMS-SharedInfo), counter = 1 (one block covers 256
/// bits for SHA-256 and SHA-384).
fn x963_kek(curve: Curve, z: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let info = EccCmsSharedInfo {
        key_info: AlgorithmIdentifierOwned {
            oid: ID_AES256_WRAP,
            parameters: None,
        },
        entity_u_info: None,
        supp_pub_info: OctetString::new(256u32.to_be_bytes()).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)?;
    let block = curve.hash().hash(&[z, &1u32.to_be_bytes(), &info]);
    let mut kek = Zeroizing::new([0u8; 32]);
    kek.copy_from_slice(&block[..32]);
    Ok(kek)
}

/// Wraps `cek` for the EC key `recipient`: an ephemeral key on its curve,
/// ECDH, the X9.63 KDF, AES-256 key wrap (RFC 5753 §3.1.1).
pub(crate) fn kari(
    curve: Curve,
    recipient: &SubjectPublicKeyInfoOwned,
    rid: IssuerAndSerialNumber,
    cek: &[u8],
) -> Result<RecipientInfo> {
    use aes_kw::KeyInit;
    use der::asn1::BitString;
    use p256::elliptic_curve::Generate as _;

    let point = recipient
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::BadPublicKey("the key's BIT STRING has unused bits".into()))?;
    let bad = |e: &dyn std::fmt::Display| Error::BadPublicKey(format!("EC public key: {e}"));
    let mut rng = getrandom::rand_core::UnwrapErr(getrandom::SysRng);
    let (ephemeral, z) = match curve {
        Curve::P256 => {
            let peer = p256::PublicKey::from_sec1_bytes(point).map_err(|e| bad(&e))?;
            let secret = p256::ecdh::EphemeralSecret::generate_from_rng(&mut rng);
            let public = secret.public_key().to_sec1_bytes().to_vec();
            let shared = secret.diffie_hellman(&peer);
            (public, Zeroizing::new(shared.raw_secret_bytes().to_vec()))
        }
        Curve::P384 => {
            let peer = p384::PublicKey::from_sec1_bytes(point).map_err(|e| bad(&e))?;
            let secret = p384::ecdh::EphemeralSecret::generate_from_rng(&mut rng);
            let public = secret.public_key().to_sec1_bytes().to_vec();
            let shared = secret.diffie_hellman(&peer);
            (public, Zeroizing::new(shared.raw_secret_bytes().to_vec()))
        }
    };
    let kek = x963_kek(curve, &z)?;
    let mut wrapped = vec![0u8; cek.len() + aes_kw::IV_LEN];
    aes_kw::KwAes256::new(&(*kek).into())
        .wrap_key(cek, &mut wrapped)
        .map_err(|e| Error::Encode(format!("AES key wrap: {e:?}")))?;
    Ok(RecipientInfo::Kari(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            algorithm: AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::ID_EC_PUBLIC_KEY,
                parameters: None,
            },
            public_key: BitString::from_bytes(&ephemeral).map_err(encode_err)?,
        }),
        ukm: None,
        key_enc_alg: kari_algorithm(curve)?,
        recipient_enc_keys: vec![RecipientEncryptedKey {
            rid: KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(rid),
            enc_key: OctetString::new(wrapped).map_err(encode_err)?,
        }],
    }))
}

/// Unwraps the content key of a KeyAgreeRecipientInfo with the EC `key`.
fn open_kari(
    kari: &KeyAgreeRecipientInfo,
    body_part_id: u32,
    key: &cmc_keys::FileKey,
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    use aes_kw::KeyInit;

    let Some(curve) = Curve::of(cmc_keys::SigningKey::public_key(key)) else {
        return Ok(None);
    };
    let rid = KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(body_part_id)?);
    let Some(encrypted) = kari.recipient_enc_keys.iter().find(|r| r.rid == rid) else {
        return Ok(None);
    };
    if kari.key_enc_alg != kari_algorithm(curve)? {
        return Err(Error::MalformedContent(
            "encryptedPOP: key agreement is not the dhSinglePass scheme of the key's curve with aes256-wrap".into(),
        ));
    }
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(Error::MalformedContent(
            "encryptedPOP: the originator is not an ephemeral key".into(),
        ));
    };
    let point = originator.public_key.as_bytes().ok_or_else(|| {
        Error::MalformedContent("encryptedPOP: originator key has unused bits".into())
    })?;
    let failed = |reason| Error::PopFailed {
        body_part_id,
        reason,
    };
    let z = key
        .ecdh_shared_secret(point)
        .map_err(|_| failed("the challenge does not decrypt with this key"))?;
    let kek = x963_kek(curve, &z)?;
    let wrapped = encrypted.enc_key.as_bytes();
    let mut cek = Zeroizing::new(vec![0u8; wrapped.len().saturating_sub(aes_kw::IV_LEN)]);
    aes_kw::KwAes256::new(&(*kek).into())
        .unwrap_key(wrapped, &mut cek)
        .map_err(|_| failed("the challenge does not decrypt with this key"))?;
    Ok(Some(cek))
}

fn sha256() -> AlgorithmIdentifierOwned {
    ProofHash::Sha256.digest_algorithm()
}

/// The key encryption algorithm: RSAES-OAEP, SHA-256, MGF1-SHA-256.
fn oaep_sha256() -> Result<AlgorithmIdentifierOwned> {
    let params = RsaesOaepParams {
        hash: Some(sha256()),
        mask_gen: Some(AlgorithmIdentifierOwned {
            oid: ID_MGF1,
            parameters: Some(Any::encode_from(&sha256()).map_err(encode_err)?),
        }),
    };
    Ok(AlgorithmIdentifierOwned {
        oid: ID_RSAES_OAEP,
        parameters: Some(Any::encode_from(&params).map_err(encode_err)?),
    })
}

/// The rid of the challenge's recipient: issuerAndSerialNumber, empty
/// issuer, serial = `body_part_id`.
fn recipient_id(body_part_id: u32) -> Result<RecipientIdentifier> {
    Ok(RecipientIdentifier::IssuerAndSerialNumber(
        issuer_and_serial(body_part_id)?,
    ))
}

/// issuerAndSerialNumber with an empty issuer and the bodyPartID as
/// serial (RFC 5272 §6.7).
fn issuer_and_serial(body_part_id: u32) -> Result<IssuerAndSerialNumber> {
    Ok(IssuerAndSerialNumber {
        issuer: Name::default(),
        serial_number: SerialNumber::new(&body_part_id.to_be_bytes()).map_err(encode_err)?,
    })
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    getrandom::fill(out.as_mut()).map_err(|e| Error::Encode(format!("random: {e}")))?;
    Ok(out)
}

/// An EnvelopedData carrying `challenge` to the RSA key `recipient` (the
/// requested key of body part `body_part_id`), as a ContentInfo.
///
/// # Errors
/// [`Error::BadPublicKey`] if `recipient` is not an RSA key;
/// [`Error::Encode`].
pub fn envelop_challenge(
    recipient: &SubjectPublicKeyInfoOwned,
    body_part_id: u32,
    challenge: &[u8],
) -> Result<ContentInfo> {
    envelop(
        recipient,
        issuer_and_serial(body_part_id)?,
        ID_DATA,
        challenge,
    )
}

/// An EnvelopedData (AES-256-CBC) carrying `content` of `content_type` to
/// the RSA, P-256 or P-384 key `recipient`, named by `rid`: RSAES-OAEP
/// with SHA-256 for RSA, ECDH with the X9.63 KDF and aes256-wrap for EC.
pub(crate) fn envelop(
    recipient: &SubjectPublicKeyInfoOwned,
    rid: IssuerAndSerialNumber,
    content_type: ObjectIdentifier,
    content: &[u8],
) -> Result<ContentInfo> {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};

    let cek = random::<32>()?;
    let recipient_info = if recipient.algorithm.oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
        ktri(recipient, rid, cek.as_ref())?
    } else if let Some(curve) = Curve::of(recipient) {
        kari(curve, recipient, rid, cek.as_ref())?
    } else {
        return Err(Error::BadPublicKey(
            "encryption is made for RSA, P-256 and P-384 keys".into(),
        ));
    };
    let version = match recipient_info {
        RecipientInfo::Ktri(_) => CmsVersion::V0,
        _ => CmsVersion::V2,
    };
    let iv = random::<16>()?;
    let ciphertext = cbc::Encryptor::<aes::Aes256>::new(&(*cek).into(), &(*iv).into())
        .encrypt_padded_vec::<Pkcs7>(content);
    let mut recip_infos = SetOfVec::new();
    recip_infos.insert(recipient_info).map_err(encode_err)?;
    let enveloped = EnvelopedData {
        version,
        originator_info: None,
        recip_infos: RecipientInfos(recip_infos),
        encrypted_content: EncryptedContentInfo {
            content_type,
            content_enc_alg: AlgorithmIdentifierOwned {
                oid: ID_AES256_CBC,
                parameters: Some(
                    Any::encode_from(&OctetString::new(iv.to_vec()).map_err(encode_err)?)
                        .map_err(encode_err)?,
                ),
            },
            encrypted_content: Some(OctetString::new(ciphertext).map_err(encode_err)?),
        },
        unprotected_attrs: None,
    };
    Ok(ContentInfo {
        content_type: ID_ENVELOPED_DATA,
        content: Any::encode_from(&enveloped).map_err(encode_err)?,
    })
}

/// RSAES-OAEP key transport of `cek` to the RSA key `recipient`.
pub(crate) fn ktri(
    recipient: &SubjectPublicKeyInfoOwned,
    rid: IssuerAndSerialNumber,
    cek: &[u8],
) -> Result<RecipientInfo> {
    use rsa::pkcs1::DecodeRsaPublicKey;

    let bits = recipient
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::BadPublicKey("the key's BIT STRING has unused bits".into()))?;
    let key = rsa::RsaPublicKey::from_pkcs1_der(bits)
        .map_err(|e| Error::BadPublicKey(format!("RSA public key: {e}")))?;
    let enc_key = key
        .encrypt(
            &mut getrandom::rand_core::UnwrapErr(getrandom::SysRng),
            rsa::Oaep::<Sha256>::new(),
            cek,
        )
        .map_err(|e| Error::Encode(format!("RSAES-OAEP: {e}")))?;
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(rid),
        key_enc_alg: oaep_sha256()?,
        enc_key: OctetString::new(enc_key).map_err(encode_err)?,
    }))
}

/// Opens the challenge of an encryptedPOP for body part `body_part_id`
/// with `key` (the requested RSA key) and checks it against the SHA-256
/// `witness`.
///
/// # Errors
/// [`Error::MalformedContent`] for an EnvelopedData this crate does not
/// make (another recipient, key transport or cipher);
/// [`Error::PopFailed`] if it does not decrypt or the witness does not
/// match (RFC 5272 §6.7 step 3: the client then aborts).
pub fn open_challenge(
    cms: &ContentInfo,
    body_part_id: u32,
    key: &cmc_keys::FileKey,
    witness_alg: &AlgorithmIdentifierOwned,
    witness: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};

    let malformed = |what: &str| Error::MalformedContent(format!("encryptedPOP: {what}"));
    let failed = |reason| Error::PopFailed {
        body_part_id,
        reason,
    };
    if cms.content_type != ID_ENVELOPED_DATA {
        return Err(malformed("the cms field is not an EnvelopedData"));
    }
    if ProofHash::from_digest_oid(&witness_alg.oid) != Some(ProofHash::Sha256) {
        return Err(malformed("the witness is not SHA-256"));
    }
    let enveloped: EnvelopedData = cms
        .content
        .decode_as()
        .map_err(|e: der::Error| malformed(&e.to_string()))?;
    let rid = recipient_id(body_part_id)?;
    let mut cek = None;
    for ri in enveloped.recip_infos.0.iter() {
        match ri {
            RecipientInfo::Ktri(k) if k.rid == rid => {
                if k.key_enc_alg != oaep_sha256()? {
                    return Err(malformed("key transport is not RSAES-OAEP with SHA-256"));
                }
                cek = Some(
                    key.decrypt_rsa_oaep_sha256(k.enc_key.as_bytes())
                        .map_err(|_| failed("the challenge does not decrypt with this key"))?,
                );
            }
            RecipientInfo::Kari(k) => {
                if let Some(found) = open_kari(k, body_part_id, key)? {
                    cek = Some(found);
                }
            }
            _ => {}
        }
        if cek.is_some() {
            break;
        }
    }
    let cek = cek.ok_or_else(|| malformed("no recipient for this request"))?;
    let content = &enveloped.encrypted_content;
    if content.content_enc_alg.oid != ID_AES256_CBC || content.content_type != ID_DATA {
        return Err(malformed("content is not id-data under AES-256-CBC"));
    }
    let iv: OctetString = content
        .content_enc_alg
        .parameters
        .as_ref()
        .ok_or_else(|| malformed("no IV"))?
        .decode_as()
        .map_err(|e: der::Error| malformed(&e.to_string()))?;
    let iv: [u8; 16] = iv
        .as_bytes()
        .try_into()
        .map_err(|_| malformed("the IV is not 16 octets"))?;
    let ciphertext = content
        .encrypted_content
        .as_ref()
        .ok_or_else(|| malformed("no encrypted content"))?;
    let cek: &[u8; 32] = cek
        .as_slice()
        .try_into()
        .map_err(|_| failed("the content key is not 32 octets"))?;
    let challenge = cbc::Decryptor::<aes::Aes256>::new(cek.into(), &iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| failed("the challenge does not decrypt with this key"))?;
    if Sha256::digest(challenge.as_slice()).as_slice() != witness {
        return Err(failed("the challenge does not match its witness"));
    }
    Ok(challenge)
}

/// SHA-256 of a challenge: the encryptedPOP witness.
#[must_use]
pub fn challenge_witness(challenge: &[u8]) -> Vec<u8> {
    Sha256::digest(challenge).to_vec()
}

/// thePOP of a decryptedPOP: HMAC-SHA256 keyed with the challenge (its
/// first 64 octets) over `request`, the DER of the certification request
/// (the `CertificationRequest` of a `tcr`, the `CertReqMsg` of a `crm`).
///
/// # Errors
/// [`Error::Encode`].
pub fn the_pop(challenge: &[u8], request: &[u8]) -> Result<Vec<u8>> {
    ProofHash::Sha256.hmac(&challenge[..challenge.len().min(MAX_POP_KEY)], request)
}

/// Whether `pop` is thePOP for `challenge` and `request`, compared in
/// constant time.
#[must_use]
pub fn verify_the_pop(challenge: &[u8], request: &[u8], pop: &[u8]) -> bool {
    ProofHash::Sha256.verify_hmac(&challenge[..challenge.len().min(MAX_POP_KEY)], request, pop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmc_keys::{KeySpec, SigningKey};

    #[test]
    fn a_challenge_opens_with_its_key_only() {
        let key = cmc_keys::FileKey::generate(KeySpec::Rsa2048).unwrap();
        let challenge = [7u8; 32];
        let ci = envelop_challenge(key.public_key(), 9, &challenge).unwrap();
        let witness = challenge_witness(&challenge);
        let opened = open_challenge(&ci, 9, &key, &sha256(), &witness).unwrap();
        assert_eq!(opened.as_slice(), challenge);
        // Another body part id names no recipient.
        assert!(matches!(
            open_challenge(&ci, 8, &key, &sha256(), &witness),
            Err(Error::MalformedContent(_))
        ));
        // Another key cannot open it.
        let other = cmc_keys::FileKey::generate(KeySpec::Rsa2048).unwrap();
        assert!(matches!(
            open_challenge(&ci, 9, &other, &sha256(), &witness),
            Err(Error::PopFailed { .. })
        ));
        // A wrong witness is refused.
        assert!(matches!(
            open_challenge(&ci, 9, &key, &sha256(), &[0; 32]),
            Err(Error::PopFailed { .. })
        ));
        let pop = the_pop(&challenge, b"request").unwrap();
        assert!(verify_the_pop(&challenge, b"request", &pop));
        assert!(!verify_the_pop(&challenge, b"other request", &pop));
    }

    #[test]
    fn ec_challenges_open_with_their_key_only() {
        for spec in [KeySpec::P256, KeySpec::P384] {
            let key = cmc_keys::FileKey::generate(spec).unwrap();
            let challenge = [9u8; 32];
            let ci = envelop_challenge(key.public_key(), 3, &challenge).unwrap();
            let witness = challenge_witness(&challenge);
            let opened = open_challenge(&ci, 3, &key, &sha256(), &witness).unwrap();
            assert_eq!(opened.as_slice(), challenge);
            let other = cmc_keys::FileKey::generate(spec).unwrap();
            assert!(matches!(
                open_challenge(&ci, 3, &other, &sha256(), &witness),
                Err(Error::PopFailed { .. })
            ));
        }
        let p521 = cmc_keys::FileKey::generate(KeySpec::P521).unwrap();
        assert!(matches!(
            envelop_challenge(p521.public_key(), 1, &[0; 32]),
            Err(Error::BadPublicKey(_))
        ));
    }
}
