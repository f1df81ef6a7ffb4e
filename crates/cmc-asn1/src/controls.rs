//! Values of the CMC controls (RFC 5272 §6 and the additions of RFC 6402).
//!
//! Every control value type implements [`AssociatedOid`], so `PkiData::unique_control::<T>()`
//! and `TaggedAttribute::from_value` find the OID themselves. Controls whose value is a plain
//! OCTET STRING, UTF8String or INTEGER (senderNonce, regInfo, identification, transactionId,
//! ...) are newtypes over der's types that encode exactly like them.

use alloc::string::String;
use alloc::vec::Vec;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::ContentInfo;
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::Sequence;
use der::asn1::{Any, GeneralizedTime, Int, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::crl::dp::ReasonFlags;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use crate::{
    BodyPartId, BodyPartList, BodyPartPath, BodyPartReference, CertTemplate, PkiPublicationInfo,
    TaggedRequest, oid,
};

/// `LraPopWitness` (RFC 5272 §6.8), the value of `id-cmc-lraPOPWitness`.
///
/// ```text
/// LraPopWitness ::= SEQUENCE {
///     pkiDataBodyid   BodyPartID,
///     bodyIds         SEQUENCE OF BodyPartID
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct LraPopWitness {
    /// The PKIData (in cmsSequence) holding the requests the RA checked. Some clients put a
    /// random number here that references nothing.
    pub pki_data_bodyid: BodyPartId,
    /// The requests whose POP the RA verified.
    pub body_ids: Vec<BodyPartId>,
}

impl AssociatedOid for LraPopWitness {
    const OID: ObjectIdentifier = oid::ID_CMC_LRA_POP_WITNESS;
}

/// `GetCert` (RFC 5272 §6.9), the value of `id-cmc-getCert`.
///
/// ```text
/// GetCert ::= SEQUENCE {
///     issuerName      GeneralName,
///     serialNumber    INTEGER }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct GetCert {
    /// Issuer of the wanted certificate.
    pub issuer_name: GeneralName,
    /// Its serial number.
    pub serial_number: SerialNumber,
}

impl AssociatedOid for GetCert {
    const OID: ObjectIdentifier = oid::ID_CMC_GET_CERT;
}

/// `GetCRL` (RFC 5272 §6.10), the value of `id-cmc-getCRL`.
///
/// ```text
/// GetCRL ::= SEQUENCE {
///     issuerName    Name,
///     cRLName       GeneralName OPTIONAL,
///     time          GeneralizedTime OPTIONAL,
///     reasons       ReasonFlags OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct GetCrl {
    /// Issuer of the wanted CRL.
    pub issuer_name: Name,
    /// Name of the CRL (e.g. its distribution point).
    pub crl_name: Option<GeneralName>,
    /// Return the CRL valid at this time.
    pub time: Option<GeneralizedTime>,
    /// Revocation reasons the CRL should cover.
    pub reasons: Option<ReasonFlags>,
}

impl AssociatedOid for GetCrl {
    const OID: ObjectIdentifier = oid::ID_CMC_GET_CRL;
}

/// `RevokeRequest` (RFC 5272 §6.11), the value of `id-cmc-revokeRequest`.
///
/// ```text
/// RevokeRequest ::= SEQUENCE {
///     issuerName            Name,
///     serialNumber          INTEGER,
///     reason                CRLReason,
///     invalidityDate         GeneralizedTime OPTIONAL,
///     passphrase            OCTET STRING OPTIONAL,
///     comment               UTF8String OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevokeRequest {
    /// Issuer of the certificate to revoke.
    pub issuer_name: Name,
    /// Its serial number.
    pub serial_number: SerialNumber,
    /// Why (ENUMERATED, RFC 5280 §5.3.1).
    pub reason: CrlReason,
    /// When the key is believed to have been compromised.
    pub invalidity_date: Option<GeneralizedTime>,
    /// Shared secret authorising an unsigned revocation.
    pub passphrase: Option<OctetString>,
    /// Human-readable comment.
    pub comment: Option<String>,
}

impl AssociatedOid for RevokeRequest {
    const OID: ObjectIdentifier = oid::ID_CMC_REVOKE_REQUEST;
}

/// Declares a control whose value is a plain universal type, as a newtype bound to its OID.
macro_rules! simple_control {
    ($(#[$doc:meta])* $name:ident($inner:ty) = $oid:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(pub $inner);
        der_newtype!($name($inner));

        impl AssociatedOid for $name {
            const OID: ObjectIdentifier = $oid;
        }
    };
}

simple_control! {
    /// Value of `id-cmc-identification` (RFC 5272 §6.2.3): the requester's name, which the
    /// server uses to find the shared secret of the identity proof.
    ///
    /// ```text
    /// cmc-identification CMC-CONTROL ::=
    ///     { UTF8String IDENTIFIED BY id-cmc-identification }
    /// ```
    Identification(String) = oid::ID_CMC_IDENTIFICATION
}

simple_control! {
    /// Value of `id-cmc-identityProof` (RFC 5272 §6.2.2), the SHA-1-only predecessor of
    /// [`IdentityProofV2`].
    ///
    /// ```text
    /// cmc-identityProof CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-identityProof }
    /// ```
    IdentityProof(OctetString) = oid::ID_CMC_IDENTITY_PROOF
}

simple_control! {
    /// Value of `id-cmc-dataReturn` (RFC 5272 §6.4): opaque data the server echoes.
    ///
    /// ```text
    /// cmc-dataReturn CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-dataReturn }
    /// ```
    DataReturn(OctetString) = oid::ID_CMC_DATA_RETURN
}

simple_control! {
    /// Value of `id-cmc-transactionId` (RFC 5272 §6.6).
    ///
    /// ```text
    /// cmc-transactionId CMC-CONTROL ::=
    ///     { INTEGER IDENTIFIED BY id-cmc-transactionId }
    /// ```
    ///
    /// An unconstrained INTEGER: [`Int`] keeps any size and sign.
    TransactionId(Int) = oid::ID_CMC_TRANSACTION_ID
}

simple_control! {
    /// Value of `id-cmc-senderNonce` (RFC 5272 §6.6).
    ///
    /// ```text
    /// cmc-senderNonce CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-senderNonce }
    /// ```
    SenderNonce(OctetString) = oid::ID_CMC_SENDER_NONCE
}

simple_control! {
    /// Value of `id-cmc-recipientNonce` (RFC 5272 §6.6): the peer's senderNonce, echoed.
    ///
    /// ```text
    /// cmc-recipientNonce CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-recipientNonce }
    /// ```
    RecipientNonce(OctetString) = oid::ID_CMC_RECIPIENT_NONCE
}

simple_control! {
    /// Value of `id-cmc-regInfo` (RFC 5272 §6.12): request-specific data for the server
    /// (the swedenconnect client sends `"pkcs10"`, `"crmf"` or JSON).
    ///
    /// ```text
    /// cmc-regInfo CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-regInfo }
    /// ```
    RegInfo(OctetString) = oid::ID_CMC_REG_INFO
}

simple_control! {
    /// Value of `id-cmc-responseInfo` (RFC 5272 §6.12): response-specific data for the
    /// client.
    ///
    /// ```text
    /// cmc-responseInfo CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-responseInfo }
    /// ```
    ResponseInfo(OctetString) = oid::ID_CMC_RESPONSE_INFO
}

simple_control! {
    /// Value of `id-cmc-queryPending` (RFC 5272 §6.13): the `pendToken` of an earlier
    /// pending response.
    ///
    /// ```text
    /// cmc-queryPending CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-queryPending }
    /// ```
    QueryPending(OctetString) = oid::ID_CMC_QUERY_PENDING
}

simple_control! {
    /// Value of `id-cmc-popLinkRandom` (RFC 5272 §6.3.1.3): the random value R that the
    /// popLinkWitness binds into the certification request.
    ///
    /// ```text
    /// cmc-popLinkRandom CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-popLinkRandom }
    /// ```
    PopLinkRandom(OctetString) = oid::ID_CMC_POP_LINK_RANDOM
}

simple_control! {
    /// Value of `id-cmc-popLinkWitness` (RFC 5272 §6.3.1.2), the SHA-1-only predecessor of
    /// [`PopLinkWitnessV2`].
    ///
    /// ```text
    /// cmc-popLinkWitness CMC-CONTROL ::=
    ///     { OCTET STRING IDENTIFIED BY id-cmc-popLinkWitness }
    /// ```
    PopLinkWitness(OctetString) = oid::ID_CMC_POP_LINK_WITNESS
}

simple_control! {
    /// Value of `id-cmc-confirmCertAcceptance` (RFC 5272 §6.14): the certificate the client
    /// accepts.
    ///
    /// ```text
    /// CMCCertId ::= IssuerAndSerialNumber
    /// ```
    CmcCertId(IssuerAndSerialNumber) = oid::ID_CMC_CONFIRM_CERT_ACCEPTANCE
}

simple_control! {
    /// Value of `id-cmc-authData` (RFC 5272 §6.16): the body part holding the
    /// AuthenticatedData that `publishCert`/`trustedAnchors` refer to.
    ///
    /// ```text
    /// AuthPublish ::= BodyPartID
    /// ```
    AuthPublish(BodyPartId) = oid::ID_CMC_AUTH_DATA
}

/// `NoSignatureValue` (RFC 5272 §3.2.1.2.1, Appendix C): the "signature" of a request whose
/// key cannot sign (`id-alg-noSignature`), a hash of the request.
///
/// ```text
/// NoSignatureValue ::= OCTET STRING
/// ```
pub type NoSignatureValue = OctetString;

/// `IdentityProofV2` (RFC 5272 §6.2.1), the value of `id-cmc-identityProofV2` (.34).
///
/// ```text
/// IdentityProofV2 ::= SEQUENCE {
///     proofAlgID       AlgorithmIdentifier{DIGEST-ALGORITHM,
///                          {WitnessAlgs}},
///     macAlgId         AlgorithmIdentifier{MAC-ALGORITHM, {POPAlgs}},
///     witness          OCTET STRING
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct IdentityProofV2 {
    /// Hash used to derive the MAC key from the shared secret.
    pub proof_alg_id: AlgorithmIdentifierOwned,
    /// MAC over the DER of `reqSequence`.
    pub mac_alg_id: AlgorithmIdentifierOwned,
    /// The MAC value.
    pub witness: OctetString,
}

impl AssociatedOid for IdentityProofV2 {
    const OID: ObjectIdentifier = oid::ID_CMC_IDENTITY_PROOF_V2;
}

/// `PopLinkWitnessV2` (RFC 5272 §6.3.1.1), the value of `id-cmc-popLinkWitnessV2` (.33),
/// placed in a PKCS #10 attribute or a CRMF control.
///
/// ```text
/// PopLinkWitnessV2 ::= SEQUENCE {
///     keyGenAlgorithm   AlgorithmIdentifier{KEY-DERIVATION,
///                           {KeyDevAlgs}},
///     macAlgorithm      AlgorithmIdentifier{MAC-ALGORITHM, {POPAlgs}},
///     witness           OCTET STRING
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PopLinkWitnessV2 {
    /// Derives the MAC key from the shared secret (e.g. PBKDF2).
    pub key_gen_algorithm: AlgorithmIdentifierOwned,
    /// MAC over popLinkRandom.
    pub mac_algorithm: AlgorithmIdentifierOwned,
    /// The MAC value.
    pub witness: OctetString,
}

impl AssociatedOid for PopLinkWitnessV2 {
    const OID: ObjectIdentifier = oid::ID_CMC_POP_LINK_WITNESS_V2;
}

/// `EncryptedPOP` (RFC 5272 §6.7), the value of `id-cmc-encryptedPOP`: the server's
/// challenge for a key that cannot sign.
///
/// ```text
/// EncryptedPOP ::= SEQUENCE {
///     request       TaggedRequest,
///     cms             ContentInfo,
///     thePOPAlgID     AlgorithmIdentifier{MAC-ALGORITHM, {POPAlgs}},
///     witnessAlgID    AlgorithmIdentifier{DIGEST-ALGORITHM,
///                         {WitnessAlgs}},
///     witness         OCTET STRING
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncryptedPop {
    /// The original request.
    pub request: TaggedRequest,
    /// EnvelopedData holding the challenge, encrypted for the requested key.
    pub cms: ContentInfo,
    /// MAC the client must compute with the challenge.
    pub the_pop_alg_id: AlgorithmIdentifierOwned,
    /// Hash algorithm of `witness`.
    pub witness_alg_id: AlgorithmIdentifierOwned,
    /// Hash of the challenge.
    pub witness: OctetString,
}

impl AssociatedOid for EncryptedPop {
    const OID: ObjectIdentifier = oid::ID_CMC_ENCRYPTED_POP;
}

/// `DecryptedPOP` (RFC 5272 §6.7), the value of `id-cmc-decryptedPOP`: the client's
/// answer to an [`EncryptedPop`].
///
/// ```text
/// DecryptedPOP ::= SEQUENCE {
///     bodyPartID      BodyPartID,
///     thePOPAlgID     AlgorithmIdentifier{MAC-ALGORITHM, {POPAlgs}},
///     thePOP          OCTET STRING
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct DecryptedPop {
    /// The request this proves possession for.
    pub body_part_id: BodyPartId,
    /// MAC algorithm (from the EncryptedPOP).
    pub the_pop_alg_id: AlgorithmIdentifierOwned,
    /// MAC of the request keyed with the decrypted challenge.
    pub the_pop: OctetString,
}

impl AssociatedOid for DecryptedPop {
    const OID: ObjectIdentifier = oid::ID_CMC_DECRYPTED_POP;
}

/// `AddExtensions` (RFC 5272 §6.5.2), the value of `id-cmc-addExtensions` (deprecated in
/// favour of modCertTemplate).
///
/// ```text
/// AddExtensions ::= SEQUENCE {
///     pkiDataReference    BodyPartID,
///     certReferences      SEQUENCE OF BodyPartID,
///     extensions          SEQUENCE OF Extension{{CertExtensions}}
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AddExtensions {
    /// The PKIData holding the requests (0: this one).
    pub pki_data_reference: BodyPartId,
    /// The requests to modify (RFC 5272 gives no meaning to an empty list).
    pub cert_references: Vec<BodyPartId>,
    /// Extensions to add.
    pub extensions: Vec<Extension>,
}

impl AssociatedOid for AddExtensions {
    const OID: ObjectIdentifier = oid::ID_CMC_ADD_EXTENSIONS;
}

fn default_true() -> bool {
    true
}

/// `ModCertTemplate` (RFC 5272 §6.5.1), the value of `id-cmc-modCertTemplate`: an RA's
/// changes to certification requests.
///
/// ```text
/// ModCertTemplate ::= SEQUENCE {
///     pkiDataReference             BodyPartPath,
///     certReferences               BodyPartList,
///     replace                      BOOLEAN DEFAULT TRUE,
///     certTemplate                 CertTemplate
/// }
/// ```
///
/// `replace` is omitted from the encoding when TRUE, as DER requires.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ModCertTemplate {
    /// The PKIData holding the requests.
    pub pki_data_reference: BodyPartPath,
    /// The requests to modify.
    pub cert_references: BodyPartList,
    /// TRUE: the fields present in `cert_template` replace the request's; FALSE: the
    /// fields present are removed from the request (each extension is a field of its own).
    #[asn1(default = "default_true")]
    pub replace: bool,
    /// The fields to set.
    pub cert_template: CertTemplate,
}

impl AssociatedOid for ModCertTemplate {
    const OID: ObjectIdentifier = oid::ID_CMC_MOD_CERT_TEMPLATE;
}

/// `ControlsProcessed` (RFC 5272 §6.19), the value of `id-cmc-controlProcessed`.
///
/// ```text
/// ControlsProcessed ::= SEQUENCE {
///     bodyList              SEQUENCE SIZE(1..MAX) OF BodyPartReference
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ControlsProcessed {
    /// The controls an RA already handled.
    pub body_list: Vec<BodyPartReference>,
}

impl AssociatedOid for ControlsProcessed {
    const OID: ObjectIdentifier = oid::ID_CMC_CONTROL_PROCESSED;
}

/// `PublishTrustAnchors` (RFC 5272 §6.15), the value of `id-cmc-trustedAnchors`.
///
/// ```text
/// PublishTrustAnchors ::= SEQUENCE {
///     seqNumber      INTEGER,
///     hashAlgorithm  AlgorithmIdentifier{DIGEST-ALGORITHM,
///                        {HashAlgorithms}},
///     anchorHashes   SEQUENCE OF OCTET STRING
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PublishTrustAnchors {
    /// Increases with each update.
    pub seq_number: Int,
    /// Hash of the anchor certificates.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// Hashes of the trust anchors' certificates.
    pub anchor_hashes: Vec<OctetString>,
}

impl AssociatedOid for PublishTrustAnchors {
    const OID: ObjectIdentifier = oid::ID_CMC_TRUSTED_ANCHORS;
}

/// `CMCPublicationInfo` (RFC 5272 §6.18), the value of `id-cmc-publishCert`.
///
/// ```text
/// CMCPublicationInfo ::= SEQUENCE {
///     hashAlg        AlgorithmIdentifier{DIGEST-ALGORITHM,
///                          {HashAlgorithms}},
///     certHashes     SEQUENCE OF OCTET STRING,
///     pubInfo        PKIPublicationInfo
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CmcPublicationInfo {
    /// Hash of the certificates.
    pub hash_alg: AlgorithmIdentifierOwned,
    /// Hashes of the certificates to publish.
    pub cert_hashes: Vec<OctetString>,
    /// How and where.
    pub pub_info: PkiPublicationInfo,
}

impl AssociatedOid for CmcPublicationInfo {
    const OID: ObjectIdentifier = oid::ID_CMC_PUBLISH_CERT;
}

/// `CMCUnsignedData` (RFC 5272 §3.2.3): the unsigned attribute `id-aa-cmc-unsignedData` of
/// a SignerInfo, carrying data an RA may strip (e.g. a certificate for a nested request).
///
/// ```text
/// CMCUnsignedData ::= SEQUENCE {
///     bodyPartPath        BodyPartPath,
///     identifier          TYPE-IDENTIFIER.&id,
///     content             TYPE-IDENTIFIER.&Type
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CmcUnsignedData {
    /// The body part the data belongs to.
    pub body_part_path: BodyPartPath,
    /// Type of `content`.
    pub identifier: ObjectIdentifier,
    /// The data.
    pub content: Any,
}

impl AssociatedOid for CmcUnsignedData {
    const OID: ObjectIdentifier = oid::ID_AA_CMC_UNSIGNED_DATA;
}

/// `ChangeSubjectName` (RFC 6402 §2.8 with erratum 3943): a PKCS #10 attribute or CRMF
/// control `id-cmc-changeSubjectName` asking for a different subject than the one signed.
///
/// ```text
/// ChangeSubjectName ::= SEQUENCE {
///     subject             Name OPTIONAL,
///     subjectAlt          [1] GeneralNames OPTIONAL
/// }
/// (WITH COMPONENTS {..., subject PRESENT} |
///  WITH COMPONENTS {..., subjectAlt PRESENT} )
/// ```
///
/// IMPLICIT TAGS: `[1]` replaces the SEQUENCE tag of GeneralNames. RFC 6402 as published
/// had no tag on `subjectAlt`, which made the two SEQUENCEs indistinguishable; erratum 3943
/// and the rfc5272bis module add `[1]`, and this type follows them (pyasn1-modules still has
/// the untagged form). The "at least one" constraint is not enforced when decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct ChangeSubjectName {
    /// New subject name.
    pub subject: Option<Name>,
    /// New subject alternative names.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub subject_alt: Option<GeneralNames>,
}

impl AssociatedOid for ChangeSubjectName {
    const OID: ObjectIdentifier = oid::ID_CMC_CHANGE_SUBJECT_NAME;
}
