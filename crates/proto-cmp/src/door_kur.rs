//! kur → kup (RFC 4210 §5.3.5, Lightweight CMP Profile RFC 9483 §4.1.3): a key update,
//! protected by the certificate being updated.
//!
//! The signer must be the holder of a valid, unrevoked certificate of this CA
//! ([`PrincipalKind::Holder`]; a revoked or foreign certificate is already refused when
//! the door authenticates the sender). The request then goes through the same path as an
//! ir or cr by that holder, and so through the engine's renewal rules of CMC
//! (`Engine::enroll`: the subject of the old certificate, a subset of its names, a new key
//! unless the profile allows reuse, the profile it was issued with). A registered client's
//! credential is not updated here: the operator renews credentials (`cmc-tool client`); a
//! MAC-protected kur proves no certificate and is refused the same way.
//!
//! The `id-regCtrl-oldCertID` control (RFC 4211 §6.5), when present, must name the
//! protecting certificate (badCertId otherwise). A certConf follows as after an ir.

use cmc_ca::{Engine, LoadedCa, Principal, PrincipalKind, Replay};
use const_oid::db::rfc5912::ID_REG_CTRL_OLD_CERT_ID;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

use crate::door::{Refusal, Transaction};
use crate::{CertId, CertRepMessage, CertReqMessages, CmpDoor, FailureBit, Received};

impl CmpDoor {
    /// The kup for a kur from `principal` (see the module documentation).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn key_update(
        &self,
        engine: &Engine,
        ca: &LoadedCa,
        principal: &Principal,
        reqs: &CertReqMessages,
        received: &Received,
        replay: &Replay,
        tx: Transaction<'_>,
        issued: &mut usize,
    ) -> Result<CertRepMessage, Refusal> {
        if principal.kind() != PrincipalKind::Holder {
            return Err(Refusal::new(
                FailureBit::NotAuthorized,
                "a kur is protected by the certificate it updates; a registered client's credential is renewed by the operator",
            ));
        }
        let old = Certificate::from_der(principal.credential())
            .map_err(|_| Refusal::new(FailureBit::SystemFailure, "protecting certificate"))?;
        for msg in reqs {
            check_old_cert_id(msg, &old)?;
        }
        self.crmf(engine, ca, principal, reqs, received, replay, tx, issued)
            .map_err(|r| match r.bit {
                // The engine refuses a renewal that changes the subject (or asks for names the
                // old certificate does not have) with badIdentity, which the door maps to
                // signerNotTrusted; the signer is known here, the template is what is wrong.
                FailureBit::SignerNotTrusted => Refusal::new(FailureBit::BadCertTemplate, r.text),
                _ => r,
            })
    }
}

/// The `oldCertID` control of `msg`, if any, names `old`.
fn check_old_cert_id(msg: &crate::CertReqMsg, old: &Certificate) -> Result<(), Refusal> {
    let controls = msg.cert_req.controls.iter().flatten();
    for control in controls.filter(|c| c.oid == ID_REG_CTRL_OLD_CERT_ID) {
        let id: CertId = control
            .value
            .decode_as()
            .map_err(|_| Refusal::new(FailureBit::BadDataFormat, "malformed oldCertID"))?;
        if !names(&id, old) {
            return Err(Refusal::new(
                FailureBit::BadCertId,
                "oldCertID does not name the certificate that protects the kur",
            ));
        }
    }
    Ok(())
}

/// Whether `id` is `cert`'s issuer and serial number.
fn names(id: &CertId, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    let issuer = matches!(&id.issuer, GeneralName::DirectoryName(n) if n == tbs.issuer());
    // Both are the content octets of a DER INTEGER, minimal by DER's rules.
    let serial = id.serial_number.as_bytes() == tbs.serial_number().as_bytes();
    issuer && serial
}
