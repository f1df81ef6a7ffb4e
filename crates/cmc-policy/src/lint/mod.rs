//! Pre-issuance lint of the TBS certificate: any finding refuses issuance.
//!
//! [`lint_findings`] decodes the TBS and checks its structure, then runs
//! the rules by family: [`fields`] (serial, validity, signature algorithm),
//! [`extensions`] (every certificate's extensions) and [`kind`] (what an
//! end entity, a CA, a client credential or an OCSP responder must and
//! must not carry). [`finding`] lists what they report.

mod extensions;
mod fields;
mod finding;
#[cfg(test)]
mod fixtures;
mod kind;

use x509_cert::certificate::Version;

use crate::Error;
use crate::issuer::IssuerInfo;
use crate::keys::KeyKind;
use crate::profile::Profile;
use crate::tbs::RawTbs;
use extensions::lint_extensions;
use fields::{lint_serial, lint_signature_algorithm, lint_validity};
pub use finding::Finding;

/// Lint a DER TBS certificate against the profile and the issuer: RFC 5280
/// structure, serial, validity, signature algorithm and key identifiers for
/// every certificate, and the rules of the profile's
/// [`CertificateKind`](crate::CertificateKind): no CA powers in an end
/// entity; critical basicConstraints cA=TRUE with the profile's path length,
/// keyCertSign and a subject in a CA certificate (an authorityKeyIdentifier
/// everywhere except in a self-signed root); id-kp-OCSPSigning and
/// id-pkix-ocsp-nocheck in an OCSP responder's (RFC 6960 §4.2.2.2), and
/// nocheck nowhere else.
///
/// # Errors
/// [`Error::Lint`] with every finding, if there is any.
pub fn lint_tbs(tbs_der: &[u8], profile: &Profile, issuer: &IssuerInfo) -> Result<(), Error> {
    let findings = lint_findings(tbs_der, profile, issuer);
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Lint { findings })
    }
}

/// Every finding of the lint; empty when the TBS may be signed.
#[must_use]
pub fn lint_findings(tbs_der: &[u8], profile: &Profile, issuer: &IssuerInfo) -> Vec<Finding> {
    let tbs = match RawTbs::decode_der(tbs_der) {
        Ok(t) => t,
        Err(e) => {
            return vec![Finding::Undecodable {
                error: e.to_string(),
            }];
        }
    };
    let mut out = Vec::new();
    if tbs.encode_der().ok().as_deref() != Some(tbs_der) {
        out.push(Finding::NotCanonicalDer);
    }
    if tbs.version != Some(Version::V3) {
        out.push(Finding::NotVersion3);
    }
    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        out.push(Finding::UniqueIdentifier);
    }
    lint_serial(tbs.serial_number.as_bytes(), &mut out);
    if tbs.issuer != issuer.subject {
        out.push(Finding::IssuerNameMismatch);
    }
    lint_validity(&tbs, profile, issuer, &mut out);
    lint_signature_algorithm(&tbs, issuer, &mut out);

    let key = KeyKind::of(&tbs.subject_public_key_info);
    if !profile.allows_key(&key) {
        out.push(Finding::KeyNotAllowed {
            key: key.to_string(),
        });
    }
    lint_extensions(&tbs, &key, profile, issuer, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::fake_rsa_spki;
    use crate::lint::fixtures::*;
    use crate::tbs::RawValidity;
    use const_oid::ObjectIdentifier;
    use der::asn1::{BitString, Int, OctetString};
    use der::{Encode, Sequence};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
    use x509_cert::name::Name;

    #[test]
    fn prepared_tbs_is_clean() {
        let (tbs, profile, issuer) = good();
        assert_eq!(lint(&tbs, &profile, &issuer), vec![]);
        assert!(lint_tbs(&tbs.encode_der().unwrap(), &profile, &issuer).is_ok());
    }

    #[test]
    fn undecodable() {
        let (_, profile, issuer) = good();
        let found = lint_findings(&[0x30, 0x03, 0x02, 0x01], &profile, &issuer);
        assert!(
            matches!(found.as_slice(), [Finding::Undecodable { .. }]),
            "{found:?}"
        );
        assert!(matches!(
            lint_tbs(b"junk", &profile, &issuer),
            Err(Error::Lint { findings }) if findings.len() == 1
        ));
    }

    #[test]
    fn not_canonical_der() {
        // An extension that spells out `critical FALSE`, which DER omits.
        #[derive(Sequence)]
        struct LaxExtension {
            id: ObjectIdentifier,
            critical: bool,
            value: OctetString,
        }
        #[derive(Sequence)]
        struct LaxTbs {
            #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
            version: Version,
            serial_number: Int,
            signature: AlgorithmIdentifierOwned,
            issuer: Name,
            validity: RawValidity,
            subject: Name,
            spki: SubjectPublicKeyInfoOwned,
            #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
            extensions: Vec<LaxExtension>,
        }
        let (tbs, profile, issuer) = good();
        let lax = LaxTbs {
            version: Version::V3,
            serial_number: tbs.serial_number.clone(),
            signature: tbs.signature.clone(),
            issuer: tbs.issuer.clone(),
            validity: tbs.validity,
            subject: tbs.subject.clone(),
            spki: tbs.subject_public_key_info.clone(),
            extensions: tbs
                .extensions
                .clone()
                .unwrap()
                .into_iter()
                .map(|e| LaxExtension {
                    id: e.extn_id,
                    critical: e.critical,
                    value: e.extn_value,
                })
                .collect(),
        };
        let found = lint_findings(&lax.to_der().unwrap(), &profile, &issuer);
        assert_eq!(found, vec![Finding::NotCanonicalDer]);
    }

    #[test]
    fn version_and_unique_ids() {
        expect(&Finding::NotVersion3, |t, _| t.version = None);
        expect(&Finding::NotVersion3, |t, _| t.version = Some(Version::V2));
        expect(&Finding::UniqueIdentifier, |t, _| {
            t.subject_unique_id = Some(BitString::from_bytes(&[1, 2]).unwrap());
        });
        expect(&Finding::UniqueIdentifier, |t, _| {
            t.issuer_unique_id = Some(BitString::from_bytes(&[1, 2]).unwrap());
        });
    }

    #[test]
    fn issuer_name() {
        expect(&Finding::IssuerNameMismatch, |t, _| {
            t.issuer = "CN=Someone Else".parse().unwrap();
        });
    }

    #[test]
    fn key_not_allowed_by_profile() {
        expect(
            &Finding::KeyNotAllowed {
                key: "RSA-1024".into(),
            },
            |t, _| t.subject_public_key_info = fake_rsa_spki(1024),
        );
    }
}
