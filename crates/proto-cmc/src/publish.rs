//! publicationInfo (RFC 5272 §6.18): publishing a certificate, or withdrawing it from
//! publication, after the certificates of the same request are issued (a rekey withdraws
//! the old certificate and publishes the new one). This CA publishes through getCert
//! only, so `pleasePublish` is taken with no pubInfos or with pubMethod dontCare or web
//! and no pubLocation; x500 and ldap, or a location of the requester's choosing, are
//! noSupport.
//!
//! The certificates are named by hash; they must be ones this PKIData issued or the
//! certificate that signs it, and the signer must be their requester or holder (the
//! engine's rule, as for confirmCertAcceptance). The control is not processed when a
//! certification request of its PKIData failed (§6.18).

use super::*;

use cmc_asn1::{CmcPublicationInfo, PublicationAction, PublicationMethod};
use cmc_codec::alg::digest_alg;

impl Cmc<'_> {
    /// One publicationInfo control of a PKIData whose outcome so far is `outcome`;
    /// `requests_failed` says whether one of its certification requests failed.
    pub(super) fn publication(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        info: &CmcPublicationInfo,
        outcome: &PartResults,
        requests_failed: bool,
    ) -> Result<(), Failure> {
        if requests_failed {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "not processed: a certification request of this PKIData failed (RFC 5272 §6.18)",
            ));
        }
        let publish = match info.pub_info.action {
            PublicationAction::DontPublish if info.pub_info.pub_infos.is_some() => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "pubInfos must be absent with dontPublish",
                ));
            }
            PublicationAction::DontPublish => false,
            PublicationAction::PleasePublish => {
                let by_get_cert = info.pub_info.pub_infos.iter().flatten().all(|p| {
                    matches!(
                        p.pub_method,
                        PublicationMethod::DontCare | PublicationMethod::Web
                    ) && p.pub_location.is_none()
                });
                if !by_get_cert {
                    return Err(Failure::no_support(
                        "this CA publishes certificates through getCert only (pubMethod \
                         dontCare or web, no pubLocation)",
                    ));
                }
                true
            }
        };
        let hash = digest_alg(&info.hash_alg).map_err(|e| codec_failure(&e, ca.name()))?;
        if info.cert_hashes.is_empty() {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "certHashes names no certificate",
            ));
        }
        // What the control may name: the certificates just issued and the signer's own.
        let mut named: Vec<(Vec<u8>, &[u8])> = Vec::new();
        let issued: Vec<Vec<u8>> = outcome
            .issued
            .iter()
            .map(Encode::to_der)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                Failure::from_engine(&cmc_ca::Error::encode("certificate", e), ca.name())
            })?;
        let signer_cert = Certificate::from_der(signer.credential())
            .is_ok()
            .then(|| signer.credential().to_vec());
        for der in issued.iter().chain(signer_cert.iter()) {
            named.push((hash.digest(der), der));
        }
        let mut serials = Vec::new();
        for wanted in &info.cert_hashes {
            let Some((_, der)) = named.iter().find(|(h, _)| h == wanted.as_bytes()) else {
                return Err(Failure::failed(
                    CmcFailInfo::BadCertId,
                    "certHashes names a certificate this request neither issued nor is signed with",
                ));
            };
            let cert = Certificate::from_der(der).map_err(|e| {
                Failure::from_engine(&cmc_ca::Error::encode("certificate", e), ca.name())
            })?;
            if cert.tbs_certificate().issuer() != ca.subject() {
                return Err(Failure::failed(
                    CmcFailInfo::BadCertId,
                    "certHashes names a certificate of another CA",
                ));
            }
            let serial = cmc_ca::x509::store_serial(cert.tbs_certificate().serial_number())
                .map_err(|_| {
                    Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA")
                })?;
            serials.push(serial);
        }
        for serial in &serials {
            self.engine
                .set_publication(ca.name(), signer, serial, publish)?;
        }
        Ok(())
    }
}
