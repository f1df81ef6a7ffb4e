//! Encrypted CMC (RFC 5272 §5, §3.2.1.3.2): opening a Full PKI Request or
//! Response that travels inside an EnvelopedData (RFC 5652 §6) or an
//! AuthEnvelopedData (RFC 5083), with the recipient's certificate and key.
//!
//! What opens:
//!
//! - content encryption: AES-128/192/256-CBC (RFC 3565) in EnvelopedData,
//!   AES-128/192/256-GCM with a 12-octet nonce and a 16-octet tag (RFC
//!   5084) in AuthEnvelopedData, authenticated attributes as AAD;
//! - KeyTransRecipientInfo for an RSA key: rsaEncryption (PKCS #1 v1.5)
//!   and RSAES-OAEP with SHA-1 (the default parameters), SHA-256, SHA-384
//!   or SHA-512, MGF1 over any of them, no label (RFC 4055);
//! - KeyAgreeRecipientInfo for a P-256 or P-384 key: ephemeral-static
//!   ECDH, dhSinglePass-stdDH-sha1kdf (OpenSSL's default), -sha256kdf,
//!   -sha384kdf or -sha512kdf, and aes128/192/256-wrap (RFC 5753).
//!
//! The recipient is found by issuerAndSerialNumber or subjectKeyIdentifier
//! of the certificate. Every failure to recover the content-encryption key
//! (PKCS #1 v1.5 padding, OAEP decoding, a point off the curve, a key wrap
//! integrity check, a key of the wrong length) is replaced by a random key
//! of the right length, so that the only failure a sender can see is the
//! content not decrypting ([`Error::Undecryptable`]): no padding oracle
//! (RFC 3218 §2.3.2; PKCS #1 v1.5 also uses the `rsa` crate's implicit
//! rejection; a key on a PKCS #11 token answers a bad v1.5 padding with a
//! random key as well, see `cmc_keys::pkcs11`).
//!
//! The key is any [`DecryptionKey`]: a file key, or a key on a PKCS #11
//! token. A key that fails for a reason of its own (a token that is gone,
//! a key without `CKA_DECRYPT` or `CKA_DERIVE`) is [`Error::Key`], which a
//! server reports as its own internal error: that does not depend on the
//! message.

use cmc_keys::{DecryptionKey, OaepHash, RsaKeyTransport};
use cms::authenveloped_data::AuthEnvelopedData;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo,
    KeyTransRecipientInfo, OriginatorIdentifierOrKey, RecipientIdentifier, RecipientInfo,
    RecipientInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CT_AUTH_ENVELOPED_DATA, ID_ENVELOPED_DATA};
use der::asn1::OctetString;
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use crate::{Error, Result, ber};

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

const AES128_CBC: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.2");
const AES192_CBC: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.22");
const AES256_CBC: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.42");
const AES128_GCM: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.6");
const AES192_GCM: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.26");
const AES256_GCM: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.46");
const AES128_WRAP: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.5");
const AES192_WRAP: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.25");
const AES256_WRAP: ObjectIdentifier = oid("2.16.840.1.101.3.4.1.45");
const RSA_ENCRYPTION: ObjectIdentifier = oid("1.2.840.113549.1.1.1");
/// dhSinglePass-stdDH-sha1kdf-scheme (RFC 5753 §7.1.4).
const STD_DH_SHA1_KDF: ObjectIdentifier = oid("1.3.133.16.840.63.0.2");
const STD_DH_SHA256_KDF: ObjectIdentifier = oid("1.3.132.1.11.1");
const STD_DH_SHA384_KDF: ObjectIdentifier = oid("1.3.132.1.11.2");
const STD_DH_SHA512_KDF: ObjectIdentifier = oid("1.3.132.1.11.3");
const ID_SHA1: ObjectIdentifier = oid("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.3");

/// The GCM nonce length this module opens (RFC 5084 recommends 12).
const GCM_NONCE: usize = 12;
/// The GCM tag length this module opens (OpenSSL's and RFC 5084's default).
const GCM_TAG: usize = 16;

/// Which CMS envelope a message came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeKind {
    /// EnvelopedData (RFC 5652 §6).
    Enveloped,
    /// AuthEnvelopedData (RFC 5083).
    AuthEnveloped,
}

impl EnvelopeKind {
    /// The envelope a ContentInfo of this `content_type` is, if any.
    #[must_use]
    pub fn of(content_type: &ObjectIdentifier) -> Option<Self> {
        match *content_type {
            t if t == ID_ENVELOPED_DATA => Some(Self::Enveloped),
            t if t == ID_CT_AUTH_ENVELOPED_DATA => Some(Self::AuthEnveloped),
            _ => None,
        }
    }
}

/// What an envelope held.
pub struct Opened {
    /// The envelope it came in.
    pub kind: EnvelopeKind,
    /// The content type of the encrypted content (id-signedData as RFC
    /// 5272 §5 prescribes, or id-data from `openssl cms -encrypt`).
    pub content_type: ObjectIdentifier,
    /// The decrypted content octets.
    pub content: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("kind", &self.kind)
            .field("content_type", &self.content_type)
            .field("len", &self.content.len())
            .finish()
    }
}

impl Opened {
    /// The content as the DER of a ContentInfo: id-signedData content (a
    /// SignedData) gets its ContentInfo; id-data content is taken to be a
    /// ContentInfo already (what `openssl cms -encrypt` of a CMC request
    /// file makes); an envelope inside an envelope likewise.
    ///
    /// # Errors
    /// [`Error::Undecryptable`] if id-signedData content does not decode.
    pub fn content_info_der(&self) -> Result<Vec<u8>> {
        use const_oid::db::rfc5911::ID_SIGNED_DATA;
        if self.content_type != ID_SIGNED_DATA && EnvelopeKind::of(&self.content_type).is_none() {
            return Ok(self.content.to_vec());
        }
        let content = der::Any::from_der(&self.content)
            .map_err(|_| Error::Undecryptable("the decrypted content is not DER"))?;
        ContentInfo {
            content_type: self.content_type,
            content,
        }
        .to_der()
        .map_err(crate::error::encode_err)
    }
}

/// Whether `input` (BER or DER) is a ContentInfo holding an envelope, and
/// which; `None` for anything else, including what does not decode.
#[must_use]
pub fn envelope_kind(input: &[u8]) -> Option<EnvelopeKind> {
    // Only the outer tag, length and the contentType OID are read.
    let mut reader = der::SliceReader::new(input).ok()?;
    let header = der::Header::decode(&mut reader).ok()?;
    if header.tag() != der::Tag::Sequence {
        return None;
    }
    let oid = ObjectIdentifier::decode(&mut reader).ok()?;
    EnvelopeKind::of(&oid)
}

/// Opens the envelope `input` (a ContentInfo, BER or DER, at most
/// `max_input` octets) with `certificate` and its `key`.
///
/// # Errors
/// [`Error::TooLarge`], [`Error::Malformed`], [`Error::NotCms`] for input
/// that is not a ContentInfo; [`Error::Undecryptable`] for an envelope
/// that is not addressed to `certificate`, does not decode or does not
/// decrypt; [`Error::UnsupportedAlgorithm`] for a content or key
/// encryption algorithm this module does not open; [`Error::Key`] when the
/// key fails for a reason of its own (see the module documentation).
pub fn open(
    input: &[u8],
    certificate: &Certificate,
    key: &dyn DecryptionKey,
    max_input: usize,
) -> Result<Opened> {
    let env = Envelope::parse(input, max_input)?;
    let cek = content_key(&env.infos, &env.content, certificate, key)?;
    env.decrypt(&cek)
}

/// Opens the envelope `input` with `key` alone, as `openssl cms -decrypt
/// -inkey` does without `-recip`: every key transport or agreement the key
/// can do is tried, and the first content key that decrypts the content
/// wins. For a client reading its own messages; a server uses [`open`],
/// which has no such oracle.
///
/// # Errors
/// As [`open`].
pub fn open_with_key(input: &[u8], key: &dyn DecryptionKey, max_input: usize) -> Result<Opened> {
    let env = Envelope::parse(input, max_input)?;
    let (len, _) = content_cipher(&env.content.content_enc_alg)?;
    let mut last = Error::Undecryptable("no RecipientInfo is for this key");
    for info in env.infos.0.iter() {
        let candidates = match info {
            RecipientInfo::Ktri(k) => vec![open_ktri(k, key, len)],
            RecipientInfo::Kari(k) => k
                .recipient_enc_keys
                .iter()
                .map(|r| open_kari(k, r.enc_key.as_bytes(), key))
                .collect(),
            _ => continue,
        };
        for cek in candidates {
            match cek {
                Ok(Some(cek)) if cek.len() == len => match env.decrypt(&cek) {
                    Ok(opened) => return Ok(opened),
                    Err(e) => last = e,
                },
                Ok(_) => {}
                Err(e @ Error::Key(_)) => return Err(e),
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

/// An envelope, decoded.
struct Envelope {
    kind: EnvelopeKind,
    infos: RecipientInfos,
    content: EncryptedContentInfo,
    /// The authenticated attributes (AuthEnvelopedData), DER.
    aad: Vec<u8>,
    /// The GCM tag (AuthEnvelopedData).
    mac: Vec<u8>,
}

impl Envelope {
    fn parse(input: &[u8], max_input: usize) -> Result<Self> {
        if input.len() > max_input {
            return Err(Error::TooLarge {
                len: input.len(),
                max: max_input,
            });
        }
        let (der, _) = ber::to_der(input)?;
        let ci = ContentInfo::from_der(&der).map_err(|e| Error::NotCms(e.to_string()))?;
        let malformed = |_| Error::Undecryptable("the envelope does not decode");
        match EnvelopeKind::of(&ci.content_type) {
            Some(EnvelopeKind::Enveloped) => {
                let env: EnvelopedData = ci.content.decode_as().map_err(malformed)?;
                Ok(Self {
                    kind: EnvelopeKind::Enveloped,
                    infos: env.recip_infos,
                    content: env.encrypted_content,
                    aad: Vec::new(),
                    mac: Vec::new(),
                })
            }
            Some(EnvelopeKind::AuthEnveloped) => {
                let env: AuthEnvelopedData = ci.content.decode_as().map_err(malformed)?;
                let aad = match &env.auth_attrs {
                    Some(attrs) => attrs.to_der().map_err(crate::error::encode_err)?,
                    None => Vec::new(),
                };
                Ok(Self {
                    kind: EnvelopeKind::AuthEnveloped,
                    infos: env.recip_infos,
                    content: env.auth_encrypted_content_info,
                    aad,
                    mac: env.mac.as_bytes().to_vec(),
                })
            }
            None => Err(Error::NotCms(format!(
                "ContentInfo holds {}, not an EnvelopedData or AuthEnvelopedData",
                ci.content_type
            ))),
        }
    }

    fn decrypt(&self, cek: &[u8]) -> Result<Opened> {
        let content = match self.kind {
            EnvelopeKind::Enveloped => decrypt_cbc(&self.content, cek)?,
            EnvelopeKind::AuthEnveloped => decrypt_gcm(&self.content, cek, &self.aad, &self.mac)?,
        };
        Ok(Opened {
            kind: self.kind,
            content_type: self.content.content_type,
            content,
        })
    }
}

/// The AES key length of a content encryption algorithm, and whether it
/// is GCM.
fn content_cipher(alg: &AlgorithmIdentifierOwned) -> Result<(usize, bool)> {
    match alg.oid {
        o if o == AES128_CBC => Ok((16, false)),
        o if o == AES192_CBC => Ok((24, false)),
        o if o == AES256_CBC => Ok((32, false)),
        o if o == AES128_GCM => Ok((16, true)),
        o if o == AES192_GCM => Ok((24, true)),
        o if o == AES256_GCM => Ok((32, true)),
        oid => Err(Error::UnsupportedAlgorithm { oid }),
    }
}

/// The content-encryption key from the recipient info addressed to
/// `certificate`; a random key of the right length when it cannot be
/// recovered (see the module documentation).
fn content_key(
    infos: &RecipientInfos,
    content: &EncryptedContentInfo,
    certificate: &Certificate,
    key: &dyn DecryptionKey,
) -> Result<Zeroizing<Vec<u8>>> {
    let (len, _) = content_cipher(&content.content_enc_alg)?;
    let ias = IssuerAndSerialNumber {
        issuer: certificate.tbs_certificate().issuer().clone(),
        serial_number: certificate.tbs_certificate().serial_number().clone(),
    };
    let ski = subject_key_identifier(certificate);
    let ours_ktri = |rid: &RecipientIdentifier| match rid {
        RecipientIdentifier::IssuerAndSerialNumber(i) => *i == ias,
        RecipientIdentifier::SubjectKeyIdentifier(s) => Some(s) == ski.as_ref(),
    };
    let ours_kari = |rid: &KeyAgreeRecipientIdentifier| match rid {
        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(i) => *i == ias,
        KeyAgreeRecipientIdentifier::RKeyId(r) => Some(&r.subject_key_identifier) == ski.as_ref(),
    };
    // Drawn before anything is decrypted, so that a key that does not
    // come out costs the same as one that does.
    let fallback = random_key(len)?;
    for info in infos.0.iter() {
        let recovered = match info {
            RecipientInfo::Ktri(k) if ours_ktri(&k.rid) => open_ktri(k, key, len)?,
            RecipientInfo::Kari(k) => {
                let Some(ours) = k.recipient_enc_keys.iter().find(|r| ours_kari(&r.rid)) else {
                    continue;
                };
                open_kari(k, ours.enc_key.as_bytes(), key)?
            }
            _ => continue,
        };
        return Ok(match recovered {
            Some(cek) if cek.len() == len => cek,
            _ => fallback,
        });
    }
    Err(Error::Undecryptable(
        "no RecipientInfo is addressed to the CA's encryption certificate",
    ))
}

fn random_key(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(out.as_mut_slice()).map_err(|e| Error::Encode(format!("random: {e}")))?;
    Ok(out)
}

/// The subjectKeyIdentifier extension of `cert`, if it has one.
pub(crate) fn subject_key_identifier(cert: &Certificate) -> Option<SubjectKeyIdentifier> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
        .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
}

/// `RSAES-OAEP-params` (RFC 4055 §4.1); a pSourceFunc other than the
/// default (an empty label) does not decode, so is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
struct OaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
}

/// The RSA padding a KeyTransRecipientInfo names.
fn rsa_padding(alg: &AlgorithmIdentifierOwned) -> Result<RsaKeyTransport> {
    if alg.oid == RSA_ENCRYPTION {
        return Ok(RsaKeyTransport::Pkcs1v15);
    }
    if alg.oid != crate::envelope::ID_RSAES_OAEP {
        return Err(Error::UnsupportedAlgorithm { oid: alg.oid });
    }
    let bad = || Error::UnsupportedAlgorithm { oid: alg.oid };
    let params = match &alg.parameters {
        None => OaepParams::default(),
        Some(p) => p.decode_as().map_err(|_| bad())?,
    };
    let hash = params.hash.as_ref().map_or(ID_SHA1, |h| h.oid);
    let mgf_hash = match &params.mask_gen {
        None => ID_SHA1,
        Some(m) if m.oid == crate::envelope::ID_MGF1 => m
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
            .map(|h| h.oid)
            .ok_or_else(bad)?,
        Some(_) => return Err(bad()),
    };
    let of = |oid| match oid {
        h if h == ID_SHA1 => Ok(OaepHash::Sha1),
        h if h == ID_SHA256 => Ok(OaepHash::Sha256),
        h if h == ID_SHA384 => Ok(OaepHash::Sha384),
        h if h == ID_SHA512 => Ok(OaepHash::Sha512),
        oid => Err(Error::UnsupportedAlgorithm { oid }),
    };
    Ok(RsaKeyTransport::Oaep {
        hash: of(hash)?,
        mgf1: of(mgf_hash)?,
    })
}

/// What a key's failure means here: `None` (the content key does not come
/// out, which ends as the content not decrypting) for anything about the
/// message, [`Error::Key`] for a failure of the key itself.
fn key_result(
    result: std::result::Result<Zeroizing<Vec<u8>>, cmc_keys::Error>,
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    match result {
        Ok(key) => Ok(Some(key)),
        Err(cmc_keys::Error::Decrypt | cmc_keys::Error::UnsupportedKey(_)) => Ok(None),
        Err(e) => Err(Error::Key(e)),
    }
}

/// The content key (of `len` octets) of a KeyTransRecipientInfo addressed
/// to us; `None` if it does not decrypt.
pub(crate) fn open_ktri(
    ktri: &KeyTransRecipientInfo,
    key: &dyn DecryptionKey,
    len: usize,
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let padding = rsa_padding(&ktri.key_enc_alg)?;
    if key.public_key().algorithm.oid != RSA_ENCRYPTION {
        return Err(Error::UnsupportedAlgorithm {
            oid: ktri.key_enc_alg.oid,
        });
    }
    match key.rsa_decrypt(padding, ktri.enc_key.as_bytes(), len) {
        // A token without these OAEP parameters: the algorithm (public, as
        // the sender chose it) is what the CA cannot do.
        Err(cmc_keys::Error::MechanismUnsupported { .. }) => Err(Error::UnsupportedAlgorithm {
            oid: ktri.key_enc_alg.oid,
        }),
        result => key_result(result),
    }
}

/// `ECC-CMS-SharedInfo` (RFC 5753 §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct SharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

/// The content key of a KeyAgreeRecipientInfo whose `wrapped` key is
/// addressed to us; `None` if it does not unwrap.
pub(crate) fn open_kari(
    kari: &KeyAgreeRecipientInfo,
    wrapped: &[u8],
    key: &dyn DecryptionKey,
) -> Result<Option<Zeroizing<Vec<u8>>>> {
    use aes_kw::KeyInit;

    let scheme = kari.key_enc_alg.oid;
    let hash = match scheme {
        s if s == STD_DH_SHA1_KDF => KdfHash::Sha1,
        s if s == STD_DH_SHA256_KDF => KdfHash::Sha256,
        s if s == STD_DH_SHA384_KDF => KdfHash::Sha384,
        s if s == STD_DH_SHA512_KDF => KdfHash::Sha512,
        oid => return Err(Error::UnsupportedAlgorithm { oid }),
    };
    let wrap: AlgorithmIdentifierOwned = kari
        .key_enc_alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok())
        .ok_or(Error::UnsupportedAlgorithm { oid: scheme })?;
    let kek_len = match wrap.oid {
        o if o == AES128_WRAP => 16,
        o if o == AES192_WRAP => 24,
        o if o == AES256_WRAP => 32,
        oid => return Err(Error::UnsupportedAlgorithm { oid }),
    };
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(Error::UnsupportedAlgorithm { oid: scheme });
    };
    let Some(point) = originator.public_key.as_bytes() else {
        return Ok(None);
    };
    let Some(z) = key_result(key.ecdh(point))? else {
        return Ok(None);
    };
    let info = SharedInfo {
        key_info: AlgorithmIdentifierOwned {
            oid: wrap.oid,
            parameters: None,
        },
        entity_u_info: kari.ukm.clone(),
        supp_pub_info: OctetString::new(
            u32::try_from(kek_len * 8)
                .unwrap_or(256)
                .to_be_bytes()
                .to_vec(),
        )
        .map_err(crate::error::encode_err)?,
    }
    .to_der()
    .map_err(crate::error::encode_err)?;
    let kek = x963_kdf(hash, &z, &info, kek_len);
    let mut cek = Zeroizing::new(vec![0u8; wrapped.len().saturating_sub(aes_kw::IV_LEN)]);
    let unwrapped = match kek_len {
        16 => aes_kw::KwAes128::new_from_slice(&kek)
            .ok()
            .and_then(|kw| kw.unwrap_key(wrapped, &mut cek).ok().map(|_| ())),
        24 => aes_kw::KwAes192::new_from_slice(&kek)
            .ok()
            .and_then(|kw| kw.unwrap_key(wrapped, &mut cek).ok().map(|_| ())),
        _ => aes_kw::KwAes256::new_from_slice(&kek)
            .ok()
            .and_then(|kw| kw.unwrap_key(wrapped, &mut cek).ok().map(|_| ())),
    };
    Ok(unwrapped.map(|()| cek))
}

/// The hash of an X9.63 KDF.
#[derive(Clone, Copy)]
enum KdfHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// ANSI X9.63 KDF (RFC 5753 §3.1.1): H(Z ‖ counter ‖ SharedInfo) for
/// counter = 1, 2, ... until `len` octets.
fn x963_kdf(hash: KdfHash, z: &[u8], info: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    use sha2::Digest;
    fn block<D: Digest>(z: &[u8], counter: u32, info: &[u8]) -> Vec<u8> {
        D::new()
            .chain_update(z)
            .chain_update(counter.to_be_bytes())
            .chain_update(info)
            .finalize()
            .to_vec()
    }
    let mut out = Zeroizing::new(Vec::with_capacity(len + 64));
    let mut counter = 1u32;
    while out.len() < len {
        let b = Zeroizing::new(match hash {
            KdfHash::Sha1 => block::<sha1::Sha1>(z, counter, info),
            KdfHash::Sha256 => block::<sha2::Sha256>(z, counter, info),
            KdfHash::Sha384 => block::<sha2::Sha384>(z, counter, info),
            KdfHash::Sha512 => block::<sha2::Sha512>(z, counter, info),
        });
        out.extend_from_slice(&b);
        counter += 1;
    }
    out.truncate(len);
    out
}

/// The one failure a sender sees when the content does not open.
const DOES_NOT_DECRYPT: Error =
    Error::Undecryptable("the content does not decrypt with the CA's encryption key");

fn decrypt_cbc(content: &EncryptedContentInfo, cek: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};

    let alg = &content.content_enc_alg;
    let (_, gcm) = content_cipher(alg)?;
    if gcm {
        // GCM belongs in AuthEnvelopedData (RFC 5084 §3).
        return Err(Error::UnsupportedAlgorithm { oid: alg.oid });
    }
    let iv: OctetString = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok())
        .ok_or(Error::Undecryptable("the content encryption has no IV"))?;
    let ciphertext = content
        .encrypted_content
        .as_ref()
        .ok_or(Error::Undecryptable(
            "the envelope has no encrypted content",
        ))?
        .as_bytes();
    let iv = iv.as_bytes();
    let plain = match cek.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(cek, iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(ciphertext)),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(cek, iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(ciphertext)),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(cek, iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(ciphertext)),
    };
    match plain {
        Ok(Ok(p)) => Ok(Zeroizing::new(p)),
        Ok(Err(_)) => Err(DOES_NOT_DECRYPT),
        Err(_) => Err(Error::Undecryptable("the IV is not 16 octets")),
    }
}

/// `GCMParameters` (RFC 5084 §3.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct GcmParameters {
    pub(crate) nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    pub(crate) icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

pub(crate) fn decrypt_gcm(
    content: &EncryptedContentInfo,
    cek: &[u8],
    aad: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::aes::{Aes128, Aes192, Aes256};
    use aes_gcm::{AesGcm, Nonce, aead::consts::U12};

    let alg = &content.content_enc_alg;
    let (_, gcm) = content_cipher(alg)?;
    if !gcm {
        return Err(Error::UnsupportedAlgorithm { oid: alg.oid });
    }
    let params: GcmParameters = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok())
        .ok_or(Error::Undecryptable("the GCM parameters do not decode"))?;
    if params.nonce.as_bytes().len() != GCM_NONCE
        || usize::from(params.icv_len) != GCM_TAG
        || tag.len() != GCM_TAG
    {
        return Err(Error::UnsupportedAlgorithm { oid: alg.oid });
    }
    let ciphertext = content
        .encrypted_content
        .as_ref()
        .ok_or(Error::Undecryptable(
            "the envelope has no encrypted content",
        ))?
        .as_bytes();
    let mut msg = Vec::with_capacity(ciphertext.len() + GCM_TAG);
    msg.extend_from_slice(ciphertext);
    msg.extend_from_slice(tag);
    let nonce = Nonce::<U12>::try_from(params.nonce.as_bytes())
        .map_err(|_| Error::Undecryptable("the GCM nonce is not 12 octets"))?;
    let payload = Payload { msg: &msg, aad };
    let plain = match cek.len() {
        16 => AesGcm::<Aes128, U12>::new_from_slice(cek)
            .map(|c| c.decrypt(&nonce, payload).map_err(|_| ())),
        24 => AesGcm::<Aes192, U12>::new_from_slice(cek)
            .map(|c| c.decrypt(&nonce, payload).map_err(|_| ())),
        _ => AesGcm::<Aes256, U12>::new_from_slice(cek)
            .map(|c| c.decrypt(&nonce, payload).map_err(|_| ())),
    };
    match plain {
        Ok(Ok(p)) => Ok(Zeroizing::new(p)),
        _ => Err(DOES_NOT_DECRYPT),
    }
}
