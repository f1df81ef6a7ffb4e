//! Object identifiers used by CMC (RFC 5272 Appendix A, RFC 6402).
//!
//! Identifiers that `const_oid::db` gets right are re-exported from there; the ones it lacks or
//! gets wrong are declared here, once.
//!
//! # The const-oid trap
//!
//! `const_oid::db::rfc5912` (generated from the RFC 5912 ASN.1 modules) defines
//! `ID_CMC_IDENTITY_PROOF_V_2` as `1.3.6.1.5.5.7.7.33` and `ID_CMC_POP_LINK_WITNESS_V_2` as
//! `1.3.6.1.5.5.7.7.34`, and so does the ASN.1 appendix of the rfc5272bis draft. The control
//! table and section text of RFC 5272 (§6.2.1, §6.3.1.1), BouncyCastle and pyasn1-modules all
//! use **identityProofV2 = .34** and **popLinkWitnessV2 = .33**, and that is what clients send.
//! This module follows the clients: use [`ID_CMC_IDENTITY_PROOF_V2`] and
//! [`ID_CMC_POP_LINK_WITNESS_V2`], never the `_V_2` constants of const-oid.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc6211};

/// `id-pkix-cmc` arc, `1.3.6.1.5.5.7.7` (RFC 5272 §A).
pub const ID_CMC: ObjectIdentifier = rfc5912::ID_CMC;

/// `id-cmc-statusInfo` (.1), value [`crate::CmcStatusInfo`] (RFC 5272 §6.1.2).
pub const ID_CMC_STATUS_INFO: ObjectIdentifier = rfc5912::ID_CMC_STATUS_INFO;
/// `id-cmc-identification` (.2), value UTF8String (RFC 5272 §6.2.3).
pub const ID_CMC_IDENTIFICATION: ObjectIdentifier = rfc5912::ID_CMC_IDENTIFICATION;
/// `id-cmc-identityProof` (.3), value OCTET STRING (RFC 5272 §6.2.2).
pub const ID_CMC_IDENTITY_PROOF: ObjectIdentifier = rfc5912::ID_CMC_IDENTITY_PROOF;
/// `id-cmc-dataReturn` (.4), value OCTET STRING (RFC 5272 §6.4).
pub const ID_CMC_DATA_RETURN: ObjectIdentifier = rfc5912::ID_CMC_DATA_RETURN;
/// `id-cmc-transactionId` (.5), value INTEGER (RFC 5272 §6.6).
pub const ID_CMC_TRANSACTION_ID: ObjectIdentifier = rfc5912::ID_CMC_TRANSACTION_ID;
/// `id-cmc-senderNonce` (.6), value OCTET STRING (RFC 5272 §6.6).
pub const ID_CMC_SENDER_NONCE: ObjectIdentifier = rfc5912::ID_CMC_SENDER_NONCE;
/// `id-cmc-recipientNonce` (.7), value OCTET STRING (RFC 5272 §6.6).
pub const ID_CMC_RECIPIENT_NONCE: ObjectIdentifier = rfc5912::ID_CMC_RECIPIENT_NONCE;
/// `id-cmc-addExtensions` (.8), value `AddExtensions` (RFC 5272 §6.5.2).
pub const ID_CMC_ADD_EXTENSIONS: ObjectIdentifier = rfc5912::ID_CMC_ADD_EXTENSIONS;
/// `id-cmc-encryptedPOP` (.9), value `EncryptedPOP` (RFC 5272 §6.7).
pub const ID_CMC_ENCRYPTED_POP: ObjectIdentifier = rfc5912::ID_CMC_ENCRYPTED_POP;
/// `id-cmc-decryptedPOP` (.10), value `DecryptedPOP` (RFC 5272 §6.7).
pub const ID_CMC_DECRYPTED_POP: ObjectIdentifier = rfc5912::ID_CMC_DECRYPTED_POP;
/// `id-cmc-lraPOPWitness` (.11), value [`crate::LraPopWitness`] (RFC 5272 §6.8).
pub const ID_CMC_LRA_POP_WITNESS: ObjectIdentifier = rfc5912::ID_CMC_LRA_POP_WITNESS;
/// `id-cmc-getCert` (.15), value [`crate::GetCert`] (RFC 5272 §6.9).
pub const ID_CMC_GET_CERT: ObjectIdentifier = rfc5912::ID_CMC_GET_CERT;
/// `id-cmc-getCRL` (.16), value [`crate::GetCrl`] (RFC 5272 §6.10).
pub const ID_CMC_GET_CRL: ObjectIdentifier = rfc5912::ID_CMC_GET_CRL;
/// `id-cmc-revokeRequest` (.17), value [`crate::RevokeRequest`] (RFC 5272 §6.11).
pub const ID_CMC_REVOKE_REQUEST: ObjectIdentifier = rfc5912::ID_CMC_REVOKE_REQUEST;
/// `id-cmc-regInfo` (.18), value OCTET STRING (RFC 5272 §6.12).
pub const ID_CMC_REG_INFO: ObjectIdentifier = rfc5912::ID_CMC_REG_INFO;
/// `id-cmc-responseInfo` (.19), value OCTET STRING (RFC 5272 §6.12).
pub const ID_CMC_RESPONSE_INFO: ObjectIdentifier = rfc5912::ID_CMC_RESPONSE_INFO;
/// `id-cmc-queryPending` (.21), value OCTET STRING (RFC 5272 §6.13).
pub const ID_CMC_QUERY_PENDING: ObjectIdentifier = rfc5912::ID_CMC_QUERY_PENDING;
/// `id-cmc-popLinkRandom` (.22), value OCTET STRING (RFC 5272 §6.3.1.3).
pub const ID_CMC_POP_LINK_RANDOM: ObjectIdentifier = rfc5912::ID_CMC_POP_LINK_RANDOM;
/// `id-cmc-popLinkWitness` (.23), value OCTET STRING (RFC 5272 §6.3.1.2).
pub const ID_CMC_POP_LINK_WITNESS: ObjectIdentifier = rfc5912::ID_CMC_POP_LINK_WITNESS;
/// `id-cmc-confirmCertAcceptance` (.24), value `CMCCertId` (RFC 5272 §6.14).
pub const ID_CMC_CONFIRM_CERT_ACCEPTANCE: ObjectIdentifier =
    rfc5912::ID_CMC_CONFIRM_CERT_ACCEPTANCE;
/// `id-cmc-statusInfoV2` (.25), value [`crate::CmcStatusInfoV2`] (RFC 5272 §6.1.1).
pub const ID_CMC_STATUS_INFO_V2: ObjectIdentifier = rfc5912::ID_CMC_STATUS_INFO_V_2;
/// `id-cmc-trustedAnchors` (.26), value `PublishTrustAnchors` (RFC 5272 §6.15).
pub const ID_CMC_TRUSTED_ANCHORS: ObjectIdentifier = rfc5912::ID_CMC_TRUSTED_ANCHORS;
/// `id-cmc-authData` (.27), value `AuthPublish` (RFC 5272 §6.16).
pub const ID_CMC_AUTH_DATA: ObjectIdentifier = rfc5912::ID_CMC_AUTH_DATA;
/// `id-cmc-batchRequests` (.28), value `BodyPartList` (RFC 5272 §6.17).
pub const ID_CMC_BATCH_REQUESTS: ObjectIdentifier = rfc5912::ID_CMC_BATCH_REQUESTS;
/// `id-cmc-batchResponses` (.29), value `BodyPartList` (RFC 5272 §6.17).
pub const ID_CMC_BATCH_RESPONSES: ObjectIdentifier = rfc5912::ID_CMC_BATCH_RESPONSES;
/// `id-cmc-publishCert` (.30), value `CMCPublicationInfo` (RFC 5272 §6.18).
pub const ID_CMC_PUBLISH_CERT: ObjectIdentifier = rfc5912::ID_CMC_PUBLISH_CERT;
/// `id-cmc-modCertTemplate` (.31), value `ModCertTemplate` (RFC 5272 §6.5.1).
pub const ID_CMC_MOD_CERT_TEMPLATE: ObjectIdentifier = rfc5912::ID_CMC_MOD_CERT_TEMPLATE;
/// `id-cmc-controlProcessed` (.32), value `ControlsProcessed` (RFC 5272 §6.19).
pub const ID_CMC_CONTROL_PROCESSED: ObjectIdentifier = rfc5912::ID_CMC_CONTROL_PROCESSED;
/// `id-cmc-popLinkWitnessV2` (.33), value `PopLinkWitnessV2` (RFC 5272 §6.3.1.1).
///
/// Declared here because const-oid's `ID_CMC_POP_LINK_WITNESS_V_2` is .34 (see the module docs).
pub const ID_CMC_POP_LINK_WITNESS_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.7.33");
/// `id-cmc-identityProofV2` (.34), value `IdentityProofV2` (RFC 5272 §6.2.1).
///
/// Declared here because const-oid's `ID_CMC_IDENTITY_PROOF_V_2` is .33 (see the module docs).
pub const ID_CMC_IDENTITY_PROOF_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.7.34");
/// `id-cmc-raIdentityWitness` (.35), value [`crate::RaIdentityWitness`] (added by RFC 6402;
/// §6.20 of the rfc5272bis draft). Missing from const-oid.
pub const ID_CMC_RA_IDENTITY_WITNESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.7.35");
/// `id-cmc-changeSubjectName` (.36), attribute value [`crate::ChangeSubjectName`] (RFC 6402
/// §2.8). Missing from const-oid.
pub const ID_CMC_CHANGE_SUBJECT_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.7.36");
/// `id-cmc-responseBody` (.37), value [`crate::ResponseBodyPath`] (added by RFC 6402;
/// §6.21 of the rfc5272bis draft). Missing from const-oid.
pub const ID_CMC_RESPONSE_BODY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.7.37");

/// `id-cct` arc, `1.3.6.1.5.5.7.12`.
pub const ID_CCT: ObjectIdentifier = rfc5912::ID_CCT;
/// `id-cct-PKIData`, the eContentType of a Full PKI Request (RFC 5272 §3.2).
pub const ID_CCT_PKI_DATA: ObjectIdentifier = rfc5912::ID_CCT_PKI_DATA;
/// `id-cct-PKIResponse`, the eContentType of a Full PKI Response (RFC 5272 §4.2).
pub const ID_CCT_PKI_RESPONSE: ObjectIdentifier = rfc5912::ID_CCT_PKI_RESPONSE;

/// `id-kp-cmcCA`, extended key usage of a CA that speaks CMC (added by RFC 6402).
pub const ID_KP_CMC_CA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.27");
/// `id-kp-cmcRA`, extended key usage of an RA that speaks CMC (added by RFC 6402).
pub const ID_KP_CMC_RA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.28");
/// `id-kp-cmcArchive`, extended key usage of a key-archive server (added by RFC 6402).
pub const ID_KP_CMC_ARCHIVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.29");
/// `id-ad-cmc`, Subject Information Access method naming a CMC server (added by RFC 6402).
pub const ID_AD_CMC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.12");

/// `id-alg-noSignature` (RFC 5272 §3.2.1.2.1, Appendix C).
pub const ID_ALG_NO_SIGNATURE: ObjectIdentifier = rfc5912::ID_ALG_NO_SIGNATURE;
/// `id-aa-cmc-unsignedData`, unsigned attribute holding [`crate::CmcUnsignedData`]
/// (RFC 5272 §3.2.3).
pub const ID_AA_CMC_UNSIGNED_DATA: ObjectIdentifier = rfc5912::ID_AA_CMC_UNSIGNED_DATA;
/// `id-aa-CMSAlgorithmProtection`, signed attribute of RFC 6211 that CMC clients send.
pub const ID_AA_CMS_ALGORITHM_PROTECTION: ObjectIdentifier =
    rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION;

/// Every `id-cmc-*` control identifier with its ASN.1 name, in arc order.
pub const CMC_CONTROLS: &[(ObjectIdentifier, &str)] = &[
    (ID_CMC_STATUS_INFO, "id-cmc-statusInfo"),
    (ID_CMC_IDENTIFICATION, "id-cmc-identification"),
    (ID_CMC_IDENTITY_PROOF, "id-cmc-identityProof"),
    (ID_CMC_DATA_RETURN, "id-cmc-dataReturn"),
    (ID_CMC_TRANSACTION_ID, "id-cmc-transactionId"),
    (ID_CMC_SENDER_NONCE, "id-cmc-senderNonce"),
    (ID_CMC_RECIPIENT_NONCE, "id-cmc-recipientNonce"),
    (ID_CMC_ADD_EXTENSIONS, "id-cmc-addExtensions"),
    (ID_CMC_ENCRYPTED_POP, "id-cmc-encryptedPOP"),
    (ID_CMC_DECRYPTED_POP, "id-cmc-decryptedPOP"),
    (ID_CMC_LRA_POP_WITNESS, "id-cmc-lraPOPWitness"),
    (ID_CMC_GET_CERT, "id-cmc-getCert"),
    (ID_CMC_GET_CRL, "id-cmc-getCRL"),
    (ID_CMC_REVOKE_REQUEST, "id-cmc-revokeRequest"),
    (ID_CMC_REG_INFO, "id-cmc-regInfo"),
    (ID_CMC_RESPONSE_INFO, "id-cmc-responseInfo"),
    (ID_CMC_QUERY_PENDING, "id-cmc-queryPending"),
    (ID_CMC_POP_LINK_RANDOM, "id-cmc-popLinkRandom"),
    (ID_CMC_POP_LINK_WITNESS, "id-cmc-popLinkWitness"),
    (
        ID_CMC_CONFIRM_CERT_ACCEPTANCE,
        "id-cmc-confirmCertAcceptance",
    ),
    (ID_CMC_STATUS_INFO_V2, "id-cmc-statusInfoV2"),
    (ID_CMC_TRUSTED_ANCHORS, "id-cmc-trustedAnchors"),
    (ID_CMC_AUTH_DATA, "id-cmc-authData"),
    (ID_CMC_BATCH_REQUESTS, "id-cmc-batchRequests"),
    (ID_CMC_BATCH_RESPONSES, "id-cmc-batchResponses"),
    (ID_CMC_PUBLISH_CERT, "id-cmc-publishCert"),
    (ID_CMC_MOD_CERT_TEMPLATE, "id-cmc-modCertTemplate"),
    (ID_CMC_CONTROL_PROCESSED, "id-cmc-controlProcessed"),
    (ID_CMC_POP_LINK_WITNESS_V2, "id-cmc-popLinkWitnessV2"),
    (ID_CMC_IDENTITY_PROOF_V2, "id-cmc-identityProofV2"),
    (ID_CMC_RA_IDENTITY_WITNESS, "id-cmc-raIdentityWitness"),
    (ID_CMC_CHANGE_SUBJECT_NAME, "id-cmc-changeSubjectName"),
    (ID_CMC_RESPONSE_BODY, "id-cmc-responseBody"),
];

/// The ASN.1 name of an `id-cmc-*` control, or `None` for any other identifier.
pub fn control_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    CMC_CONTROLS
        .iter()
        .find(|(o, _)| o == oid)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arc(n: u32) -> ObjectIdentifier {
        ID_CMC.push_arc(n).unwrap()
    }

    /// Pins identityProofV2 = .34 and popLinkWitnessV2 = .33 (RFC 5272 §6.2.1, §6.3.1.1 and
    /// every client), and documents that const-oid's database has them the other way round.
    /// If const-oid ever fixes its database the second pair of asserts fails: then switch the
    /// constants above back to re-exports.
    #[test]
    fn v2_proof_and_witness_are_not_swapped() {
        assert_eq!(ID_CMC_POP_LINK_WITNESS_V2.to_string(), "1.3.6.1.5.5.7.7.33");
        assert_eq!(ID_CMC_IDENTITY_PROOF_V2.to_string(), "1.3.6.1.5.5.7.7.34");
        // The trap: const-oid 0.10 swaps them.
        assert_eq!(
            rfc5912::ID_CMC_IDENTITY_PROOF_V_2,
            ID_CMC_POP_LINK_WITNESS_V2
        );
        assert_eq!(
            rfc5912::ID_CMC_POP_LINK_WITNESS_V_2,
            ID_CMC_IDENTITY_PROOF_V2
        );
    }

    #[test]
    fn control_arcs_match_the_rfc_table() {
        let expected: &[(u32, ObjectIdentifier)] = &[
            (1, ID_CMC_STATUS_INFO),
            (2, ID_CMC_IDENTIFICATION),
            (3, ID_CMC_IDENTITY_PROOF),
            (4, ID_CMC_DATA_RETURN),
            (5, ID_CMC_TRANSACTION_ID),
            (6, ID_CMC_SENDER_NONCE),
            (7, ID_CMC_RECIPIENT_NONCE),
            (8, ID_CMC_ADD_EXTENSIONS),
            (9, ID_CMC_ENCRYPTED_POP),
            (10, ID_CMC_DECRYPTED_POP),
            (11, ID_CMC_LRA_POP_WITNESS),
            (15, ID_CMC_GET_CERT),
            (16, ID_CMC_GET_CRL),
            (17, ID_CMC_REVOKE_REQUEST),
            (18, ID_CMC_REG_INFO),
            (19, ID_CMC_RESPONSE_INFO),
            (21, ID_CMC_QUERY_PENDING),
            (22, ID_CMC_POP_LINK_RANDOM),
            (23, ID_CMC_POP_LINK_WITNESS),
            (24, ID_CMC_CONFIRM_CERT_ACCEPTANCE),
            (25, ID_CMC_STATUS_INFO_V2),
            (26, ID_CMC_TRUSTED_ANCHORS),
            (27, ID_CMC_AUTH_DATA),
            (28, ID_CMC_BATCH_REQUESTS),
            (29, ID_CMC_BATCH_RESPONSES),
            (30, ID_CMC_PUBLISH_CERT),
            (31, ID_CMC_MOD_CERT_TEMPLATE),
            (32, ID_CMC_CONTROL_PROCESSED),
            (33, ID_CMC_POP_LINK_WITNESS_V2),
            (34, ID_CMC_IDENTITY_PROOF_V2),
            (35, ID_CMC_RA_IDENTITY_WITNESS),
            (36, ID_CMC_CHANGE_SUBJECT_NAME),
            (37, ID_CMC_RESPONSE_BODY),
        ];
        for (n, oid) in expected {
            assert_eq!(*oid, arc(*n), "id-cmc {n}");
        }
        assert_eq!(CMC_CONTROLS.len(), expected.len());
        for ((oid, _), (_, e)) in CMC_CONTROLS.iter().zip(expected) {
            assert_eq!(oid, e);
        }
    }

    #[test]
    fn other_identifiers() {
        assert_eq!(ID_CCT_PKI_DATA.to_string(), "1.3.6.1.5.5.7.12.2");
        assert_eq!(ID_CCT_PKI_RESPONSE.to_string(), "1.3.6.1.5.5.7.12.3");
        assert_eq!(ID_AD_CMC.to_string(), "1.3.6.1.5.5.7.48.12");
        assert_eq!(
            ID_AA_CMS_ALGORITHM_PROTECTION.to_string(),
            "1.2.840.113549.1.9.52"
        );
        assert_eq!(ID_ALG_NO_SIGNATURE.to_string(), "1.3.6.1.5.5.7.6.2");
        assert_eq!(
            ID_AA_CMC_UNSIGNED_DATA.to_string(),
            "1.2.840.113549.1.9.16.2.34"
        );
        assert_eq!(
            control_name(&ID_CMC_IDENTITY_PROOF_V2),
            Some("id-cmc-identityProofV2")
        );
        assert_eq!(control_name(&ID_CCT_PKI_DATA), None);
    }
}
