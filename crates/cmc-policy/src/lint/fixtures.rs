//! What the lint's unit tests share: a TBS the crate prepares, which lints
//! clean, and helpers that change it and look for one finding.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, SECP_256_R_1};
use der::Encode;
use der::asn1::{BitString, OctetString};
use der::flagset::FlagSet;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages, SubjectAltName};

use super::{Finding, lint_findings};
use crate::issuer::IssuerInfo;
use crate::keys::tests::fake_ec_spki;
use crate::profile::Profile;
use crate::tbs::RawTbs;
use crate::{Request, Serial, prepare};

pub(super) const NOW: u64 = 1_800_000_000; // 2027-01-15T08:00:00Z

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub(super) fn ecdsa(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

pub(super) fn issuer() -> IssuerInfo {
    IssuerInfo {
        subject: "CN=Lint Test CA,O=Example,C=SE".parse().unwrap(),
        key_identifier: vec![0x11; 20],
        not_before: at(NOW - 86_400),
        not_after: at(NOW + 3650 * 86_400),
        public_key: fake_ec_spki(SECP_256_R_1, 32),
        signature_algorithm: ecdsa(ECDSA_WITH_SHA_256),
        crl_urls: vec!["http://crl.example/ca.crl".into()],
        ca_issuers_urls: vec!["http://ca.example/ca.cer".into()],
        ocsp_urls: vec!["http://ocsp.example".into()],
    }
}

pub(super) fn leaf_key() -> SubjectPublicKeyInfoOwned {
    let mut k = fake_ec_spki(SECP_256_R_1, 32);
    k.subject_public_key = BitString::from_bytes(&[0x04; 65]).unwrap();
    k
}

/// A TBS that passes, as prepared by the crate, with its profile and issuer.
pub(super) fn good() -> (RawTbs, Profile, IssuerInfo) {
    let profile = Profile::builtin();
    let issuer = issuer();
    let mut request = Request::new("CN=leaf.example,O=Example".parse().unwrap(), leaf_key());
    let san = SubjectAltName(vec![GeneralName::DnsName(
        der::asn1::Ia5String::new("leaf.example").unwrap(),
    )]);
    request.extensions.push(Extension {
        extn_id: ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(san.to_der().unwrap()).unwrap(),
    });
    let prepared = prepare(
        &request,
        &profile,
        &issuer,
        &Serial::from_random([0x5a; 16]),
        at(NOW),
    )
    .unwrap();
    let tbs = RawTbs::decode_der(prepared.tbs_der()).unwrap();
    (tbs, profile, issuer)
}

pub(super) fn lint(tbs: &RawTbs, profile: &Profile, issuer: &IssuerInfo) -> Vec<Finding> {
    lint_findings(&tbs.encode_der().unwrap(), profile, issuer)
}

/// Lint `tbs` after `change`, and check `want` is among the findings.
pub(super) fn expect(want: &Finding, change: impl FnOnce(&mut RawTbs, &mut IssuerInfo)) {
    let (mut tbs, profile, mut issuer) = good();
    change(&mut tbs, &mut issuer);
    let found = lint(&tbs, &profile, &issuer);
    assert!(found.contains(want), "wanted {want:?}, found {found:?}");
}

pub(super) fn exts(tbs: &mut RawTbs) -> &mut Vec<Extension> {
    tbs.extensions.get_or_insert_with(Vec::new)
}

pub(super) fn set_ext(tbs: &mut RawTbs, oid: ObjectIdentifier, critical: bool, value: &[u8]) {
    let e = Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    };
    let list = exts(tbs);
    match list.iter_mut().find(|x| x.extn_id == oid) {
        Some(x) => *x = e,
        None => list.push(e),
    }
}

pub(super) fn remove_ext(tbs: &mut RawTbs, oid: ObjectIdentifier) {
    exts(tbs).retain(|e| e.extn_id != oid);
}

pub(super) fn key_usage(bits: FlagSet<KeyUsages>) -> Vec<u8> {
    KeyUsage(bits).to_der().unwrap()
}
