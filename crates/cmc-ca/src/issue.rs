//! Building and signing certificates: the TBS certificate is built first,
//! handed to a hook (which records it in the store), then signed once; the
//! signed TBS is checked to be exactly the recorded one.

use cmc_keys::{KeyAdapter, SigningKey};
use cmc_store::{CertStore, IssuedCert, NewReservation, Serial, UnixTime};
use der::Encode;
use der::asn1::BitString;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::time::Validity;

use crate::ca::LoadedCa;
use crate::error::{Error, Result};
use crate::x509::{random_serial, serial_number, x509_time};

/// How many fresh random serials are tried before giving up when the store
/// reports one as taken (with 126 random bits a collision means something
/// is wrong with the RNG, not bad luck).
const SERIAL_ATTEMPTS: usize = 3;

/// What goes into a certificate besides the issuer.
#[derive(Clone, Debug)]
pub(crate) struct CertContents {
    pub(crate) subject: Name,
    pub(crate) public_key: SubjectPublicKeyInfoOwned,
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) extensions: Vec<Extension>,
}

/// A builder profile that sets exactly the names and extensions it is
/// given: every decision was made before the builder runs.
struct Fixed {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Fixed {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// Builds the TBS certificate, passes its DER to `before_signing`, signs it
/// with `key` and returns the certificate and its DER.
pub(crate) fn build_and_sign(
    key: &dyn SigningKey,
    issuer: &Name,
    serial: &Serial,
    contents: &CertContents,
    before_signing: impl FnOnce(&[u8]) -> Result<()>,
) -> Result<(Certificate, Vec<u8>)> {
    let validity = Validity::new(
        x509_time(contents.not_before)?,
        x509_time(contents.not_after)?,
    );
    let profile = Fixed {
        issuer: issuer.clone(),
        subject: contents.subject.clone(),
        extensions: contents.extensions.clone(),
    };
    let mut builder = CertificateBuilder::new(
        profile,
        serial_number(serial)?,
        validity,
        contents.public_key.clone(),
    )
    .map_err(|e| Error::encode("TBS certificate", e))?;
    let signer = KeyAdapter::new(key);
    let tbs_der = builder
        .finalize(&signer)
        .map_err(|e| Error::encode("TBS certificate", e))?;
    before_signing(&tbs_der)?;
    let signature = key.sign(&tbs_der)?;
    let bits = BitString::from_bytes(&signature).map_err(|e| Error::encode("signature", e))?;
    let cert = builder
        .assemble(bits, &signer)
        .map_err(|e| Error::encode("certificate", e))?;
    let signed_tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| Error::encode("TBS certificate", e))?;
    if signed_tbs != tbs_der {
        return Err(Error::encode(
            "certificate",
            "the signed TBS certificate differs from the one built",
        ));
    }
    let der = cert.to_der().map_err(|e| Error::encode("certificate", e))?;
    Ok((cert, der))
}

/// Issues a certificate under a loaded CA through the store: reserve a
/// fresh serial, record the TBS, sign, store the certificate. A failure
/// after the reservation marks it failed (the serial is never reused).
pub(crate) fn issue_under(
    certs: &dyn CertStore,
    ca: &LoadedCa,
    contents: &CertContents,
    requester: &str,
    profile: &str,
    now: UnixTime,
) -> Result<(Certificate, Vec<u8>, Serial)> {
    ca.check_valid_at(now)?;
    if contents.not_after > ca.not_after() {
        return Err(Error::InvalidRequest(format!(
            "notAfter {} is beyond the notAfter {} of CA {:?}",
            contents.not_after,
            ca.not_after(),
            ca.name()
        )));
    }
    let serial = reserve(certs, ca.name(), requester, profile, now)?;
    let issued = build_and_sign(ca.key().as_ref(), ca.subject(), &serial, contents, |tbs| {
        Ok(certs.record_tbs(ca.name(), &serial, tbs)?)
    })
    .and_then(|(cert, der)| {
        let record = IssuedCert {
            cert_der: der.clone(),
            subject: contents.subject.to_string(),
            sans: Vec::new(),
            not_before: contents.not_before,
            not_after: contents.not_after,
            issued_at: now,
        };
        certs.complete_issuance(ca.name(), &serial, &record)?;
        Ok((cert, der))
    });
    match issued {
        Ok((cert, der)) => Ok((cert, der, serial)),
        Err(e) => {
            if let Err(mark) = certs.mark_failed(ca.name(), &serial, &e.to_string(), now) {
                tracing::error!(ca = ca.name(), serial = %serial, error = %mark,
                    "could not mark a failed issuance");
            }
            Err(e)
        }
    }
}

fn reserve(
    certs: &dyn CertStore,
    issuer: &str,
    requester: &str,
    profile: &str,
    now: UnixTime,
) -> Result<Serial> {
    let mut last = None;
    for _ in 0..SERIAL_ATTEMPTS {
        let serial = random_serial()?;
        let reservation = NewReservation {
            issuer: issuer.to_owned(),
            serial: serial.clone(),
            requester: requester.to_owned(),
            profile: profile.to_owned(),
            request_hash: Vec::new(),
            tbs_der: None,
        };
        match certs.reserve_serial(&reservation, now) {
            Ok(()) => return Ok(serial),
            Err(e @ cmc_store::Error::SerialInUse { .. }) => {
                tracing::warn!(issuer, serial = %serial, "random serial already in use");
                last = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or(Error::Rng, Error::Store))
}
