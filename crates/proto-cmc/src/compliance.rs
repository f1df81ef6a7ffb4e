//! What this CA does with every CMC control (RFC 5272 §6, RFC 6402): the code's side of
//! the compliance matrix. The test `tests/compliance.rs` walks RFC 5274's control table
//! (`compliance/rfc5274-controls.csv`), fails when a control the table requires of a CA is
//! missing here, and keeps the README's matrix equal to what [`matrix`] makes of both.
//!
//! [`Support::Handled`] controls that a request carries are exactly the ones the door
//! accepts (`SUPPORTED_CONTROLS`, checked by a unit test); any other control in a request
//! fails it with badRequest, and the reason given here is why.

use der::asn1::ObjectIdentifier;

use cmc_asn1::oid;

/// What the CA does with a control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Processed in a request, or produced in responses, where the RFC says: `place` names
    /// the code.
    Handled {
        /// Where (files of this crate or the engine).
        place: &'static str,
    },
    /// A request carrying it is refused (badRequest), or the CA never produces it: why.
    NotSupported {
        /// Why, and where the work is tracked.
        reason: &'static str,
    },
    /// Not a CA's to process or produce.
    NotApplicable {
        /// Why.
        reason: &'static str,
    },
}

/// One control and what the CA does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlSupport {
    /// The control's ASN.1 name (`id-cmc-...` without the prefix).
    pub name: &'static str,
    /// Its OID.
    pub oid: ObjectIdentifier,
    /// Whether a request carries it (else the CA produces it in responses).
    pub in_requests: bool,
    /// What the CA does with it.
    pub support: Support,
}

const fn handled(
    name: &'static str,
    oid: ObjectIdentifier,
    in_requests: bool,
    place: &'static str,
) -> ControlSupport {
    ControlSupport {
        name,
        oid,
        in_requests,
        support: Support::Handled { place },
    }
}

const fn not_yet(
    name: &'static str,
    oid: ObjectIdentifier,
    in_requests: bool,
    reason: &'static str,
) -> ControlSupport {
    ControlSupport {
        name,
        oid,
        in_requests,
        support: Support::NotSupported { reason },
    }
}

/// Every CMC control of RFC 5272 and RFC 6402, and what this CA does with it.
pub const CONTROLS: &[ControlSupport] = &[
    handled(
        "statusInfoV2",
        oid::ID_CMC_STATUS_INFO_V2,
        false,
        "respond.rs: every response's status, with failInfo (extendedFailInfo never set)",
    ),
    not_yet(
        "statusInfo",
        oid::ID_CMC_STATUS_INFO,
        false,
        "responses carry statusInfoV2 only, as RFC 5272 §6.1.1 asks of new implementations",
    ),
    handled(
        "identityProofV2",
        oid::ID_CMC_IDENTITY_PROOF_V2,
        true,
        "identify.rs, cmc-ca identify.rs (one-time secrets)",
    ),
    handled(
        "identityProof",
        oid::ID_CMC_IDENTITY_PROOF,
        true,
        "identify.rs (SHA-1, only where allow_sha1_identity_proof)",
    ),
    handled(
        "identification",
        oid::ID_CMC_IDENTIFICATION,
        true,
        "identify.rs",
    ),
    handled(
        "popLinkRandom",
        oid::ID_CMC_POP_LINK_RANDOM,
        true,
        "certify.rs",
    ),
    handled(
        "popLinkWitnessV2",
        oid::ID_CMC_POP_LINK_WITNESS_V2,
        true,
        "certify.rs (an attribute of the certification request)",
    ),
    handled(
        "popLinkWitness",
        oid::ID_CMC_POP_LINK_WITNESS,
        true,
        "certify.rs (version 1, SHA-1: for secrets registered with SHA-1, where allow_sha1_identity_proof)",
    ),
    handled(
        "dataReturn",
        oid::ID_CMC_DATA_RETURN,
        true,
        "reply.rs (echoed)",
    ),
    handled(
        "modCertTemplate",
        oid::ID_CMC_MOD_CERT_TEMPLATE,
        true,
        "modify.rs (`RaControls`, `Modify::apply`): from an RA only, after POP, through the profile and name rules",
    ),
    handled(
        "addExtensions",
        oid::ID_CMC_ADD_EXTENSIONS,
        true,
        "modify.rs (`RaControls`, `Modify::apply`): from an RA only, filtered by the profile like requested extensions",
    ),
    handled(
        "transactionId",
        oid::ID_CMC_TRANSACTION_ID,
        true,
        "replay.rs, encrypted_pop.rs, reply.rs (echoed)",
    ),
    handled(
        "senderNonce",
        oid::ID_CMC_SENDER_NONCE,
        true,
        "replay.rs (remembered per signer), reply.rs (echoed as recipientNonce)",
    ),
    handled(
        "recipientNonce",
        oid::ID_CMC_RECIPIENT_NONCE,
        true,
        "accepted in requests (the CA keeps no nonce of its own to compare); set in responses",
    ),
    handled(
        "encryptedPOP",
        oid::ID_CMC_ENCRYPTED_POP,
        false,
        "encrypted_pop.rs (the challenge for a key that cannot sign)",
    ),
    handled(
        "decryptedPOP",
        oid::ID_CMC_DECRYPTED_POP,
        true,
        "encrypted_pop.rs",
    ),
    handled(
        "lraPOPWitness",
        oid::ID_CMC_LRA_POP_WITNESS,
        true,
        "certify.rs, nested.rs (from RAs only)",
    ),
    handled("getCert", oid::ID_CMC_GET_CERT, true, "fetch.rs"),
    handled("getCRL", oid::ID_CMC_GET_CRL, true, "fetch.rs"),
    handled(
        "revokeRequest",
        oid::ID_CMC_REVOKE_REQUEST,
        true,
        "revoke.rs, cmc-ca revoke_request.rs",
    ),
    handled(
        "regInfo",
        oid::ID_CMC_REG_INFO,
        true,
        "reply.rs (returned as responseInfo)",
    ),
    handled(
        "responseInfo",
        oid::ID_CMC_RESPONSE_INFO,
        false,
        "reply.rs (the request's regInfo)",
    ),
    handled("queryPending", oid::ID_CMC_QUERY_PENDING, true, "query.rs"),
    handled(
        "confirmCertAcceptance",
        oid::ID_CMC_CONFIRM_CERT_ACCEPTANCE,
        true,
        "revoke.rs (accept), cmc-ca accept.rs: by the requester or holder, recorded once and audited; a profile may withhold OCSP \"good\" until then (require_acceptance)",
    ),
    handled(
        "trustedAnchors",
        oid::ID_CMC_TRUSTED_ANCHORS,
        false,
        "authenticated.rs, cmc-ca trust_anchors.rs: the root's SHA-256 in the authData PKIData answering a shared-secret request (`publish_trust_anchors`)",
    ),
    handled(
        "authData",
        oid::ID_CMC_AUTH_DATA,
        false,
        "authenticated.rs, reply.rs: an AuthenticatedData keyed by the request's shared secret; requests in an AuthenticatedData (PasswordRecipientInfo, PBKDF2, AES key wrap) are taken",
    ),
    handled(
        "batchRequests",
        oid::ID_CMC_BATCH_REQUESTS,
        true,
        "nested.rs",
    ),
    handled(
        "batchResponses",
        oid::ID_CMC_BATCH_RESPONSES,
        false,
        "respond.rs (the answer to batchRequests)",
    ),
    handled(
        "publishCert",
        oid::ID_CMC_PUBLISH_CERT,
        true,
        "publish.rs, cmc-ca publication.rs: dontPublish withdraws from getCert (the requester, holder and agents still fetch it), pleasePublish restores it; x500/ldap or a pubLocation are noSupport",
    ),
    handled(
        "controlProcessed",
        oid::ID_CMC_CONTROL_PROCESSED,
        true,
        "modify.rs (`RaControls`, `FromRa::view`): the nested controls an RA handled are not processed again",
    ),
    handled(
        "raIdentityWitness",
        oid::ID_CMC_RA_IDENTITY_WITNESS,
        true,
        "modify.rs (`RaControls`): an RA's witness of a nested identity proof",
    ),
    handled(
        "changeSubjectName",
        oid::ID_CMC_CHANGE_SUBJECT_NAME,
        true,
        "modify.rs (`Modify::apply`): the attribute of a request signed by the certificate it renames, within the signer's names",
    ),
    handled(
        "responseBody",
        oid::ID_CMC_RESPONSE_BODY,
        false,
        "respond.rs (names the answer to each nested request)",
    ),
];

/// What [`CONTROLS`] says of `oid`, if it names a CMC control.
#[must_use]
pub fn support_of(oid: &ObjectIdentifier) -> Option<&'static ControlSupport> {
    CONTROLS.iter().find(|c| c.oid == *oid)
}

/// One row of RFC 5274's control table: the control's name there, its OID and what it asks
/// of EEs, RAs and CAs (as the table writes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRow {
    /// The control's name in the table.
    pub control: String,
    /// Its OID.
    pub oid: ObjectIdentifier,
    /// EE, RA, CA requirement cells.
    pub ee: String,
    /// As `ee`.
    pub ra: String,
    /// As `ee`.
    pub ca: String,
}

impl TableRow {
    /// What the table asks of a CA designed to work with RAs: note (2) is MUST, (1) SHOULD,
    /// (3) optional.
    #[must_use]
    pub fn ca_requirement(&self) -> &str {
        match self.ca.as_str() {
            "(2)" => "MUST",
            "(1)" => "SHOULD",
            "(3)" => "optional",
            other => other,
        }
    }
}

/// Parses the table's CSV (`control,oid,ee,ra,ca`; `#` comments, one header line).
///
/// # Errors
/// A line that does not have five fields or a valid OID, named by its number.
pub fn parse_table(text: &str) -> Result<Vec<TableRow>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|(n, line)| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let [control, oid, ee, ra, ca] = f.as_slice() else {
                return Err(format!("line {}: expected 5 fields", n + 1));
            };
            Ok(TableRow {
                control: (*control).to_owned(),
                oid: ObjectIdentifier::new(oid).map_err(|e| format!("line {}: {e}", n + 1))?,
                ee: (*ee).to_owned(),
                ra: (*ra).to_owned(),
                ca: (*ca).to_owned(),
            })
        })
        .collect()
}

/// The compliance matrix as a Markdown table: every row of RFC 5274's table with what the
/// CA must do and what it does.
#[must_use]
pub fn matrix(table: &[TableRow]) -> String {
    let mut out = String::from(
        "| control (RFC 5274) | CA must | this CA | where, or why not |\n| --- | --- | --- | --- |\n",
    );
    for row in table {
        let (status, detail) = match support_of(&row.oid).map(|c| c.support) {
            Some(Support::Handled { place }) => ("handled", place),
            Some(Support::NotSupported { reason }) => ("not supported", reason),
            Some(Support::NotApplicable { reason }) => ("not applicable", reason),
            None => ("missing", "not listed in proto-cmc compliance.rs"),
        };
        out.push_str(&format!(
            "| {} | {} | {status} | {detail} |\n",
            row.control,
            row.ca_requirement()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handled_request_controls_are_the_ones_the_door_accepts() {
        let mut handled: Vec<ObjectIdentifier> = CONTROLS
            .iter()
            .filter(|c| c.in_requests && matches!(c.support, Support::Handled { .. }))
            // Attributes of a certification request, not controls of the PKIData.
            .filter(|c| {
                ![
                    oid::ID_CMC_POP_LINK_WITNESS_V2,
                    oid::ID_CMC_POP_LINK_WITNESS,
                    oid::ID_CMC_CHANGE_SUBJECT_NAME,
                ]
                .contains(&c.oid)
            })
            .map(|c| c.oid)
            .collect();
        let mut accepted = crate::controls::SUPPORTED_CONTROLS.to_vec();
        handled.sort();
        accepted.sort();
        assert_eq!(handled, accepted);
    }

    #[test]
    fn every_control_is_listed_once() {
        for (i, c) in CONTROLS.iter().enumerate() {
            assert!(
                CONTROLS[i + 1..].iter().all(|d| d.oid != c.oid),
                "{} twice",
                c.name
            );
        }
    }
}
