//! One AuthEnvelopedData (RFC 5083) to several recipients: what the CA's
//! encrypted backups are (`cmc_ca::backup`), so that any one of several
//! administrators opens them with their own key.
//!
//! Content encryption is AES-256-GCM (RFC 5084: a 12-octet random nonce,
//! a 16-octet tag): a changed octet of the ciphertext, the nonce or the tag
//! does not decrypt. The content key goes to each recipient certificate as
//! [`crate::encrypt`] sends it to one: RSAES-OAEP with SHA-256 for an RSA
//! key (KeyTransRecipientInfo), ephemeral-static ECDH with the X9.63 KDF
//! and aes256-wrap for a P-256 or P-384 key (KeyAgreeRecipientInfo), the
//! recipient named by issuerAndSerialNumber.
//!
//! GCM does not cover the RecipientInfos, which the key of one recipient
//! never reads for another, nor the content type. So that a change there
//! is noticed too, [`Sealer::header_digest`] is the SHA-256 of the DER of
//! the RecipientInfos, the content type and the content encryption
//! AlgorithmIdentifier (with its nonce), known before the content is
//! encrypted: the caller puts it inside the content, and compares it with
//! [`Envelope::header_digest`] after opening.

use cms::authenticated_data::MessageAuthenticationCode;
use cms::authenveloped_data::AuthEnvelopedData;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, KeyAgreeRecipientIdentifier, RecipientIdentifier, RecipientInfo,
    RecipientInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::ID_CT_AUTH_ENVELOPED_DATA;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::decrypt::GcmParameters;
use crate::error::encode_err;
use crate::{Error, Result};

/// id-aes256-GCM (RFC 5084).
pub const ID_AES256_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.46");

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A content key wrapped for every recipient, and the nonce it will
/// encrypt under: [`Sealer::seal`] makes the AuthEnvelopedData.
pub struct Sealer {
    cek: Zeroizing<[u8; 32]>,
    infos: RecipientInfos,
    content_type: ObjectIdentifier,
    alg: AlgorithmIdentifierOwned,
    nonce: [u8; NONCE_LEN],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("recipients", &self.infos.0.len())
            .finish_non_exhaustive()
    }
}

/// Why a certificate cannot be a recipient, or `None` if it can.
fn recipient_problem(cert: &Certificate) -> Option<&'static str> {
    if crate::encrypt::can_encrypt_to(cert) {
        None
    } else {
        Some(
            "its key cannot receive encrypted content (RSA with keyEncipherment, P-256 or P-384 with keyAgreement)",
        )
    }
}

impl Sealer {
    /// A fresh AES-256 content key, wrapped for each of `recipients`, for
    /// content of `content_type`.
    ///
    /// # Errors
    /// [`Error::BadPublicKey`] naming the first certificate (by position)
    /// whose key cannot receive it, or for no recipient at all;
    /// [`Error::Encode`].
    pub fn new(recipients: &[Certificate], content_type: ObjectIdentifier) -> Result<Self> {
        if recipients.is_empty() {
            return Err(Error::BadPublicKey("no recipient".into()));
        }
        let mut cek = Zeroizing::new([0u8; 32]);
        getrandom::fill(cek.as_mut()).map_err(|e| Error::Encode(format!("random: {e}")))?;
        let mut set = SetOfVec::new();
        for (i, cert) in recipients.iter().enumerate() {
            if let Some(why) = recipient_problem(cert) {
                return Err(Error::BadPublicKey(format!("recipient {}: {why}", i + 1)));
            }
            let tbs = cert.tbs_certificate();
            let rid = IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            };
            let spki = tbs.subject_public_key_info();
            let info = match crate::envelope::Curve::of(spki) {
                Some(curve) => crate::envelope::kari(curve, spki, rid, cek.as_ref())?,
                None => crate::envelope::ktri(spki, rid, cek.as_ref())?,
            };
            set.insert(info).map_err(encode_err)?;
        }
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| Error::Encode(format!("random: {e}")))?;
        let params = GcmParameters {
            nonce: OctetString::new(nonce.to_vec()).map_err(encode_err)?,
            icv_len: u8::try_from(TAG_LEN).unwrap_or(16),
        };
        let alg = AlgorithmIdentifierOwned {
            oid: ID_AES256_GCM,
            parameters: Some(Any::encode_from(&params).map_err(encode_err)?),
        };
        Ok(Self {
            cek,
            infos: RecipientInfos(set),
            content_type,
            alg,
            nonce,
        })
    }

    /// SHA-256 over the DER of the RecipientInfos, the content type and
    /// the content encryption algorithm: what [`Envelope::header_digest`]
    /// gives back.
    ///
    /// # Errors
    /// [`Error::Encode`].
    pub fn header_digest(&self) -> Result<[u8; 32]> {
        header_digest(&self.infos, &self.content_type, &self.alg)
    }

    /// Encrypts `content` into the DER of a ContentInfo holding the
    /// AuthEnvelopedData.
    ///
    /// # Errors
    /// [`Error::Encode`].
    pub fn seal(self, content: &[u8]) -> Result<Vec<u8>> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        use aes_gcm::{Aes256Gcm, Nonce};

        let cipher = Aes256Gcm::new_from_slice(self.cek.as_ref())
            .map_err(|e| Error::Encode(format!("AES-256-GCM key: {e}")))?;
        let nonce = Nonce::try_from(&self.nonce[..])
            .map_err(|_| Error::Encode("AES-256-GCM nonce".into()))?;
        let mut buffer = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: content,
                    aad: &[],
                },
            )
            .map_err(|e| Error::Encode(format!("AES-256-GCM: {e}")))?;
        let tag = buffer.split_off(buffer.len().saturating_sub(TAG_LEN));
        let env = AuthEnvelopedData {
            version: CmsVersion::V0,
            originator_info: None,
            recip_infos: self.infos,
            auth_encrypted_content_info: EncryptedContentInfo {
                content_type: self.content_type,
                content_enc_alg: self.alg,
                encrypted_content: Some(OctetString::new(buffer).map_err(encode_err)?),
            },
            auth_attrs: None,
            mac: MessageAuthenticationCode::new(tag).map_err(encode_err)?,
            unauth_attrs: None,
        };
        ContentInfo {
            content_type: ID_CT_AUTH_ENVELOPED_DATA,
            content: Any::encode_from(&env).map_err(encode_err)?,
        }
        .to_der()
        .map_err(encode_err)
    }
}

fn header_digest(
    infos: &RecipientInfos,
    content_type: &ObjectIdentifier,
    alg: &AlgorithmIdentifierOwned,
) -> Result<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(infos.to_der().map_err(encode_err)?);
    h.update(content_type.to_der().map_err(encode_err)?);
    h.update(alg.to_der().map_err(encode_err)?);
    Ok(h.finalize().into())
}

/// One recipient of an envelope, as its RecipientInfo names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// `"RSA key transport"` or `"ECDH key agreement"`, with the
    /// algorithm's OID.
    pub method: String,
    /// The certificate's issuer (RFC 4514) and serial (hex), or its
    /// subjectKeyIdentifier (hex).
    pub names: Vec<String>,
}

/// An envelope decoded but not opened.
#[derive(Debug)]
pub struct Envelope {
    env: AuthEnvelopedData,
}

impl Envelope {
    /// Decodes `input`: the DER (strictly: BER or trailing octets are
    /// refused) of a ContentInfo holding an AuthEnvelopedData with
    /// AES-256-GCM content encryption.
    ///
    /// # Errors
    /// [`Error::NotCms`] for anything else, saying what.
    pub fn parse(input: &[u8]) -> Result<Self> {
        let ci = ContentInfo::from_der(input)
            .map_err(|e| Error::NotCms(format!("not a DER ContentInfo: {e}")))?;
        if ci.content_type != ID_CT_AUTH_ENVELOPED_DATA {
            return Err(Error::NotCms(format!(
                "the ContentInfo holds {}, not an AuthEnvelopedData",
                ci.content_type
            )));
        }
        let env: AuthEnvelopedData = ci
            .content
            .decode_as()
            .map_err(|e: der::Error| Error::NotCms(format!("AuthEnvelopedData: {e}")))?;
        if env.version != CmsVersion::V0 {
            return Err(Error::NotCms("AuthEnvelopedData version is not 0".into()));
        }
        if env.auth_encrypted_content_info.content_enc_alg.oid != ID_AES256_GCM {
            return Err(Error::UnsupportedAlgorithm {
                oid: env.auth_encrypted_content_info.content_enc_alg.oid,
            });
        }
        Ok(Self { env })
    }

    /// The content type of the encrypted content.
    #[must_use]
    pub fn content_type(&self) -> ObjectIdentifier {
        self.env.auth_encrypted_content_info.content_type
    }

    /// The size of the encrypted content.
    #[must_use]
    pub fn encrypted_len(&self) -> usize {
        self.env
            .auth_encrypted_content_info
            .encrypted_content
            .as_ref()
            .map_or(0, |c| c.as_bytes().len())
    }

    /// The recipients, in the order of the RecipientInfos.
    #[must_use]
    pub fn recipients(&self) -> Vec<Recipient> {
        self.env
            .recip_infos
            .0
            .iter()
            .map(|info| match info {
                RecipientInfo::Ktri(k) => Recipient {
                    method: format!("RSA key transport ({})", k.key_enc_alg.oid),
                    names: vec![match &k.rid {
                        RecipientIdentifier::IssuerAndSerialNumber(i) => ias_text(i),
                        RecipientIdentifier::SubjectKeyIdentifier(s) => {
                            format!("subjectKeyIdentifier {}", hex(s.0.as_bytes()))
                        }
                    }],
                },
                RecipientInfo::Kari(k) => Recipient {
                    method: format!("ECDH key agreement ({})", k.key_enc_alg.oid),
                    names: k
                        .recipient_enc_keys
                        .iter()
                        .map(|r| match &r.rid {
                            KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(i) => ias_text(i),
                            KeyAgreeRecipientIdentifier::RKeyId(r) => format!(
                                "subjectKeyIdentifier {}",
                                hex(r.subject_key_identifier.0.as_bytes())
                            ),
                        })
                        .collect(),
                },
                _ => Recipient {
                    method: "another kind of recipient".into(),
                    names: Vec::new(),
                },
            })
            .collect()
    }

    /// SHA-256 over the DER of the RecipientInfos, the content type and
    /// the content encryption algorithm, as found (see the module documentation).
    ///
    /// # Errors
    /// [`Error::Encode`].
    pub fn header_digest(&self) -> Result<[u8; 32]> {
        header_digest(
            &self.env.recip_infos,
            &self.env.auth_encrypted_content_info.content_type,
            &self.env.auth_encrypted_content_info.content_enc_alg,
        )
    }

    /// Decrypts with `key`: every RecipientInfo the key can use is tried,
    /// and the first content key under which the content authenticates
    /// wins.
    ///
    /// # Errors
    /// [`Error::Undecryptable`] when no RecipientInfo yields a key that
    /// authenticates the content (the wrong key, or a changed envelope).
    pub fn open(&self, key: &dyn cmc_keys::DecryptionKey) -> Result<Zeroizing<Vec<u8>>> {
        let content = &self.env.auth_encrypted_content_info;
        let params: GcmParameters = content
            .content_enc_alg
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok())
            .ok_or(Error::Undecryptable("the GCM parameters do not decode"))?;
        if params.nonce.as_bytes().len() != NONCE_LEN
            || usize::from(params.icv_len) != TAG_LEN
            || self.env.mac.as_bytes().len() != TAG_LEN
        {
            return Err(Error::Undecryptable(
                "the GCM nonce or tag has the wrong length",
            ));
        }
        let aad = match &self.env.auth_attrs {
            Some(attrs) => attrs.to_der().map_err(encode_err)?,
            None => Vec::new(),
        };
        let mut found_one = false;
        for info in self.env.recip_infos.0.iter() {
            let candidates = match info {
                RecipientInfo::Ktri(k) => {
                    vec![crate::decrypt::open_ktri(k, key, 32).ok().flatten()]
                }
                RecipientInfo::Kari(k) => k
                    .recipient_enc_keys
                    .iter()
                    .map(|r| {
                        crate::decrypt::open_kari(k, r.enc_key.as_bytes(), key)
                            .ok()
                            .flatten()
                    })
                    .collect(),
                _ => continue,
            };
            for cek in candidates.into_iter().flatten() {
                if cek.len() != 32 {
                    continue;
                }
                found_one = true;
                if let Ok(plain) =
                    crate::decrypt::decrypt_gcm(content, &cek, &aad, self.env.mac.as_bytes())
                {
                    return Ok(plain);
                }
            }
        }
        Err(Error::Undecryptable(if found_one {
            "the content does not authenticate under the key (the file was changed)"
        } else {
            "no recipient of this envelope is this key"
        }))
    }
}

fn ias_text(i: &IssuerAndSerialNumber) -> String {
    format!(
        "issuer {}, serial {}",
        i.issuer,
        hex(i.serial_number.as_bytes())
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
