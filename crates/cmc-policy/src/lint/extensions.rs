//! The rules on the extensions of every certificate: each decodes and
//! appears once, no unknown critical one, key identifiers computed and
//! not critical, keyUsage critical and fitting the key, a critical
//! subjectAltName with an empty subject. What is decoded here is handed to
//! [`super::kind`] for the rules of the certificate's kind.

use std::collections::BTreeSet;

use cmc_asn1::ocsp::OcspNoCheck;
use const_oid::AssociatedOid;
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_INHIBIT_ANY_POLICY, ID_CE_KEY_USAGE,
    ID_CE_NAME_CONSTRAINTS, ID_CE_POLICY_CONSTRAINTS, ID_CE_POLICY_MAPPINGS,
    ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::Decode;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};

use super::Finding;
use super::kind::{Seen, lint_kind};
use crate::issuer::IssuerInfo;
use crate::keys::KeyKind;
use crate::names::KeyUsageBit;
use crate::profile::{Profile, key_usage_fits};
use crate::tbs::RawTbs;

pub(super) fn lint_extensions(
    tbs: &RawTbs,
    key: &KeyKind,
    profile: &Profile,
    issuer: &IssuerInfo,
    out: &mut Vec<Finding>,
) {
    let extensions = tbs.extensions.as_deref().unwrap_or(&[]);
    let mut seen = BTreeSet::new();
    let mut found = Seen::default();
    let mut ski_seen = false;
    let mut aki_seen = false;
    let mut san: Option<bool> = None;
    for ext in extensions {
        let oid = ext.extn_id;
        if !seen.insert(oid) {
            out.push(Finding::DuplicateExtension {
                oid: oid.to_string(),
            });
            continue;
        }
        let value = ext.extn_value.as_bytes();
        let malformed = || Finding::MalformedExtension {
            oid: oid.to_string(),
        };
        match oid {
            ID_CE_SUBJECT_KEY_IDENTIFIER => {
                ski_seen = true;
                if ext.critical {
                    out.push(Finding::SubjectKeyIdCritical);
                }
                match SubjectKeyIdentifier::from_der(value) {
                    Ok(ski) => {
                        let want = profile.ski_method.key_identifier(
                            tbs.subject_public_key_info.subject_public_key.raw_bytes(),
                        );
                        if ski.0.as_bytes() != want.as_slice() {
                            out.push(Finding::SubjectKeyIdMismatch);
                        }
                    }
                    Err(_) => out.push(malformed()),
                }
            }
            ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                aki_seen = true;
                if ext.critical {
                    out.push(Finding::AuthorityKeyIdCritical);
                }
                match AuthorityKeyIdentifier::from_der(value) {
                    Ok(aki) => {
                        if aki.key_identifier.as_ref().map(|k| k.as_bytes())
                            != Some(issuer.key_identifier.as_slice())
                        {
                            out.push(Finding::AuthorityKeyIdMismatch);
                        }
                    }
                    Err(_) => out.push(malformed()),
                }
            }
            ID_CE_BASIC_CONSTRAINTS => match BasicConstraints::from_der(value) {
                Ok(bc) => found.basic_constraints = Some((ext.critical, bc)),
                Err(_) => out.push(malformed()),
            },
            ID_CE_KEY_USAGE => match KeyUsage::from_der(value) {
                Ok(ku) => found.key_usage = Some((ext.critical, KeyUsageBit::from_flags(ku.0))),
                Err(_) => out.push(malformed()),
            },
            ID_CE_EXT_KEY_USAGE => match ExtendedKeyUsage::from_der(value) {
                Ok(eku) => found.extended_key_usage = Some(eku.0),
                Err(_) => out.push(malformed()),
            },
            ID_CE_SUBJECT_ALT_NAME => match SubjectAltName::from_der(value) {
                Ok(_) => san = Some(ext.critical),
                Err(_) => out.push(malformed()),
            },
            o if o == OcspNoCheck::OID => match OcspNoCheck::from_der(value) {
                Ok(_) => found.ocsp_nocheck = true,
                Err(_) => out.push(malformed()),
            },
            o if [
                ID_CE_NAME_CONSTRAINTS,
                ID_CE_POLICY_CONSTRAINTS,
                ID_CE_POLICY_MAPPINGS,
                ID_CE_INHIBIT_ANY_POLICY,
            ]
            .contains(&o) =>
            {
                found.ca_only.push((o, ext.critical));
            }
            ID_CE_CERTIFICATE_POLICIES
            | ID_CE_CRL_DISTRIBUTION_POINTS
            | ID_PE_AUTHORITY_INFO_ACCESS => {}
            _ if ext.critical => out.push(Finding::UnknownCriticalExtension {
                oid: oid.to_string(),
            }),
            _ => {}
        }
    }
    if !ski_seen {
        out.push(Finding::SubjectKeyIdMissing);
    }
    // RFC 5280 §4.2.1.1: only a self-signed certificate may go without.
    if !aki_seen && !is_self_signed(tbs, issuer) {
        out.push(Finding::AuthorityKeyIdMissing);
    }
    if let Some((critical, bits)) = &found.key_usage {
        if bits.is_empty() {
            out.push(Finding::KeyUsageEmpty);
        }
        if !critical {
            out.push(Finding::KeyUsageNotCritical);
        }
        for usage in bits {
            if !key_usage_fits(*usage, key) {
                out.push(Finding::KeyUsageNotForKey {
                    usage: *usage,
                    key: key.to_string(),
                });
            }
        }
    }
    if tbs.subject.is_empty() {
        match san {
            None => out.push(Finding::EmptySubjectWithoutSan),
            Some(false) => out.push(Finding::EmptySubjectSanNotCritical),
            Some(true) => {}
        }
    }
    lint_kind(tbs, &found, profile, out);
}

/// Whether the TBS is self-signed by `issuer`: issued to and by the same
/// name, certifying the issuer's own key.
fn is_self_signed(tbs: &RawTbs, issuer: &IssuerInfo) -> bool {
    tbs.issuer == tbs.subject && tbs.subject_public_key_info == issuer.public_key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::fake_rsa_spki;
    use crate::lint::fixtures::*;
    use const_oid::ObjectIdentifier;
    use der::Encode;
    use der::asn1::OctetString;
    use der::flagset::FlagSet;
    use x509_cert::ext::pkix::KeyUsages;
    use x509_cert::name::Name;

    #[test]
    fn duplicate_malformed_unknown_and_ca_only_extensions() {
        expect(
            &Finding::DuplicateExtension {
                oid: ID_CE_SUBJECT_KEY_IDENTIFIER.to_string(),
            },
            |t, _| {
                let ski = exts(t)
                    .iter()
                    .find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
                    .cloned()
                    .unwrap();
                exts(t).push(ski);
            },
        );
        expect(
            &Finding::MalformedExtension {
                oid: ID_CE_KEY_USAGE.to_string(),
            },
            |t, _| set_ext(t, ID_CE_KEY_USAGE, true, &[0x05, 0x00]),
        );
        expect(
            &Finding::UnknownCriticalExtension {
                oid: "1.2.3.4".into(),
            },
            |t, _| {
                set_ext(
                    t,
                    ObjectIdentifier::new_unwrap("1.2.3.4"),
                    true,
                    &[0x05, 0x00],
                )
            },
        );
        for (oid, name) in [
            (ID_CE_NAME_CONSTRAINTS, "nameConstraints"),
            (ID_CE_POLICY_CONSTRAINTS, "policyConstraints"),
            (ID_CE_POLICY_MAPPINGS, "policyMappings"),
            (ID_CE_INHIBIT_ANY_POLICY, "inhibitAnyPolicy"),
        ] {
            expect(&Finding::CaOnlyExtension { name: name.into() }, |t, _| {
                set_ext(t, oid, true, &[0x30, 0x00]);
            });
        }
        // An unknown non-critical extension is not a finding.
        let (mut t, p, i) = good();
        set_ext(
            &mut t,
            ObjectIdentifier::new_unwrap("1.2.3.4"),
            false,
            &[0x05, 0x00],
        );
        assert_eq!(lint(&t, &p, &i), vec![]);
    }

    #[test]
    fn key_identifiers() {
        expect(&Finding::SubjectKeyIdMissing, |t, _| {
            remove_ext(t, ID_CE_SUBJECT_KEY_IDENTIFIER);
        });
        expect(&Finding::SubjectKeyIdMismatch, |t, _| {
            let other = SubjectKeyIdentifier(OctetString::new([0x22; 20]).unwrap());
            set_ext(
                t,
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &other.to_der().unwrap(),
            );
        });
        expect(&Finding::SubjectKeyIdCritical, |t, _| {
            exts(t)
                .iter_mut()
                .filter(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
                .for_each(|e| e.critical = true);
        });
        expect(&Finding::AuthorityKeyIdMissing, |t, _| {
            remove_ext(t, ID_CE_AUTHORITY_KEY_IDENTIFIER);
        });
        expect(&Finding::AuthorityKeyIdMismatch, |_, i| {
            i.key_identifier = vec![0x33; 20];
        });
        expect(&Finding::AuthorityKeyIdMismatch, |t, _| {
            let aki = AuthorityKeyIdentifier::default();
            set_ext(
                t,
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &aki.to_der().unwrap(),
            );
        });
        expect(&Finding::AuthorityKeyIdCritical, |t, _| {
            exts(t)
                .iter_mut()
                .filter(|e| e.extn_id == ID_CE_AUTHORITY_KEY_IDENTIFIER)
                .for_each(|e| e.critical = true);
        });
    }

    #[test]
    fn basic_constraints_and_key_usage() {
        expect(&Finding::CaCertificate, |t, _| {
            let bc = BasicConstraints {
                ca: true,
                path_len_constraint: None,
            };
            set_ext(t, ID_CE_BASIC_CONSTRAINTS, true, &bc.to_der().unwrap());
        });
        expect(&Finding::KeyUsageEmpty, |t, _| {
            set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(FlagSet::default()));
        });
        expect(
            &Finding::KeyUsageNotForKey {
                usage: KeyUsageBit::KeyEncipherment,
                key: "EC P-256".into(),
            },
            |t, _| {
                let ku = KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment;
                set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
            },
        );
        expect(
            &Finding::KeyUsageNotForKey {
                usage: KeyUsageBit::KeyAgreement,
                key: "RSA-2048".into(),
            },
            |t, _| {
                t.subject_public_key_info = fake_rsa_spki(2048);
                let ku = KeyUsages::DigitalSignature | KeyUsages::KeyAgreement;
                set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
            },
        );
        expect(&Finding::KeyCertSignWithoutCa, |t, _| {
            let ku = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign;
            set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
        });
        expect(&Finding::KeyCertSignWithoutCa, |t, _| {
            remove_ext(t, ID_CE_BASIC_CONSTRAINTS);
            set_ext(
                t,
                ID_CE_KEY_USAGE,
                true,
                &key_usage(KeyUsages::KeyCertSign.into()),
            );
        });
        expect(&Finding::CrlSignInEndEntity, |t, _| {
            let ku = KeyUsages::DigitalSignature | KeyUsages::CRLSign;
            set_ext(t, ID_CE_KEY_USAGE, true, &key_usage(ku));
        });
    }

    #[test]
    fn empty_subject() {
        expect(&Finding::EmptySubjectWithoutSan, |t, _| {
            t.subject = Name::default();
            remove_ext(t, ID_CE_SUBJECT_ALT_NAME);
        });
        expect(&Finding::EmptySubjectSanNotCritical, |t, _| {
            t.subject = Name::default();
        });
        let (mut t, p, i) = good();
        t.subject = Name::default();
        exts(&mut t)
            .iter_mut()
            .filter(|e| e.extn_id == ID_CE_SUBJECT_ALT_NAME)
            .for_each(|e| e.critical = true);
        assert_eq!(lint(&t, &p, &i), vec![]);
    }
}
