//! The lint rules that depend on what a certificate is: an end entity, a
//! CA (RFC 5280 §4.2.1.9, §4.2.1.3), a client credential or an OCSP
//! responder (RFC 6960 §4.2.2.2). [`super::extensions`] decodes the
//! extensions and hands over what it saw.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_INHIBIT_ANY_POLICY, ID_CE_NAME_CONSTRAINTS, ID_CE_POLICY_CONSTRAINTS, ID_KP_CLIENT_AUTH,
    ID_KP_OCSP_SIGNING,
};
use x509_cert::ext::pkix::BasicConstraints;

use crate::internal::CertificateKind;
use crate::lint::Finding;
use crate::names::{KeyUsageBit, extension_name};
use crate::profile::Profile;
use crate::tbs::RawTbs;

/// The decoded extensions the kind rules look at.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// basicConstraints, with its criticality.
    pub(crate) basic_constraints: Option<(bool, BasicConstraints)>,
    /// keyUsage bits, with the extension's criticality.
    pub(crate) key_usage: Option<(bool, Vec<KeyUsageBit>)>,
    /// The extendedKeyUsage purposes.
    pub(crate) extended_key_usage: Option<Vec<ObjectIdentifier>>,
    /// Whether id-pkix-ocsp-nocheck is present.
    pub(crate) ocsp_nocheck: bool,
    /// nameConstraints, policyConstraints, policyMappings and
    /// inhibitAnyPolicy, with their criticality.
    pub(crate) ca_only: Vec<(ObjectIdentifier, bool)>,
}

/// The extensions RFC 5280 requires to be critical when present.
const MUST_BE_CRITICAL: [ObjectIdentifier; 3] = [
    ID_CE_NAME_CONSTRAINTS,
    ID_CE_POLICY_CONSTRAINTS,
    ID_CE_INHIBIT_ANY_POLICY,
];

/// Pushes the findings of the rules for `profile`'s kind of certificate.
pub(crate) fn lint_kind(tbs: &RawTbs, seen: &Seen, profile: &Profile, out: &mut Vec<Finding>) {
    let is_ca = seen.basic_constraints.as_ref().is_some_and(|(_, bc)| bc.ca);
    let bits: &[KeyUsageBit] = seen.key_usage.as_ref().map_or(&[], |(_, b)| b);
    let has = |bit| bits.contains(&bit);

    // Every certificate.
    let path_len = seen
        .basic_constraints
        .as_ref()
        .and_then(|(_, bc)| bc.path_len_constraint);
    if path_len.is_some() && !(is_ca && has(KeyUsageBit::KeyCertSign)) {
        out.push(Finding::PathLenWithoutCa);
    }
    if has(KeyUsageBit::KeyCertSign) && !is_ca {
        out.push(Finding::KeyCertSignWithoutCa);
    }
    if has(KeyUsageBit::CrlSign) && !is_ca {
        out.push(Finding::CrlSignInEndEntity);
    }
    let granted = &profile.extended_key_usage;
    let eku_ok = match &seen.extended_key_usage {
        None => granted.is_empty(),
        Some(found) => found == granted,
    };
    if !eku_ok {
        out.push(Finding::ExtendedKeyUsageMismatch);
    }
    if seen.ocsp_nocheck && profile.kind != CertificateKind::OcspResponder {
        out.push(Finding::OcspNoCheckOutsideResponder);
    }

    match profile.kind {
        CertificateKind::Ca { path_len: expected } => {
            match &seen.basic_constraints {
                Some((critical, bc)) if bc.ca => {
                    if !critical {
                        out.push(Finding::BasicConstraintsNotCritical);
                    }
                    if bc.path_len_constraint != expected {
                        out.push(Finding::PathLenMismatch {
                            expected,
                            found: bc.path_len_constraint,
                        });
                    }
                }
                _ => out.push(Finding::CaWithoutBasicConstraints),
            }
            if !has(KeyUsageBit::KeyCertSign) {
                out.push(Finding::CaWithoutKeyCertSign);
            }
            if tbs.subject.is_empty() {
                out.push(Finding::CaSubjectEmpty);
            }
            for (oid, critical) in &seen.ca_only {
                if !critical && MUST_BE_CRITICAL.contains(oid) {
                    out.push(Finding::CaOnlyExtensionNotCritical {
                        name: extension_name(oid),
                    });
                }
            }
        }
        _ => {
            if is_ca {
                out.push(Finding::CaCertificate);
            }
            for (oid, _) in &seen.ca_only {
                out.push(Finding::CaOnlyExtension {
                    name: extension_name(oid),
                });
            }
        }
    }

    if profile.kind.is_internal() && !has(KeyUsageBit::DigitalSignature) {
        out.push(Finding::DigitalSignatureMissing);
    }
    let purposes = seen.extended_key_usage.as_deref().unwrap_or_default();
    match profile.kind {
        CertificateKind::ClientCredential if !purposes.contains(&ID_KP_CLIENT_AUTH) => {
            out.push(Finding::ClientAuthMissing);
        }
        CertificateKind::OcspResponder => {
            if !purposes.contains(&ID_KP_OCSP_SIGNING) {
                out.push(Finding::OcspSigningMissing);
            }
            if !seen.ocsp_nocheck {
                out.push(Finding::OcspNoCheckMissing);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::fake_ec_spki;
    use crate::{Error, IssuerInfo, Request, Serial, lint_findings, prepare};
    use const_oid::AssociatedOid;
    use const_oid::db::rfc5280::{
        ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE,
        ID_CE_KEY_USAGE,
    };
    use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, SECP_256_R_1};
    use der::asn1::{BitString, OctetString};
    use der::flagset::FlagSet;
    use der::{Decode, Encode};
    use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
    use std::time::{Duration, UNIX_EPOCH};
    use x509_cert::ext::Extension;
    use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};
    use x509_cert::name::Name;

    const NOW: u64 = 1_800_000_000;

    fn key(fill: u8) -> SubjectPublicKeyInfoOwned {
        let mut k = fake_ec_spki(SECP_256_R_1, 32);
        k.subject_public_key = BitString::from_bytes(&[fill; 65]).unwrap();
        k
    }

    fn issuer() -> IssuerInfo {
        IssuerInfo {
            subject: "CN=Kind Test CA,O=Example,C=SE".parse().unwrap(),
            key_identifier: vec![0x11; 20],
            not_before: UNIX_EPOCH + Duration::from_secs(NOW - 86_400),
            not_after: UNIX_EPOCH + Duration::from_secs(NOW + 3650 * 86_400),
            public_key: key(0x22),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            crl_urls: vec!["http://crl.example/ca.crl".into()],
            ca_issuers_urls: vec![],
            ocsp_urls: vec!["http://ocsp.example".into()],
        }
    }

    /// A self-signed root's view of itself: its own name, key and key
    /// identifier.
    fn root(subject: &Name) -> IssuerInfo {
        let own = key(0x33);
        IssuerInfo {
            subject: subject.clone(),
            key_identifier: crate::SkiMethod::Sha1
                .key_identifier(own.subject_public_key.raw_bytes()),
            not_before: UNIX_EPOCH + Duration::from_secs(NOW),
            not_after: UNIX_EPOCH + Duration::from_secs(NOW + 3650 * 86_400),
            public_key: own,
            ..issuer()
        }
    }

    fn prepared(profile: &Profile, issuer: &IssuerInfo, request: &Request) -> RawTbs {
        let p = prepare(
            request,
            profile,
            issuer,
            &Serial::from_random([0x5a; 16]),
            UNIX_EPOCH + Duration::from_secs(NOW),
        )
        .unwrap();
        RawTbs::decode_der(p.tbs_der()).unwrap()
    }

    fn subject(s: &str) -> Name {
        s.parse().unwrap()
    }

    fn lint(tbs: &RawTbs, profile: &Profile, issuer: &IssuerInfo) -> Vec<Finding> {
        lint_findings(&tbs.encode_der().unwrap(), profile, issuer)
    }

    fn ext(tbs: &RawTbs, oid: ObjectIdentifier) -> Option<&Extension> {
        tbs.extensions.iter().flatten().find(|x| x.extn_id == oid)
    }

    fn set(tbs: &mut RawTbs, oid: ObjectIdentifier, critical: bool, value: &impl Encode) {
        let e = Extension {
            extn_id: oid,
            critical,
            extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
        };
        let list = tbs.extensions.get_or_insert_with(Vec::new);
        match list.iter_mut().find(|x| x.extn_id == oid) {
            Some(x) => *x = e,
            None => list.push(e),
        }
    }

    fn remove(tbs: &mut RawTbs, oid: ObjectIdentifier) {
        if let Some(list) = tbs.extensions.as_mut() {
            list.retain(|e| e.extn_id != oid);
        }
    }

    fn ca_tbs(path_len: Option<u8>) -> (RawTbs, Profile, IssuerInfo) {
        let profile = Profile::ca_certificate(path_len);
        let issuer = issuer();
        let request = Request::new(subject("CN=Sub CA,O=Example,C=SE"), key(0x44));
        (prepared(&profile, &issuer, &request), profile, issuer)
    }

    /// Lints the CA TBS after `change`; `want` must be among the findings.
    fn expect_ca(want: &Finding, change: impl FnOnce(&mut RawTbs)) {
        let (mut tbs, profile, issuer) = ca_tbs(Some(1));
        change(&mut tbs);
        let found = lint(&tbs, &profile, &issuer);
        assert!(found.contains(want), "wanted {want:?}, found {found:?}");
    }

    fn bc(ca: bool, path_len_constraint: Option<u8>) -> BasicConstraints {
        BasicConstraints {
            ca,
            path_len_constraint,
        }
    }

    #[test]
    fn ca_certificates_carry_ca_powers_and_lint_clean() {
        for path_len in [None, Some(0), Some(3)] {
            let (tbs, profile, issuer) = ca_tbs(path_len);
            assert_eq!(lint(&tbs, &profile, &issuer), vec![]);
            let e = ext(&tbs, ID_CE_BASIC_CONSTRAINTS).unwrap();
            assert!(e.critical);
            let got = BasicConstraints::from_der(e.extn_value.as_bytes()).unwrap();
            assert_eq!(got, bc(true, path_len));
            let e = ext(&tbs, ID_CE_KEY_USAGE).unwrap();
            assert!(e.critical);
            let ku = KeyUsage::from_der(e.extn_value.as_bytes()).unwrap();
            assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
            // The subject as given; no URLs, no extended key usage: BC, KU,
            // SKI, AKI.
            assert_eq!(tbs.subject, subject("CN=Sub CA,O=Example,C=SE"));
            assert_eq!(tbs.extensions.iter().flatten().count(), 4);
        }
    }

    #[test]
    fn a_self_signed_root_may_go_without_an_authority_key_identifier() {
        let profile = Profile::ca_certificate(None);
        let name = subject("CN=Root,O=Example,C=SE");
        let info = root(&name);
        let request = Request::new(name, info.public_key.clone());
        let mut tbs = prepared(&profile, &info, &request);
        assert_eq!(lint(&tbs, &profile, &info), vec![]);
        // Its AKI is its own SKI; leaving it out is allowed for a root only.
        remove(&mut tbs, ID_CE_AUTHORITY_KEY_IDENTIFIER);
        assert_eq!(lint(&tbs, &profile, &info), vec![]);
        expect_ca(&Finding::AuthorityKeyIdMissing, |t| {
            remove(t, ID_CE_AUTHORITY_KEY_IDENTIFIER);
        });
    }

    #[test]
    fn ca_rules() {
        expect_ca(&Finding::BasicConstraintsNotCritical, |t| {
            set(t, ID_CE_BASIC_CONSTRAINTS, false, &bc(true, Some(1)));
        });
        expect_ca(&Finding::CaWithoutBasicConstraints, |t| {
            set(t, ID_CE_BASIC_CONSTRAINTS, true, &bc(false, None));
        });
        expect_ca(&Finding::CaWithoutBasicConstraints, |t| {
            remove(t, ID_CE_BASIC_CONSTRAINTS);
        });
        expect_ca(
            &Finding::PathLenMismatch {
                expected: Some(1),
                found: Some(5),
            },
            |t| set(t, ID_CE_BASIC_CONSTRAINTS, true, &bc(true, Some(5))),
        );
        expect_ca(
            &Finding::PathLenMismatch {
                expected: Some(1),
                found: None,
            },
            |t| set(t, ID_CE_BASIC_CONSTRAINTS, true, &bc(true, None)),
        );
        expect_ca(&Finding::PathLenWithoutCa, |t| {
            set(t, ID_CE_BASIC_CONSTRAINTS, true, &bc(false, Some(1)));
        });
        expect_ca(&Finding::CaWithoutKeyCertSign, |t| {
            let ku = KeyUsages::DigitalSignature | KeyUsages::CRLSign;
            set(t, ID_CE_KEY_USAGE, true, &KeyUsage(ku));
        });
        expect_ca(&Finding::CaWithoutKeyCertSign, |t| {
            remove(t, ID_CE_KEY_USAGE);
        });
        expect_ca(&Finding::KeyUsageNotCritical, |t| {
            let ku = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign;
            set(t, ID_CE_KEY_USAGE, false, &KeyUsage(ku));
        });
        expect_ca(&Finding::CaSubjectEmpty, |t| t.subject = Name::default());
        expect_ca(&Finding::DigitalSignatureMissing, |t| {
            let ku = KeyUsages::KeyCertSign | KeyUsages::CRLSign;
            set(t, ID_CE_KEY_USAGE, true, &KeyUsage(ku));
        });
        expect_ca(&Finding::ExtendedKeyUsageMismatch, |t| {
            let eku = ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH]);
            set(t, ID_CE_EXT_KEY_USAGE, false, &eku);
        });
        expect_ca(&Finding::OcspNoCheckOutsideResponder, |t| {
            set(t, cmc_asn1::ocsp::OcspNoCheck::OID, false, &der::asn1::Null);
        });
        // nameConstraints may be in a CA certificate, critical.
        let empty: Vec<der::asn1::Null> = Vec::new();
        let (mut tbs, profile, issuer) = ca_tbs(Some(1));
        set(&mut tbs, ID_CE_NAME_CONSTRAINTS, true, &empty);
        assert_eq!(lint(&tbs, &profile, &issuer), vec![]);
        set(&mut tbs, ID_CE_NAME_CONSTRAINTS, false, &empty);
        assert_eq!(
            lint(&tbs, &profile, &issuer),
            vec![Finding::CaOnlyExtensionNotCritical {
                name: "nameConstraints".into()
            }]
        );
    }

    #[test]
    fn an_end_entity_profile_refuses_a_ca_certificate() {
        let (tbs, _, issuer) = ca_tbs(Some(0));
        let found = lint(&tbs, &Profile::builtin(), &issuer);
        for want in [Finding::CaCertificate, Finding::ExtendedKeyUsageMismatch] {
            assert!(found.contains(&want), "{want:?}: {found:?}");
        }
        // And the CA profile takes no CA powers from a request: it sets them.
        let mut request = Request::new(subject("CN=Sneaky CA"), key(0x55));
        request.extensions.push(Extension {
            extn_id: ID_CE_BASIC_CONSTRAINTS,
            critical: true,
            extn_value: OctetString::new(bc(true, Some(9)).to_der().unwrap()).unwrap(),
        });
        let err = prepare(
            &request,
            &Profile::ca_certificate(Some(0)),
            &issuer,
            &Serial::from_random([1; 16]),
            UNIX_EPOCH + Duration::from_secs(NOW),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err}");
    }

    #[test]
    fn responder_rules() {
        let profile = Profile::ocsp_responder();
        let issuer = issuer();
        let request = Request::new(subject("CN=Kind Test OCSP responder"), key(0x66));
        let good = prepared(&profile, &issuer, &request);
        assert_eq!(lint(&good, &profile, &issuer), vec![]);
        let nocheck = ext(&good, cmc_asn1::ocsp::OcspNoCheck::OID).unwrap();
        assert!(!nocheck.critical);
        assert_eq!(nocheck.extn_value.as_bytes(), [0x05, 0x00]);

        let mut t = good.clone();
        remove(&mut t, cmc_asn1::ocsp::OcspNoCheck::OID);
        assert_eq!(
            lint(&t, &profile, &issuer),
            vec![Finding::OcspNoCheckMissing]
        );

        let mut t = good.clone();
        let eku = ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH]);
        set(&mut t, ID_CE_EXT_KEY_USAGE, false, &eku);
        let found = lint(&t, &profile, &issuer);
        assert!(found.contains(&Finding::OcspSigningMissing), "{found:?}");

        let mut t = good.clone();
        let ku = KeyUsage(FlagSet::from(KeyUsages::NonRepudiation));
        set(&mut t, ID_CE_KEY_USAGE, true, &ku);
        assert_eq!(
            lint(&t, &profile, &issuer),
            vec![Finding::DigitalSignatureMissing]
        );

        // nocheck anywhere else is refused.
        let found = lint(&good, &Profile::client_credential(false), &issuer);
        assert!(
            found.contains(&Finding::OcspNoCheckOutsideResponder),
            "{found:?}"
        );
    }

    #[test]
    fn client_credential_rules() {
        let issuer = issuer();
        let request = Request::new(subject("CN=Own RA,O=Example"), key(0x77));
        for ra in [false, true] {
            let profile = Profile::client_credential(ra);
            let tbs = prepared(&profile, &issuer, &request);
            assert_eq!(lint(&tbs, &profile, &issuer), vec![]);
            // An RA credential is no plain client's, and the other way round.
            let found = lint(&tbs, &Profile::client_credential(!ra), &issuer);
            assert_eq!(found, vec![Finding::ExtendedKeyUsageMismatch]);
        }
        let profile = Profile::client_credential(true);
        let mut tbs = prepared(&profile, &issuer, &request);
        let eku = ExtendedKeyUsage(vec![crate::names::ID_KP_CMC_RA]);
        set(&mut tbs, ID_CE_EXT_KEY_USAGE, false, &eku);
        let found = lint(&tbs, &profile, &issuer);
        assert!(found.contains(&Finding::ClientAuthMissing), "{found:?}");
    }
}
