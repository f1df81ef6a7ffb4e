//! revokeRequest (RFC 5272 §6.11): by a client, a holder, or unsigned with
//! a revocation secret; who may revoke what is the engine's
//! ([`Engine::revoke_as`], [`Engine::revoke_with_secret`]).

use cmc_ca::{RevocationReason, RevocationRequest};

use super::*;

/// The engine's form of a revokeRequest.
fn revocation(revoke: &RevokeRequest) -> Result<RevocationRequest<'_>, Failure> {
    let reason = u8::try_from(revoke.reason as u32)
        .ok()
        .and_then(|c| RevocationReason::from_code(c).ok())
        .ok_or_else(|| Failure::failed(CmcFailInfo::BadRequest, "unusable revocation reason"))?;
    Ok(RevocationRequest {
        issuer: &revoke.issuer_name,
        serial: &revoke.serial_number,
        reason,
        invalidity: revoke
            .invalidity_date
            .map(|t| UnixTime::from_system_time(t.to_system_time())),
    })
}

impl Cmc<'_> {
    /// One confirmCertAcceptance control (RFC 5272 §6.14): the signer accepts a certificate
    /// of this CA that was issued to it (`Engine::accept_certificate`).
    pub(super) fn accept(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        accepted: &CmcCertId,
    ) -> Result<(), Failure> {
        let unknown = || Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA");
        if accepted.0.issuer != *ca.subject() {
            return Err(unknown());
        }
        let serial =
            cmc_ca::x509::store_serial(&accepted.0.serial_number).map_err(|_| unknown())?;
        self.engine.accept_certificate(ca.name(), signer, &serial)?;
        Ok(())
    }

    /// One revokeRequest control of a signed request.
    pub(super) fn revoke_requested(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        revoke: &RevokeRequest,
    ) -> Result<(), Failure> {
        let revocation = revocation(revoke)?;
        Ok(self.engine.revoke_as(ca.name(), signer, &revocation)?)
    }

    /// An unsigned Full PKI Request: only revokeRequests that each carry
    /// the revocation secret registered for their certificate (RFC 5272
    /// §6.11), with the usual echo controls. Anything else proves no
    /// identity.
    pub(super) fn process_unsigned(
        &self,
        ca: &LoadedCa,
        pki_data: &PkiData,
    ) -> Result<PartResults, MessageFailure> {
        let revocations = pki_data.controls_of::<RevokeRequest>().map_err(|_| {
            MessageFailure::message(CmcFailInfo::BadRequest, "malformed revokeRequest")
        })?;
        let only_revocations = !revocations.is_empty()
            && pki_data.req_sequence.is_empty()
            && pki_data.cms_sequence.is_empty()
            && pki_data.other_msg_sequence.is_empty();
        if !only_revocations {
            return Err(MessageFailure::message(
                CmcFailInfo::BadIdentity,
                "an unsigned request proves no identity: sign it (with the requested key and identityProofV2 for a first certificate); only a revokeRequest with its revocation secret may be unsigned",
            ));
        }
        body_part_ids(pki_data)?;
        check_control_limits(pki_data, &self.engine.config().requests)?;
        refuse_controls(
            pki_data,
            "unsupported control in an unsigned request",
            |oid| !UNSIGNED_CONTROLS.contains(oid),
        )?;
        let mut outcome = PartResults::default();
        admin::refuse_admin(pki_data, &mut outcome);
        for (id, revoke) in revocations {
            match self.revoke_by_secret(ca, &revoke) {
                Ok(()) => outcome.succeeded.push(id),
                Err(failure) => outcome.failed.push((failure, id)),
            }
        }
        Ok(outcome)
    }

    /// One unsigned revokeRequest: its passphrase (sharedSecret) is the
    /// certificate's revocation secret.
    fn revoke_by_secret(&self, ca: &LoadedCa, revoke: &RevokeRequest) -> Result<(), Failure> {
        let Some(passphrase) = &revoke.passphrase else {
            return Err(Failure::failed(
                CmcFailInfo::BadIdentity,
                "an unsigned revokeRequest needs the certificate's revocation secret",
            ));
        };
        let revocation = revocation(revoke)?;
        Ok(self
            .engine
            .revoke_with_secret(ca.name(), &revocation, passphrase.as_bytes())?)
    }
}
