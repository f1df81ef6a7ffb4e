//! CMS AuthenticatedData (RFC 5652 §9) keyed by a shared secret through a
//! PasswordRecipientInfo (§6.2.4): what RFC 5272 §3.2 asks of a Full PKI
//! Request authenticated by a shared secret, and what carries the
//! id-cmc-authData control's PKIData back (§6.16).
//!
//! The construction, both sides:
//!
//! - the password is the identification (UTF-8) followed by the shared
//!   secret (RFC 5272 §3.2, [`password`]);
//! - keyDerivationAlgorithm is PBKDF2 (RFC 8018 §5.2) with a salt of
//!   [`MIN_SALT`] to [`MAX_SALT`] octets and [`MIN_ITERATIONS`] to
//!   [`MAX_ITERATIONS`] iterations, checked before anything is derived;
//!   the PRF is HMAC-SHA256 (produced), HMAC-SHA384/512, or HMAC-SHA1,
//!   which is accepted because it is PBKDF2-params' DEFAULT (a producer
//!   that omits the prf means it) and BouncyCastle's
//!   PasswordRecipientInfoGenerator uses it unless told otherwise; as a PRF
//!   inside PBKDF2 its collision weakness does not apply;
//! - keyEncryptionAlgorithm is AES key wrap (RFC 3394, id-aes256-wrap
//!   produced, 128 and 192 accepted), which RFC 5274 §2 makes the MUST, or
//!   id-alg-PWRI-KEK with AES-CBC (RFC 3211 §2.3, accepted: OpenSSL and
//!   BouncyCastle write it);
//! - the MAC key is random, as long as the MAC's hash output, and the MAC
//!   is HMAC-SHA256 (produced), HMAC-SHA384 or HMAC-SHA512 over the DER of
//!   the authenticated attributes (with the SET OF tag, §9.2);
//! - the authenticated attributes hold contentType, messageDigest (SHA-256
//!   produced; 384/512 accepted) and, produced always, signingTime. Both
//!   contentType and messageDigest are checked after the MAC: a MAC over
//!   attributes says nothing about a content whose digest they do not
//!   hold, and without that check the eContent could be swapped.
//!
//! Every failure to authenticate (a wrong secret, a key that does not
//! unwrap, a MAC that does not verify) is the one error
//! [`Error::AuthDataMac`], so the answer does not tell which step failed.

use std::time::SystemTime;

use cms::authenticated_data::AuthenticatedData;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{PasswordRecipientInfo, RecipientInfo, RecipientInfos};
use cms::signed_data::EncapsulatedContentInfo;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{
    ID_AES_128_CBC, ID_AES_128_WRAP, ID_AES_192_CBC, ID_AES_192_WRAP, ID_AES_256_CBC,
    ID_AES_256_WRAP, ID_CONTENT_TYPE, ID_CT_AUTH_DATA, ID_MESSAGE_DIGEST, ID_PBKDF_2,
    ID_SIGNING_TIME,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::time::Time;
use zeroize::Zeroizing;

use crate::error::encode_err;
use crate::identity::ProofHash;
use crate::pwri::{aes_kw_unwrap, aes_kw_wrap, derive, pwri_kek_unwrap, pwri_kek_wrap};
use crate::{Error, Result, ber};

/// id-alg-PWRI-KEK (RFC 3211 §2.3).
pub const ID_ALG_PWRI_KEK: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.9");

/// Fewest PBKDF2 iterations accepted (RFC 8018 §4.2 recommends at least
/// 1000).
pub const MIN_ITERATIONS: u32 = 1_000;
/// Most PBKDF2 iterations accepted: what one unauthenticated request can
/// make the server compute is bounded (four times [`DEFAULT_ITERATIONS`]).
pub const MAX_ITERATIONS: u32 = 200_000;
/// The iterations produced. The secrets are at least 16 characters (the
/// generated ones 160 random bits), so the count slows guessing without
/// having to carry the whole weight of a human password.
pub const DEFAULT_ITERATIONS: u32 = 50_000;
/// Shortest salt accepted (RFC 8018 §4.1: at least eight octets).
pub const MIN_SALT: usize = 8;
/// Longest salt accepted.
pub const MAX_SALT: usize = 64;
/// The salt length produced.
const SALT_LEN: usize = 16;
/// Most RecipientInfos looked at.
const MAX_RECIPIENTS: usize = 8;
/// Shortest MAC key accepted once unwrapped.
const MIN_MAC_KEY: usize = 16;
/// Longest wrapped key accepted.
const MAX_WRAPPED_KEY: usize = 256;

/// `PBKDF2-params` (RFC 8018 appendix A.2), with the salt only in its
/// `specified` form.
///
/// ```text
/// PBKDF2-params ::= SEQUENCE {
///     salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
///     iterationCount INTEGER (1..MAX),
///     keyLength INTEGER (1..MAX) OPTIONAL,
///     prf AlgorithmIdentifier {{PBKDF2-PRFs}} DEFAULT algid-hmacWithSHA1 }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct Pbkdf2Params {
    salt: OctetString,
    iteration_count: u32,
    #[asn1(optional = "true")]
    key_length: Option<u32>,
    #[asn1(optional = "true")]
    prf: Option<AlgorithmIdentifierOwned>,
}

/// An AES key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AesSize {
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
}

impl AesSize {
    const fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }
}

/// How the MAC key is wrapped under the password-derived key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyWrap {
    /// AES key wrap (RFC 3394; RFC 3565 OIDs).
    AesKw(AesSize),
    /// id-alg-PWRI-KEK with AES-CBC (RFC 3211 §2.3).
    PwriKek(AesSize),
}

impl KeyWrap {
    const fn aes(self) -> AesSize {
        match self {
            Self::AesKw(s) | Self::PwriKek(s) => s,
        }
    }
}

impl std::fmt::Display for KeyWrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits = self.aes().key_len() * 8;
        match self {
            Self::AesKw(_) => write!(f, "aes{bits}-wrap"),
            Self::PwriKek(_) => write!(f, "PWRI-KEK aes{bits}-CBC"),
        }
    }
}

/// The algorithms of an AuthenticatedData (what `cmc-tool show` prints,
/// and what a producer may choose with [`authenticate_with`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthParams {
    /// PBKDF2's PRF.
    pub prf: ProofHash,
    /// PBKDF2's iteration count.
    pub iterations: u32,
    /// The salt's length (on input: as found).
    pub salt_len: usize,
    /// The key encryption algorithm.
    pub wrap: KeyWrap,
    /// The MAC (HMAC with this hash).
    pub mac: ProofHash,
    /// The messageDigest's hash.
    pub digest: ProofHash,
}

impl Default for AuthParams {
    /// PBKDF2-HMAC-SHA256 with [`DEFAULT_ITERATIONS`] and a 16-octet salt,
    /// aes256-wrap, HMAC-SHA256, SHA-256.
    fn default() -> Self {
        Self {
            prf: ProofHash::Sha256,
            iterations: DEFAULT_ITERATIONS,
            salt_len: SALT_LEN,
            wrap: KeyWrap::AesKw(AesSize::Aes256),
            mac: ProofHash::Sha256,
            digest: ProofHash::Sha256,
        }
    }
}

/// The PBKDF2 password of RFC 5272 §3.2: the identification (UTF-8), then
/// the shared secret.
#[must_use]
pub fn password(identification: &str, secret: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut p = Zeroizing::new(Vec::with_capacity(identification.len() + secret.len()));
    p.extend_from_slice(identification.as_bytes());
    p.extend_from_slice(secret);
    p
}

/// A decoded AuthenticatedData whose parameters are within bounds and
/// whose content is not yet authenticated ([`Self::verify`]).
#[derive(Clone, Debug)]
pub struct AuthenticatedMessage {
    /// The decoded structure (DER form of the input).
    pub data: AuthenticatedData,
    /// The algorithms and sizes found.
    pub params: AuthParams,
    salt: Vec<u8>,
    /// The PasswordRecipientInfo used.
    pwri: PasswordRecipientInfo,
    /// The IV of PWRI-KEK's CBC, when that is the wrap.
    cbc_iv: Option<[u8; 16]>,
    econtent: Vec<u8>,
    auth_attrs_der: Vec<u8>,
    content_type_attr: ObjectIdentifier,
    message_digest: Vec<u8>,
    signing_time: Option<Time>,
}

/// What a verified AuthenticatedData says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The eContentType.
    pub content_type: ObjectIdentifier,
    /// The eContent octets.
    pub content: Vec<u8>,
    /// The signingTime attribute, if any.
    pub signing_time: Option<SystemTime>,
}

impl AuthenticatedMessage {
    /// The eContentType (not yet authenticated).
    #[must_use]
    pub fn content_type(&self) -> ObjectIdentifier {
        self.data.encap_content_info.econtent_type
    }

    /// The eContent octets, not yet authenticated: only to find which
    /// secret to verify with (the identification control of a PKIData).
    #[must_use]
    pub fn unverified_content(&self) -> &[u8] {
        &self.econtent
    }

    /// Derives the key from `password` ([`password`]), unwraps the MAC key,
    /// verifies the MAC over the authenticated attributes in constant time,
    /// then checks the contentType and messageDigest attributes against the
    /// eContent.
    ///
    /// # Errors
    /// [`Error::AuthDataMac`] when the key does not unwrap or the MAC does
    /// not verify (a wrong password); [`Error::ContentTypeMismatch`],
    /// [`Error::MessageDigestMismatch`] for attributes that do not fit the
    /// content; [`Error::MalformedAttribute`] for a signingTime that does
    /// not decode.
    pub fn verify(&self, password: &[u8]) -> Result<Authenticated> {
        let kek = derive(
            self.params.prf,
            password,
            &self.salt,
            self.params.iterations,
            self.params.wrap.aes().key_len(),
        );
        let wrapped = self.pwri.enc_key.as_bytes();
        let mac_key = match self.params.wrap {
            KeyWrap::AesKw(_) => aes_kw_unwrap(&kek, wrapped),
            KeyWrap::PwriKek(_) => self
                .cbc_iv
                .and_then(|iv| pwri_kek_unwrap(&kek, &iv, wrapped)),
        }
        .filter(|k| k.len() >= MIN_MAC_KEY)
        .ok_or(Error::AuthDataMac)?;
        if !self
            .params
            .mac
            .verify_hmac(&mac_key, &self.auth_attrs_der, self.data.mac.as_bytes())
        {
            return Err(Error::AuthDataMac);
        }
        if self.content_type_attr != self.content_type() {
            return Err(Error::ContentTypeMismatch {
                attribute: self.content_type_attr,
                econtent_type: self.content_type(),
            });
        }
        let digest = self.params.digest.hash(&[&self.econtent]);
        if !ct_eq(&digest, &self.message_digest) {
            return Err(Error::MessageDigestMismatch);
        }
        Ok(Authenticated {
            content_type: self.content_type(),
            content: self.econtent.clone(),
            signing_time: self.signing_time.map(|t| t.to_system_time()),
        })
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn malformed(text: impl std::fmt::Display) -> Error {
    Error::MalformedAuthenticatedData(text.to_string())
}

/// Decodes a ContentInfo holding an AuthenticatedData (DER, or BER as
/// streaming producers write it) of at most `max_input` octets and checks
/// everything that can be checked without the secret: one
/// PasswordRecipientInfo with PBKDF2 (salt and iteration count within
/// bounds, a keyLength that fits the wrap), a supported key wrap, MAC and
/// digest algorithm, an eContent, and authenticated attributes with one
/// contentType and one messageDigest.
///
/// # Errors
/// [`Error::TooLarge`], [`Error::Malformed`], [`Error::NotCms`] (not CMS:
/// HTTP 400); [`Error::MalformedAuthenticatedData`] for the rest of the
/// structure and for parameters out of bounds;
/// [`Error::UnsupportedAlgorithm`]; the attribute errors.
pub fn parse_authenticated(input: &[u8], max_input: usize) -> Result<AuthenticatedMessage> {
    if input.len() > max_input {
        return Err(Error::TooLarge {
            len: input.len(),
            max: max_input,
        });
    }
    let (der, _) = ber::to_der(input)?;
    let ci = ContentInfo::from_der(&der).map_err(|e| Error::NotCms(e.to_string()))?;
    if ci.content_type != ID_CT_AUTH_DATA {
        return Err(malformed(format!(
            "ContentInfo holds {}, not AuthenticatedData",
            ci.content_type
        )));
    }
    let data: AuthenticatedData = ci.content.decode_as().map_err(malformed)?;
    from_structure(data)
}

/// [`parse_authenticated`] of an already decoded AuthenticatedData.
///
/// # Errors
/// As [`parse_authenticated`].
pub fn from_structure(data: AuthenticatedData) -> Result<AuthenticatedMessage> {
    if data.recip_infos.0.len() > MAX_RECIPIENTS {
        return Err(malformed("too many RecipientInfos"));
    }
    let mut pwris = data.recip_infos.0.iter().filter_map(|r| match r {
        RecipientInfo::Pwri(p) => Some(p),
        _ => None,
    });
    let (Some(pwri), None) = (pwris.next(), pwris.next()) else {
        return Err(malformed(
            "exactly one PasswordRecipientInfo is needed (RFC 5272 §3.2)",
        ));
    };
    let kdf = pwri
        .key_derivation_alg
        .as_ref()
        .ok_or_else(|| malformed("the PasswordRecipientInfo has no keyDerivationAlgorithm"))?;
    if kdf.oid != ID_PBKDF_2 {
        return Err(Error::UnsupportedAlgorithm { oid: kdf.oid });
    }
    let kdf_params: Pbkdf2Params = kdf
        .parameters
        .as_ref()
        .ok_or_else(|| malformed("PBKDF2 without parameters"))?
        .decode_as()
        .map_err(|e| malformed(format!("PBKDF2-params: {e}")))?;
    let salt = kdf_params.salt.as_bytes();
    if !(MIN_SALT..=MAX_SALT).contains(&salt.len()) {
        return Err(malformed(format!(
            "a PBKDF2 salt of {} octets (from {MIN_SALT} to {MAX_SALT} accepted)",
            salt.len()
        )));
    }
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&kdf_params.iteration_count) {
        return Err(malformed(format!(
            "{} PBKDF2 iterations (from {MIN_ITERATIONS} to {MAX_ITERATIONS} accepted)",
            kdf_params.iteration_count
        )));
    }
    let prf = match &kdf_params.prf {
        None => ProofHash::Sha1,
        Some(alg) => {
            check_null_or_absent(alg)?;
            ProofHash::from_hmac_oid(&alg.oid)
                .ok_or(Error::UnsupportedAlgorithm { oid: alg.oid })?
        }
    };
    let (wrap, cbc_iv) = key_wrap(&pwri.key_enc_alg)?;
    if kdf_params
        .key_length
        .is_some_and(|l| usize::try_from(l).ok() != Some(wrap.aes().key_len()))
    {
        return Err(malformed("PBKDF2's keyLength does not fit the key wrap"));
    }
    if pwri.enc_key.as_bytes().len() > MAX_WRAPPED_KEY {
        return Err(malformed("the wrapped key is too long"));
    }
    check_null_or_absent(&data.mac_alg)?;
    let mac = ProofHash::from_hmac_oid(&data.mac_alg.oid)
        .filter(|h| *h != ProofHash::Sha1)
        .ok_or(Error::UnsupportedAlgorithm {
            oid: data.mac_alg.oid,
        })?;
    let digest_alg = data
        .digest_alg
        .as_ref()
        .ok_or_else(|| malformed("authenticated attributes need a digestAlgorithm"))?;
    check_null_or_absent(digest_alg)?;
    let digest = ProofHash::from_digest_oid(&digest_alg.oid)
        .filter(|h| *h != ProofHash::Sha1)
        .ok_or(Error::UnsupportedAlgorithm {
            oid: digest_alg.oid,
        })?;
    let econtent = match &data.encap_content_info.econtent {
        Some(any) if any.tag() == Tag::OctetString => any.value().to_vec(),
        Some(_) => return Err(malformed("the eContent is not an OCTET STRING")),
        None => return Err(Error::MissingContent),
    };
    // RFC 5652 §9.1: with a content type other than id-data, authAttrs
    // MUST be present; CMC's are PKIData and PKIResponse.
    let attrs = data
        .auth_attrs
        .as_ref()
        .ok_or(Error::MissingSignedAttributes)?;
    let content_type_attr: ObjectIdentifier =
        decode_attr(attrs, ID_CONTENT_TYPE)?.ok_or(Error::MissingAttribute {
            oid: ID_CONTENT_TYPE,
        })?;
    let message_digest: OctetString =
        decode_attr(attrs, ID_MESSAGE_DIGEST)?.ok_or(Error::MissingAttribute {
            oid: ID_MESSAGE_DIGEST,
        })?;
    let signing_time: Option<Time> = decode_attr(attrs, ID_SIGNING_TIME)?;
    let auth_attrs_der = attrs.to_der().map_err(malformed)?;
    let params = AuthParams {
        prf,
        iterations: kdf_params.iteration_count,
        salt_len: salt.len(),
        wrap,
        mac,
        digest,
    };
    Ok(AuthenticatedMessage {
        params,
        salt: salt.to_vec(),
        pwri: pwri.clone(),
        cbc_iv,
        econtent,
        auth_attrs_der,
        content_type_attr,
        message_digest: message_digest.as_bytes().to_vec(),
        signing_time,
        data,
    })
}

/// Algorithm parameters absent or NULL (HMAC and hash identifiers).
fn check_null_or_absent(alg: &AlgorithmIdentifierOwned) -> Result<()> {
    match &alg.parameters {
        None => Ok(()),
        Some(p) if p.tag() == Tag::Null && p.value().is_empty() => Ok(()),
        Some(_) => Err(malformed(format!("{} with parameters", alg.oid))),
    }
}

/// The single value of attribute `oid`, decoded, if present.
fn decode_attr<T>(attrs: &Attributes, oid: ObjectIdentifier) -> Result<Option<T>>
where
    T: for<'b> Decode<'b, Error = der::Error>,
{
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(Error::DuplicateAttribute { oid });
    }
    let bad = |e: der::Error| Error::MalformedAttribute {
        oid,
        reason: e.to_string(),
    };
    let value = attr
        .values
        .get(0)
        .ok_or(Error::DuplicateAttribute { oid })?;
    T::from_der(&value.to_der().map_err(bad)?)
        .map(Some)
        .map_err(bad)
}

/// The key wrap a keyEncryptionAlgorithm names, and PWRI-KEK's IV.
fn key_wrap(alg: &AlgorithmIdentifierOwned) -> Result<(KeyWrap, Option<[u8; 16]>)> {
    let kw = [
        (ID_AES_128_WRAP, AesSize::Aes128),
        (ID_AES_192_WRAP, AesSize::Aes192),
        (ID_AES_256_WRAP, AesSize::Aes256),
    ];
    if let Some((_, size)) = kw.iter().find(|(oid, _)| *oid == alg.oid) {
        // RFC 3565 §4.3: parameters absent.
        if alg.parameters.is_some() {
            return Err(malformed("AES key wrap with parameters"));
        }
        return Ok((KeyWrap::AesKw(*size), None));
    }
    if alg.oid != ID_ALG_PWRI_KEK {
        return Err(Error::UnsupportedAlgorithm { oid: alg.oid });
    }
    let inner: AlgorithmIdentifierOwned = alg
        .parameters
        .as_ref()
        .ok_or_else(|| malformed("PWRI-KEK without its block cipher"))?
        .decode_as()
        .map_err(|e| malformed(format!("PWRI-KEK parameters: {e}")))?;
    let cbc = [
        (ID_AES_128_CBC, AesSize::Aes128),
        (ID_AES_192_CBC, AesSize::Aes192),
        (ID_AES_256_CBC, AesSize::Aes256),
    ];
    let (_, size) = cbc
        .iter()
        .find(|(oid, _)| *oid == inner.oid)
        .ok_or(Error::UnsupportedAlgorithm { oid: inner.oid })?;
    let iv: OctetString = inner
        .parameters
        .as_ref()
        .ok_or_else(|| malformed("AES-CBC without an IV"))?
        .decode_as()
        .map_err(|e| malformed(format!("AES-CBC IV: {e}")))?;
    let iv: [u8; 16] = iv
        .as_bytes()
        .try_into()
        .map_err(|_| malformed("an AES-CBC IV is 16 octets"))?;
    Ok((KeyWrap::PwriKek(*size), Some(iv)))
}

fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute> {
    let der = value.to_der().map_err(encode_err)?;
    let mut values = SetOfVec::new();
    values
        .insert(Any::from_der(&der).map_err(encode_err)?)
        .map_err(encode_err)?;
    Ok(Attribute { oid, values })
}

fn random(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut out).map_err(|e| Error::Encode(format!("random: {e}")))?;
    Ok(out)
}

/// [`authenticate_with`] with the default algorithms ([`AuthParams`]).
///
/// # Errors
/// As [`authenticate_with`].
pub fn authenticate(
    content_type: ObjectIdentifier,
    content: &[u8],
    password: &[u8],
    signing_time: SystemTime,
) -> Result<Vec<u8>> {
    authenticate_with(
        content_type,
        content,
        password,
        signing_time,
        &AuthParams::default(),
    )
}

/// An AuthenticatedData over `content` (eContentType `content_type`) keyed
/// by `password` ([`password`]), as the DER of a ContentInfo: a fresh salt
/// and MAC key, authenticated attributes contentType, messageDigest and
/// signingTime (`signing_time`).
///
/// # Errors
/// [`Error::Encode`] for parameters out of bounds, a time that cannot be
/// encoded, or a random number generator that fails.
pub fn authenticate_with(
    content_type: ObjectIdentifier,
    content: &[u8],
    password: &[u8],
    signing_time: SystemTime,
    params: &AuthParams,
) -> Result<Vec<u8>> {
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&params.iterations)
        || !(MIN_SALT..=MAX_SALT).contains(&params.salt_len)
        || params.mac == ProofHash::Sha1
        || params.digest == ProofHash::Sha1
    {
        return Err(Error::Encode(
            "AuthenticatedData parameters out of bounds".into(),
        ));
    }
    let salt = random(params.salt_len)?;
    let key_len = params.wrap.aes().key_len();
    let kek = derive(params.prf, password, &salt, params.iterations, key_len);
    let mac_key = random(params.mac.hash(&[]).len())?;
    let (key_enc_alg, enc_key) = match params.wrap {
        KeyWrap::AesKw(size) => (
            AlgorithmIdentifierOwned {
                oid: match size {
                    AesSize::Aes128 => ID_AES_128_WRAP,
                    AesSize::Aes192 => ID_AES_192_WRAP,
                    AesSize::Aes256 => ID_AES_256_WRAP,
                },
                parameters: None,
            },
            aes_kw_wrap(&kek, &mac_key)?,
        ),
        KeyWrap::PwriKek(size) => {
            let iv: [u8; 16] = random(16)?
                .as_slice()
                .try_into()
                .map_err(|_| Error::Encode("IV".into()))?;
            let cbc = AlgorithmIdentifierOwned {
                oid: match size {
                    AesSize::Aes128 => ID_AES_128_CBC,
                    AesSize::Aes192 => ID_AES_192_CBC,
                    AesSize::Aes256 => ID_AES_256_CBC,
                },
                parameters: Some(
                    Any::encode_from(&OctetString::new(iv).map_err(encode_err)?)
                        .map_err(encode_err)?,
                ),
            };
            (
                AlgorithmIdentifierOwned {
                    oid: ID_ALG_PWRI_KEK,
                    parameters: Some(Any::encode_from(&cbc).map_err(encode_err)?),
                },
                pwri_kek_wrap(&kek, &iv, &mac_key)?,
            )
        }
    };
    let kdf_params = Pbkdf2Params {
        salt: OctetString::new(salt.to_vec()).map_err(encode_err)?,
        iteration_count: params.iterations,
        key_length: Some(u32::try_from(key_len).map_err(encode_err)?),
        // DER leaves out the DEFAULT (hmacWithSHA1).
        prf: (params.prf != ProofHash::Sha1).then(|| params.prf.hmac_algorithm()),
    };
    let pwri = PasswordRecipientInfo {
        version: CmsVersion::V0,
        key_derivation_alg: Some(AlgorithmIdentifierOwned {
            oid: ID_PBKDF_2,
            parameters: Some(Any::encode_from(&kdf_params).map_err(encode_err)?),
        }),
        key_enc_alg,
        enc_key: OctetString::new(enc_key).map_err(encode_err)?,
    };
    let digest = OctetString::new(params.digest.hash(&[content]).to_vec()).map_err(encode_err)?;
    let time = Time::try_from(signing_time).map_err(|e| Error::TimeOutOfRange(e.to_string()))?;
    let mut attrs = Attributes::new();
    for a in [
        attribute(ID_CONTENT_TYPE, &content_type)?,
        attribute(ID_SIGNING_TIME, &time)?,
        attribute(ID_MESSAGE_DIGEST, &digest)?,
    ] {
        attrs.insert(a).map_err(encode_err)?;
    }
    let mac = params
        .mac
        .hmac(&mac_key, &attrs.to_der().map_err(encode_err)?)?;
    let mut recipients = SetOfVec::new();
    recipients
        .insert(RecipientInfo::Pwri(pwri))
        .map_err(encode_err)?;
    let data = AuthenticatedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos(recipients),
        mac_alg: params.mac.hmac_algorithm(),
        digest_alg: Some(params.digest.digest_algorithm()),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent: Some(
                Any::encode_from(&OctetString::new(content).map_err(encode_err)?)
                    .map_err(encode_err)?,
            ),
        },
        auth_attrs: Some(attrs),
        mac: OctetString::new(mac).map_err(encode_err)?,
        unauth_attrs: None,
    };
    ContentInfo {
        content_type: ID_CT_AUTH_DATA,
        content: Any::encode_from(&data).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}

#[cfg(test)]
#[path = "authenticated_tests.rs"]
mod tests;
