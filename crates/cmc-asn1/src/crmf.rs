//! Certificate Request Message Format (CRMF, RFC 4211), as far as CMC uses it.
//!
//! The CRMF module `PKIXCRMF-2009` (RFC 5912 §9, after RFC 4211 Appendix B) is
//! `DEFINITIONS IMPLICIT TAGS`: every context tag is IMPLICIT except where the tagged type is
//! a CHOICE (`Name`, `Time`, `GeneralName`, `POPOPrivKey`), which must be EXPLICIT.

use alloc::vec::Vec;

use cms::enveloped_data::EnvelopedData;
use der::asn1::{BitString, Int, Null, OctetString};
use der::{Choice, Enumerated, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::Version;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::BodyPartId;

/// `CertReqMessages` (RFC 4211 §3).
///
/// ```text
/// CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg
/// ```
pub type CertReqMessages = Vec<CertReqMsg>;

/// `Controls` (RFC 4211 §6).
///
/// ```text
/// Controls  ::= SEQUENCE SIZE(1..MAX) OF SingleAttribute{{RegControlSet}}
/// ```
///
/// `SingleAttribute` is `SEQUENCE { type OBJECT IDENTIFIER, value ANY }`, which is
/// x509-cert's [`AttributeTypeAndValue`].
pub type Controls = Vec<AttributeTypeAndValue>;

/// `CertReqMsg` (RFC 4211 §3), the `crm` alternative of a CMC `TaggedRequest`.
///
/// ```text
/// CertReqMsg ::= SEQUENCE {
///     certReq   CertRequest,
///     popo      ProofOfPossession  OPTIONAL,
///     -- content depends upon key type
///     regInfo   SEQUENCE SIZE(1..MAX) OF
///                   SingleAttribute{{RegInfoSet}} OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertReqMsg {
    /// The request proper.
    pub cert_req: CertRequest,
    /// Proof of possession of the private key; CMC clients whose RA vouches for them
    /// (`lraPOPWitness`) leave it out.
    pub popo: Option<ProofOfPossession>,
    /// Registration information (`regInfo`), e.g. `id-regInfo-utf8Pairs`.
    pub reg_info: Option<Vec<AttributeTypeAndValue>>,
}

/// `CertRequest` (RFC 4211 §5).
///
/// ```text
/// CertRequest ::= SEQUENCE {
///     certReqId     INTEGER,
///     -- ID for matching request and reply
///     certTemplate  CertTemplate,
///     -- Selected fields of cert to be issued
///     controls      Controls OPTIONAL }
///     -- Attributes affecting issuance
/// ```
///
/// In CMC the `certReqId` is the body part identifier of the request (RFC 5272 §3.2.1.2.2),
/// so it should fit a [`BodyPartId`]; it stays an unconstrained [`Int`] here so that an
/// out-of-range value can still be decoded and answered with a status. See
/// [`CertRequest::body_part_id`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertRequest {
    /// Request identifier; the BodyPartID of this request in CMC.
    pub cert_req_id: Int,
    /// Fields of the certificate to be issued.
    pub cert_template: CertTemplate,
    /// CRMF controls (`regCtrl-*` and CMC's `id-cmc-popLinkWitnessV2` etc.).
    pub controls: Option<Controls>,
}

impl CertRequest {
    /// A request without controls whose `certReqId` is `body_part_id`.
    ///
    /// # Errors
    /// Never in practice: encoding a `u32` as INTEGER cannot fail.
    pub fn new(body_part_id: BodyPartId, cert_template: CertTemplate) -> der::Result<Self> {
        use der::{Decode, Encode};
        // Through DER, so that the Int is minimal (Int::new keeps leading zero octets).
        Ok(Self {
            cert_req_id: Int::from_der(&body_part_id.to_der()?)?,
            cert_template,
            controls: None,
        })
    }

    /// The `certReqId` as a [`BodyPartId`].
    ///
    /// # Errors
    /// `der::ErrorKind::Value` if the integer is negative or does not fit in 32 bits.
    pub fn body_part_id(&self) -> der::Result<BodyPartId> {
        use der::{Decode, Encode};
        BodyPartId::from_der(&self.cert_req_id.to_der()?)
    }
}

/// `CertTemplate` (RFC 4211 §5).
///
/// ```text
/// CertTemplate ::= SEQUENCE {
///     version      [0] Version               OPTIONAL,
///     serialNumber [1] INTEGER               OPTIONAL,
///     signingAlg   [2] AlgorithmIdentifier{SIGNATURE-ALGORITHM,
///                          {SignatureAlgorithms}}   OPTIONAL,
///     issuer       [3] Name                  OPTIONAL,
///     validity     [4] OptionalValidity      OPTIONAL,
///     subject      [5] Name                  OPTIONAL,
///     publicKey    [6] SubjectPublicKeyInfo  OPTIONAL,
///     issuerUID    [7] UniqueIdentifier      OPTIONAL,
///     subjectUID   [8] UniqueIdentifier      OPTIONAL,
///     extensions   [9] Extensions{{CertExtensions}}  OPTIONAL }
/// ```
///
/// `Name` is a CHOICE, so `issuer` and `subject` are EXPLICIT; the rest are IMPLICIT.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct CertTemplate {
    /// `[0]` certificate version.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub version: Option<Version>,
    /// `[1]` serial number (normally left to the CA).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub serial_number: Option<Int>,
    /// `[2]` signature algorithm.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub signing_alg: Option<AlgorithmIdentifierOwned>,
    /// `[3]` issuer name (EXPLICIT: `Name` is a CHOICE).
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub issuer: Option<Name>,
    /// `[4]` requested validity.
    #[asn1(context_specific = "4", tag_mode = "IMPLICIT", optional = "true")]
    pub validity: Option<OptionalValidity>,
    /// `[5]` subject name (EXPLICIT: `Name` is a CHOICE).
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub subject: Option<Name>,
    /// `[6]` subject public key.
    #[asn1(context_specific = "6", tag_mode = "IMPLICIT", optional = "true")]
    pub public_key: Option<SubjectPublicKeyInfoOwned>,
    /// `[7]` issuer unique identifier.
    #[asn1(context_specific = "7", tag_mode = "IMPLICIT", optional = "true")]
    pub issuer_uid: Option<BitString>,
    /// `[8]` subject unique identifier.
    #[asn1(context_specific = "8", tag_mode = "IMPLICIT", optional = "true")]
    pub subject_uid: Option<BitString>,
    /// `[9]` requested extensions.
    #[asn1(context_specific = "9", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `OptionalValidity` (RFC 4211 §5).
///
/// ```text
/// OptionalValidity ::= SEQUENCE {
///     notBefore  [0] Time OPTIONAL,
///     notAfter   [1] Time OPTIONAL } -- at least one MUST be present
/// ```
///
/// `Time` is a CHOICE, so both tags are EXPLICIT.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct OptionalValidity {
    /// `[0]` start of validity.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub not_before: Option<Time>,
    /// `[1]` end of validity.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub not_after: Option<Time>,
}

/// `ProofOfPossession` (RFC 4211 §4).
///
/// ```text
/// ProofOfPossession ::= CHOICE {
///     raVerified        [0] NULL,
///     -- used if the RA has already verified that the requester is in
///     -- possession of the private key
///     signature         [1] POPOSigningKey,
///     keyEncipherment   [2] POPOPrivKey,
///     keyAgreement      [3] POPOPrivKey }
/// ```
///
/// `POPOPrivKey` is a CHOICE, so `[2]` and `[3]` are EXPLICIT.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum ProofOfPossession {
    /// `[0]` the RA has verified possession.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    RaVerified(Null),
    /// `[1]` signature with the requested key.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Signature(PopoSigningKey),
    /// `[2]` encryption key.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    KeyEncipherment(PopoPrivKey),
    /// `[3]` key agreement key.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    KeyAgreement(PopoPrivKey),
}

/// `POPOSigningKey` (RFC 4211 §4.1).
///
/// ```text
/// POPOSigningKey ::= SEQUENCE {
///     poposkInput           [0] POPOSigningKeyInput OPTIONAL,
///     algorithmIdentifier   AlgorithmIdentifier{SIGNATURE-ALGORITHM,
///                               {SignatureAlgorithms}},
///     signature             BIT STRING }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PopoSigningKey {
    /// `[0]` what was signed when the template lacks subject or public key.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub poposk_input: Option<PopoSigningKeyInput>,
    /// Signature algorithm.
    pub algorithm_identifier: AlgorithmIdentifierOwned,
    /// Signature over the DER of `certReq` (or of `poposkInput`).
    pub signature: BitString,
}

/// `POPOSigningKeyInput` (RFC 4211 §4.1).
///
/// ```text
/// POPOSigningKeyInput ::= SEQUENCE {
///     authInfo            CHOICE {
///         sender              [0] GeneralName,
///         -- used only if an authenticated identity has been
///         -- established for the sender (e.g., a DN from a
///         -- previously-issued and currently-valid certificate)
///         publicKeyMAC        PKMACValue },
///         -- used if no authenticated GeneralName currently exists for
///         -- the sender; publicKeyMAC contains a password-based MAC
///         -- on the DER-encoded value of publicKey
///     publicKey           SubjectPublicKeyInfo }  -- from CertTemplate
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PopoSigningKeyInput {
    /// Who is asking.
    pub auth_info: PopoSigningKeyInputAuthInfo,
    /// The key being certified.
    pub public_key: SubjectPublicKeyInfoOwned,
}

/// The inline `authInfo` CHOICE of `POPOSigningKeyInput` (RFC 4211 §4.1).
///
/// ```text
/// authInfo            CHOICE {
///     sender              [0] GeneralName,
///     publicKeyMAC        PKMACValue }
/// ```
///
/// `GeneralName` is a CHOICE, so `[0]` is EXPLICIT.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum PopoSigningKeyInputAuthInfo {
    /// `[0]` authenticated sender name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Sender(GeneralName),
    /// Password-based MAC over the public key.
    PublicKeyMac(PkMacValue),
}

/// `PKMACValue` (RFC 4211 §4.1).
///
/// ```text
/// PKMACValue ::= SEQUENCE {
///     algId  AlgorithmIdentifier{MAC-ALGORITHM,
///                {Password-MACAlgorithms}},
///     value  BIT STRING }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkMacValue {
    /// MAC algorithm (typically `id-PasswordBasedMac` with `PBMParameter`).
    pub alg_id: AlgorithmIdentifierOwned,
    /// The MAC.
    pub value: BitString,
}

/// `PBMParameter` (RFC 4211 §4.4).
///
/// ```text
/// PBMParameter ::= SEQUENCE {
///     salt                OCTET STRING,
///     owf                 AlgorithmIdentifier{DIGEST-ALGORITHM,
///                             {DigestAlgorithms}},
///     iterationCount      INTEGER,
///     mac                 AlgorithmIdentifier{MAC-ALGORITHM,
///                             {MACAlgorithms}}
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PbmParameter {
    /// Salt.
    pub salt: OctetString,
    /// One-way function.
    pub owf: AlgorithmIdentifierOwned,
    /// Iteration count.
    pub iteration_count: Int,
    /// MAC algorithm.
    pub mac: AlgorithmIdentifierOwned,
}

/// `POPOPrivKey` (RFC 4211 §4.2).
///
/// ```text
/// POPOPrivKey ::= CHOICE {
///     thisMessage       [0] BIT STRING,   -- Deprecated
///     subsequentMessage [1] SubsequentMessage,
///     dhMAC             [2] BIT STRING,   -- Deprecated
///     agreeMAC          [3] PKMACValue,
///     encryptedKey      [4] EnvelopedData }
/// ```
///
/// All alternatives are IMPLICIT (none is a CHOICE).
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum PopoPrivKey {
    /// `[0]` the private key, encrypted (deprecated).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    ThisMessage(BitString),
    /// `[1]` proof comes in a later message.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT")]
    SubsequentMessage(SubsequentMessage),
    /// `[2]` static DH MAC (deprecated).
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    DhMac(BitString),
    /// `[3]` key-agreement MAC.
    #[asn1(context_specific = "3", tag_mode = "IMPLICIT", constructed = "true")]
    AgreeMac(PkMacValue),
    /// `[4]` the private key in an EnvelopedData.
    #[asn1(context_specific = "4", tag_mode = "IMPLICIT", constructed = "true")]
    EncryptedKey(EnvelopedData),
}

/// `SubsequentMessage` (RFC 4211 §4.2).
///
/// ```text
/// SubsequentMessage ::= INTEGER {
///     encrCert (0),
///     -- requests that resulting certificate be encrypted for the
///     -- end entity (following which, POP will be proven in a
///     -- confirmation message)
///     challengeResp (1) }
///     -- requests that CA engage in challenge-response exchange with
///     -- end entity in order to prove private key possession
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum SubsequentMessage {
    /// `encrCert (0)`.
    EncrCert = 0,
    /// `challengeResp (1)`.
    ChallengeResp = 1,
}

/// `PKIPublicationInfo` (RFC 4211 §6.3), used by CMC's `CMCPublicationInfo`.
///
/// ```text
/// PKIPublicationInfo ::= SEQUENCE {
///     action     INTEGER {
///                    dontPublish (0),
///                    pleasePublish (1) },
///     pubInfos  SEQUENCE SIZE (1..MAX) OF SinglePubInfo OPTIONAL }
///     -- pubInfos MUST NOT be present if action is "dontPublish"
///     -- (if action is "pleasePublish" and pubInfos is omitted,
///     -- "dontCare" is assumed)
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiPublicationInfo {
    /// Whether to publish.
    pub action: PublicationAction,
    /// Where to publish.
    pub pub_infos: Option<Vec<SinglePubInfo>>,
}

/// The `action` INTEGER of `PKIPublicationInfo` (RFC 4211 §6.3).
///
/// ```text
/// action     INTEGER {
///                dontPublish (0),
///                pleasePublish (1) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum PublicationAction {
    /// `dontPublish (0)`.
    DontPublish = 0,
    /// `pleasePublish (1)`.
    PleasePublish = 1,
}

/// `SinglePubInfo` (RFC 4211 §6.3).
///
/// ```text
/// SinglePubInfo ::= SEQUENCE {
///     pubMethod    INTEGER {
///         dontCare    (0),
///         x500        (1),
///         web         (2),
///         ldap        (3) },
///     pubLocation  GeneralName OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SinglePubInfo {
    /// Publication method.
    pub pub_method: PublicationMethod,
    /// Publication location.
    pub pub_location: Option<GeneralName>,
}

/// The `pubMethod` INTEGER of `SinglePubInfo` (RFC 4211 §6.3).
///
/// ```text
/// pubMethod    INTEGER { dontCare (0), x500 (1), web (2), ldap (3) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum PublicationMethod {
    /// `dontCare (0)`.
    DontCare = 0,
    /// `x500 (1)`.
    X500 = 1,
    /// `web (2)`.
    Web = 2,
    /// `ldap (3)`.
    Ldap = 3,
}
