//! getCert and getCRL (RFC 5272 §6.9, §6.10).

use super::*;

impl Engine {
    /// One getCert control (RFC 5272 §6.9): a certificate this CA issued,
    /// revoked or not, for any client the CA accepts (certificates are
    /// public).
    pub(super) fn get_cert(&self, ca: &LoadedCa, get: &GetCert) -> Result<Certificate, Failure> {
        let bad_cert_id =
            || Failure::failed(CmcFailInfo::BadCertId, "no such certificate of this CA");
        match &get.issuer_name {
            GeneralName::DirectoryName(name) if name == ca.subject() => {}
            _ => return Err(bad_cert_id()),
        }
        let serial = store_serial(&get.serial_number).map_err(|_| bad_cert_id())?;
        let record = self
            .store()
            .get_cert(ca.name(), &serial)
            .map_err(|e| Failure::from_engine(&e.into(), ca.name(), 0))?
            .ok_or_else(bad_cert_id)?;
        let issued = record.certificate().ok_or_else(bad_cert_id)?;
        Certificate::from_der(&issued.cert_der).map_err(|e| {
            Failure::from_engine(&crate::Error::bad("stored certificate", e), ca.name(), 0)
        })
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
            let ours = self.config().ca_settings(ca.name()).crl_url;
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
            .current_crl(ca.name())
            .map_err(|e| Failure::from_engine(&e, ca.name(), 0))?;
        if let Some(t) = get.time {
            let t = UnixTime::from_system_time(t.to_system_time());
            if t < record.this_update || t > record.next_update || t > now {
                return Err(Failure::no_support(
                    "only the current CRL is kept; it does not cover that time",
                ));
            }
        }
        CertificateList::from_der(&record.der)
            .map_err(|e| Failure::from_engine(&crate::Error::bad("stored CRL", e), ca.name(), 0))
    }
}
