//! rr → rp (RFC 4210 §5.3.9–§5.3.10, Lightweight CMP Profile RFC 9483 §4.2): revocation
//! through the engine ([`Engine::revoke_as_reporting`]), whose model says who may revoke
//! what: the holder of a certificate that very certificate (it signs the rr with it), an RA
//! the end-entity certificates of its CAs, an agent any of them; nobody else.
//!
//! Each `RevDetails` names the certificate by `issuer` and `serialNumber` in `certDetails`
//! (other template fields are not looked at) and may ask for a `reasonCode` and an
//! `invalidityDate` in `crlEntryDetails`. Each gets its own `PKIStatusInfo` in the rp, in
//! order: accepted, or rejection with notAuthorized, badCertId (unknown certificate),
//! certRevoked (already revoked; the first revocation stands), badRequest or
//! unacceptedExtension. `revCerts` and `crls` are left out (RFC 9483 §4.2).

use cmc_ca::{
    Engine, LoadedCa, Principal, Replay, RevocationDone, RevocationReason, RevocationRequest,
    UnixTime,
};
use const_oid::db::rfc5280::{ID_CE_CRL_REASONS, ID_CE_INVALIDITY_DATE};
use der::asn1::GeneralizedTime;
use der::{Decode, Encode};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::serial_number::SerialNumber;

use crate::door::Refusal;
use crate::{FailureBit, PkiBody, PkiFailureInfo, PkiStatusInfo, RevDetails, RevRepContent};

/// How many certificates one rr may revoke (RFC 9483 §4.2 sends one; RFC 4210 allows a
/// sequence).
pub const MAX_REV_DETAILS: usize = 16;

/// The rp for an rr from `principal`. The replay records are committed first: a replayed
/// rr revokes nothing again.
pub(crate) fn revoke(
    engine: &Engine,
    ca: &LoadedCa,
    principal: &Principal,
    details: &[RevDetails],
    replay: &Replay,
) -> Result<PkiBody, Refusal> {
    if details.is_empty() || details.len() > MAX_REV_DETAILS {
        return Err(Refusal::new(
            FailureBit::BadRequest,
            format!("an rr names 1 to {MAX_REV_DETAILS} certificates"),
        ));
    }
    engine.record_replay(ca.name(), replay)?;
    let status = details
        .iter()
        .map(|d| match revoke_one(engine, ca, principal, d) {
            Ok(()) => PkiStatusInfo::accepted(),
            Err(r) => {
                tracing::info!(ca = ca.name(), requester = principal.requester(),
                    bit = r.bit.name(), why = %r.text, "CMP revocation refused");
                PkiStatusInfo::rejection(PkiFailureInfo::of(r.bit), &r.text)
            }
        })
        .collect();
    Ok(PkiBody::Rp(RevRepContent {
        status,
        rev_certs: None,
        crls: None,
    }))
}

fn revoke_one(
    engine: &Engine,
    ca: &LoadedCa,
    principal: &Principal,
    details: &RevDetails,
) -> Result<(), Refusal> {
    let template = &details.cert_details;
    let (Some(issuer), Some(serial)) = (&template.issuer, &template.serial_number) else {
        return Err(Refusal::new(
            FailureBit::BadCertTemplate,
            "certDetails must name the issuer and serialNumber (RFC 9483 §4.2)",
        ));
    };
    let serial = serial
        .to_der()
        .ok()
        .and_then(|der| SerialNumber::from_der(&der).ok())
        .ok_or_else(|| Refusal::new(FailureBit::BadCertId, "unusable serialNumber"))?;
    let (reason, invalidity) = entry_details(details, engine.now())?;
    let request = RevocationRequest {
        issuer,
        serial: &serial,
        reason,
        invalidity,
    };
    match engine.revoke_as_reporting(ca.name(), principal, &request) {
        Ok(RevocationDone::Revoked | RevocationDone::HoldLifted) => {
            tracing::info!(
                ca = ca.name(),
                requester = principal.requester(),
                reason = reason.code(),
                "CMP revocation"
            );
            Ok(())
        }
        Ok(RevocationDone::AlreadyRevoked) => Err(Refusal::new(
            FailureBit::CertRevoked,
            "the certificate is already revoked",
        )),
        Err(r) => Err(r.into()),
    }
}

/// The `reasonCode` (default unspecified) and `invalidityDate` of `crlEntryDetails`; an
/// unknown critical extension is refused, an unknown non-critical one ignored.
fn entry_details(
    details: &RevDetails,
    now: UnixTime,
) -> Result<(RevocationReason, Option<UnixTime>), Refusal> {
    let mut reason = RevocationReason::Unspecified;
    let mut invalidity = None;
    for ext in details.crl_entry_details.iter().flatten() {
        let value = ext.extn_value.as_bytes();
        match ext.extn_id {
            ID_CE_CRL_REASONS => {
                let code = CrlReason::from_der(value)
                    .map_err(|_| Refusal::new(FailureBit::BadDataFormat, "bad reasonCode"))?;
                reason = u8::try_from(code as u32)
                    .ok()
                    .and_then(|c| RevocationReason::from_code(c).ok())
                    .ok_or_else(|| Refusal::new(FailureBit::BadRequest, "unusable reasonCode"))?;
            }
            ID_CE_INVALIDITY_DATE => {
                let date = GeneralizedTime::from_der(value)
                    .map_err(|_| Refusal::new(FailureBit::BadDataFormat, "bad invalidityDate"))?;
                let date = UnixTime::from_system_time(date.to_system_time());
                if date > now {
                    return Err(Refusal::new(
                        FailureBit::BadTime,
                        "the invalidityDate is in the future",
                    ));
                }
                invalidity = Some(date);
            }
            _ if ext.critical => {
                return Err(Refusal::new(
                    FailureBit::UnacceptedExtension,
                    format!("critical CRL entry extension {} not supported", ext.extn_id),
                ));
            }
            _ => {}
        }
    }
    Ok((reason, invalidity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::OctetString;
    use x509_cert::ext::Extension;

    fn details(exts: Vec<Extension>) -> RevDetails {
        RevDetails {
            cert_details: crate::CertTemplate::default(),
            crl_entry_details: Some(exts),
        }
    }

    fn ext(oid: const_oid::ObjectIdentifier, critical: bool, value: &[u8]) -> Extension {
        Extension {
            extn_id: oid,
            critical,
            extn_value: OctetString::new(value).unwrap(),
        }
    }

    #[test]
    fn reason_and_invalidity_date_are_read() {
        let now = UnixTime::from_secs(2_000_000_000);
        let code = CrlReason::KeyCompromise.to_der().unwrap();
        let when =
            GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(1_900_000_000))
                .unwrap()
                .to_der()
                .unwrap();
        let (reason, invalidity) = entry_details(
            &details(vec![
                ext(ID_CE_CRL_REASONS, false, &code),
                ext(ID_CE_INVALIDITY_DATE, false, &when),
                ext(const_oid::db::rfc5280::ID_CE_CRL_NUMBER, false, &[2, 1, 1]),
            ]),
            now,
        )
        .unwrap();
        assert_eq!(reason, RevocationReason::KeyCompromise);
        assert_eq!(invalidity, Some(UnixTime::from_secs(1_900_000_000)));
        let none = RevDetails {
            crl_entry_details: None,
            ..details(vec![])
        };
        assert_eq!(
            entry_details(&none, now).unwrap(),
            (RevocationReason::Unspecified, None)
        );
    }

    #[test]
    fn bad_entry_details_are_refused() {
        let now = UnixTime::from_secs(1_000);
        let later = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(2_000))
            .unwrap()
            .to_der()
            .unwrap();
        let cases = [
            (
                ext(ID_CE_CRL_REASONS, false, &[0x0a, 0x01, 0x07]),
                FailureBit::BadDataFormat,
            ),
            (
                ext(ID_CE_CRL_REASONS, false, &[0x02, 0x01, 0x01]),
                FailureBit::BadDataFormat,
            ),
            (
                ext(ID_CE_INVALIDITY_DATE, false, &later),
                FailureBit::BadTime,
            ),
            (
                ext(const_oid::db::rfc5280::ID_CE_CRL_NUMBER, true, &[2, 1, 1]),
                FailureBit::UnacceptedExtension,
            ),
        ];
        for (e, bit) in cases {
            let refused = entry_details(&details(vec![e]), now).unwrap_err();
            assert_eq!(refused.bit, bit, "{}", refused.text);
        }
    }
}
