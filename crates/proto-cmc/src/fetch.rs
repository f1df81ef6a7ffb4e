//! getCert and getCRL (RFC 5272 §6.9, §6.10).

use super::*;

impl Cmc<'_> {
    /// Every getCert and getCRL of a PKIData, each with its own status.
    pub(super) fn fetch_all(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        controls: &Controls,
        now: UnixTime,
        outcome: &mut PartResults,
    ) {
        for (id, get) in &controls.get_certs {
            match self.get_cert(ca, signer, get) {
                Ok(cert) => {
                    outcome.succeeded.push(*id);
                    outcome.fetched.push(cert);
                }
                Err(failure) => outcome.failed.push((failure, *id)),
            }
        }
        // One CA, one current CRL: however many getCRL ask for it, the
        // response carries it once.
        for (id, get) in &controls.get_crls {
            match self.get_crl(ca, get, now) {
                Ok(crl) => {
                    outcome.succeeded.push(*id);
                    if !outcome.crls.contains(&crl) {
                        outcome.crls.push(crl);
                    }
                }
                Err(failure) => outcome.failed.push((failure, *id)),
            }
        }
    }

    /// One getCert control (RFC 5272 §6.9): a certificate this CA issued,
    /// revoked or not, for any client the CA accepts (certificates are
    /// public), unless it was withdrawn from publication (publicationInfo
    /// dontPublish): then only for its requester, holder and agents, and
    /// anyone else is told, as for an unknown serial, that there is none.
    pub(super) fn get_cert(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        get: &GetCert,
    ) -> Result<Certificate, Failure> {
        let none = || Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA");
        let GeneralName::DirectoryName(issuer) = &get.issuer_name else {
            return Err(none());
        };
        let cert = self
            .engine
            .issued_certificate(ca.name(), issuer, &get.serial_number)?;
        let serial = cmc_ca::x509::store_serial(&get.serial_number).map_err(|_| none())?;
        if !self.engine.may_fetch(ca.name(), signer, &serial)? {
            return Err(none());
        }
        Ok(cert)
    }

    /// One getCRL control (RFC 5272 §6.10): this CA's current CRL (made
    /// afresh when the last one is stale). Only the current CRL is kept, so
    /// a `time` it does not cover is noSupport; a `cRLName` must be the
    /// CA's CRL URL; every reason is covered.
    pub(super) fn get_crl(
        &self,
        ca: &LoadedCa,
        get: &GetCrl,
        now: UnixTime,
    ) -> Result<CertificateList, Failure> {
        if &get.issuer_name != ca.subject() {
            return Err(Failure::failed(
                CmcFailInfo::BadRequest,
                "this CA issues no CRL for that issuer",
            ));
        }
        if let Some(name) = &get.crl_name {
            let ours = self.engine.config().ca_settings(ca.name()).crl_url;
            let matches = match name {
                GeneralName::UniformResourceIdentifier(uri) => {
                    ours.as_deref() == Some(uri.as_str())
                }
                _ => false,
            };
            if !matches {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "no CRL of that cRLName here",
                ));
            }
        }
        let record = self
            .engine
            .current_crl_shared(ca.name())
            .map_err(|e| Failure::from_engine(&e, ca.name()))?;
        if let Some(t) = get.time {
            let t = UnixTime::from_system_time(t.to_system_time());
            if t < record.this_update || t > record.next_update || t > now {
                return Err(Failure::no_support(
                    "only the current CRL is kept; it does not cover that time",
                ));
            }
        }
        CertificateList::from_der(&record.der)
            .map_err(|e| Failure::from_engine(&cmc_ca::Error::bad("stored CRL", e), ca.name()))
    }
}
