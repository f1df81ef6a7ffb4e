//! Validity rules (issuer clamp or refusal, backdating, requested validity,
//! UTCTime/GeneralizedTime), key rules and profile file errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmc_asn1::{CertTemplate, OptionalValidity};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_policy::{AdjustReason, Error, ProfileSet, Refusal, Request, Serial, prepare};
use common::DAY;
use der::asn1::{BitString, Uint};
use der::{Any, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Time;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The current time rounded down to a whole second, as certificates carry it.
fn now() -> SystemTime {
    at(secs(SystemTime::now()))
}

fn leaf_request(key: &FileKey) -> Request {
    Request::new(
        "CN=v.example.test".parse().unwrap(),
        key.public_key().clone(),
    )
}

fn crmf_request(key: &FileKey, not_before: Option<u64>, not_after: Option<u64>) -> Request {
    let t = |s: u64| Time::try_from(at(s)).unwrap();
    Request::from_cert_template(&CertTemplate {
        subject: Some("CN=v.example.test".parse().unwrap()),
        public_key: Some(key.public_key().clone()),
        validity: Some(OptionalValidity {
            not_before: not_before.map(t),
            not_after: not_after.map(t),
        }),
        ..Default::default()
    })
    .unwrap()
}

fn validity_secs(prepared: &cmc_policy::Prepared) -> (u64, u64) {
    let v = prepared.tbs().validity();
    (
        secs(v.not_before.to_system_time()),
        secs(v.not_after.to_system_time()),
    )
}

#[test]
fn default_validity_is_93_days() {
    let now = now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let p = prepare(
        &leaf_request(&leaf),
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([1; 16]),
        now,
    )
    .unwrap();
    let (nb, na) = validity_secs(&p);
    assert_eq!(nb, secs(now));
    assert_eq!(na - nb + 1, 93 * DAY);
    assert!(p.decision().validity_adjustments.is_empty());
}

#[test]
fn validity_is_clamped_to_the_issuer() {
    let now = now();
    let ca_end = now + Duration::from_secs(30 * DAY);
    let ca = common::ca_valid(KeySpec::P256, None, now - Duration::from_secs(DAY), ca_end);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let p = prepare(
        &leaf_request(&leaf),
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([2; 16]),
        now,
    )
    .unwrap();
    let (_, na) = validity_secs(&p);
    assert_eq!(na, secs(ca_end));
    let adj = &p.decision().validity_adjustments;
    assert_eq!(adj.len(), 1, "{adj:?}");
    assert_eq!(adj[0].reason, AdjustReason::IssuerNotAfter);
    assert_eq!(adj[0].field, "notAfter");
    let cert = common::sign(p, &ca);
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify(dir.path(), &ca.cert, &cert);
}

#[test]
fn validity_outliving_the_issuer_is_refused_when_the_profile_says_so() {
    let now = now();
    let ca = common::ca_valid(
        KeySpec::P256,
        None,
        now - Duration::from_secs(DAY),
        now + Duration::from_secs(30 * DAY),
    );
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let set = ProfileSet::from_toml("[profile.strict]\non_issuer_expiry = \"refuse\"\n").unwrap();
    let err = prepare(
        &leaf_request(&leaf),
        set.get("strict").unwrap(),
        &ca.info,
        &Serial::from_random([3; 16]),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reasons, .. }
            if matches!(reasons.as_slice(), [Refusal::OutlivesIssuer { .. }])),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("would outlive the issuer"),
        "{err}"
    );
    // A shorter profile fits and is issued.
    let set = ProfileSet::from_toml(
        "[profile.short]\non_issuer_expiry = \"refuse\"\nvalidity_days = 29\n",
    )
    .unwrap();
    assert!(
        prepare(
            &leaf_request(&leaf),
            set.get("short").unwrap(),
            &ca.info,
            &Serial::from_random([4; 16]),
            now,
        )
        .is_ok()
    );
}

#[test]
fn backdating_is_limited() {
    let now = now();
    let n = secs(now);
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let set =
        ProfileSet::from_toml("[profile.b]\nbackdate_seconds = 600\nvalidity_days = 10\n").unwrap();
    let profile = set.get("b").unwrap();

    // No request: notBefore is set back by the profile's backdate.
    let p = prepare(
        &leaf_request(&leaf),
        profile,
        &ca.info,
        &Serial::from_random([5; 16]),
        now,
    )
    .unwrap();
    assert_eq!(validity_secs(&p), (n - 600, n - 600 + 10 * DAY - 1));

    // A CRMF request asking for two hours back gets ten minutes, and a notAfter
    // past the profile's validity gets the profile's.
    let p = prepare(
        &crmf_request(&leaf, Some(n - 7200), Some(n + 100 * DAY)),
        profile,
        &ca.info,
        &Serial::from_random([6; 16]),
        now,
    )
    .unwrap();
    assert_eq!(validity_secs(&p), (n - 600, n - 600 + 10 * DAY - 1));
    let reasons: Vec<AdjustReason> = p
        .decision()
        .validity_adjustments
        .iter()
        .map(|a| a.reason)
        .collect();
    assert_eq!(
        reasons,
        [AdjustReason::BackdateLimit, AdjustReason::ProfileMaximum]
    );

    // A shorter requested validity within the limits is honoured.
    let p = prepare(
        &crmf_request(&leaf, Some(n - 300), Some(n + DAY)),
        profile,
        &ca.info,
        &Serial::from_random([7; 16]),
        now,
    )
    .unwrap();
    assert_eq!(validity_secs(&p), (n - 300, n + DAY));
    assert!(p.decision().validity_adjustments.is_empty());

    // A requested validity that has already ended is refused.
    let err = prepare(
        &crmf_request(&leaf, None, Some(n - 60)),
        profile,
        &ca.info,
        &Serial::from_random([8; 16]),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reasons, .. }
            if matches!(reasons.as_slice(), [Refusal::InvalidValidity { .. }])),
        "{err:?}"
    );

    // More than an hour of backdating is refused when the file is read.
    let err = ProfileSet::from_toml("[profile.b]\nbackdate_seconds = 7200\n").unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if field == "profile.b.backdate_seconds"),
        "{err:?}"
    );
}

#[test]
fn not_before_is_raised_to_the_issuers() {
    let now = now();
    let n = secs(now);
    let ca = common::ca_valid(
        KeySpec::P256,
        None,
        now - Duration::from_secs(60),
        now + Duration::from_secs(3650 * DAY),
    );
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let set = ProfileSet::from_toml("[profile.b]\nbackdate_seconds = 3600\n").unwrap();
    let p = prepare(
        &leaf_request(&leaf),
        set.get("b").unwrap(),
        &ca.info,
        &Serial::from_random([9; 16]),
        now,
    )
    .unwrap();
    assert_eq!(validity_secs(&p).0, n - 60);
    assert_eq!(
        p.decision().validity_adjustments[0].reason,
        AdjustReason::IssuerNotBefore
    );
}

#[test]
fn an_expired_issuer_issues_nothing() {
    let now = now();
    let ca = common::ca_valid(
        KeySpec::P256,
        None,
        now - Duration::from_secs(10 * DAY),
        now - Duration::from_secs(DAY),
    );
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let err = prepare(
        &leaf_request(&leaf),
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([10; 16]),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reasons, .. }
            if matches!(reasons.as_slice(), [Refusal::IssuerNotValid { .. }])),
        "{err:?}"
    );
}

/// Tag octets of notBefore and notAfter in a certificate's DER.
fn time_tags(cert: &x509_cert::Certificate) -> (u8, u8) {
    let v = cert.tbs_certificate().validity();
    (
        v.not_before.to_der().unwrap()[0],
        v.not_after.to_der().unwrap()[0],
    )
}

#[test]
fn utc_time_before_2050_generalized_time_from_2050() {
    const UTC: u8 = 0x17;
    const GENERALIZED: u8 = 0x18;
    // 2049-12-01T00:00:00Z: notBefore in 2049, notAfter (93 days on) in 2050.
    let now = at(2_521_929_600);
    let ca = common::ca_valid(KeySpec::P256, None, at(2_500_000_000), at(2_900_000_000));
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let p = prepare(
        &leaf_request(&leaf),
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([11; 16]),
        now,
    )
    .unwrap();
    assert_eq!(p.decision().not_before, "2049-12-01T00:00:00Z");
    assert_eq!(p.decision().not_after, "2050-03-03T23:59:59Z");
    // The TBS bytes themselves: "491201000000Z" as UTCTime,
    // "20500303235959Z" as GeneralizedTime.
    let der = p.tbs_der().to_vec();
    let find = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"\x17\x0d491201000000Z"));
    assert!(find(b"\x18\x0f20500303235959Z"));
    let cert = common::sign(p, &ca);
    assert_eq!(time_tags(&cert), (UTC, GENERALIZED));
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify_at(dir.path(), &ca.cert, &cert, Some(2_521_929_600 + DAY));

    // Entirely before 2050: both UTCTime.
    let now = at(2_400_000_000);
    let p = prepare(
        &leaf_request(&leaf),
        ProfileSet::builtin().default_profile(),
        &common::ca_valid(KeySpec::P256, None, at(2_300_000_000), at(2_900_000_000)).info,
        &Serial::from_random([12; 16]),
        now,
    )
    .unwrap();
    let v = p.tbs().validity();
    assert!(matches!(v.not_before, Time::UtcTime(_)));
    assert!(matches!(v.not_after, Time::UtcTime(_)));

    // Entirely from 2050: both GeneralizedTime.
    let now = at(2_600_000_000);
    let p = prepare(
        &leaf_request(&leaf),
        ProfileSet::builtin().default_profile(),
        &common::ca_valid(KeySpec::P256, None, at(2_500_000_000), at(2_900_000_000)).info,
        &Serial::from_random([13; 16]),
        now,
    )
    .unwrap();
    let v = p.tbs().validity();
    assert!(matches!(v.not_before, Time::GeneralTime(_)));
    assert!(matches!(v.not_after, Time::GeneralTime(_)));
}

/// An RSA SubjectPublicKeyInfo with a `bits`-bit modulus.
fn rsa_spki(bits: usize) -> SubjectPublicKeyInfoOwned {
    #[derive(Sequence)]
    struct RsaPublicKey {
        n: Uint,
        e: Uint,
    }
    let mut n = vec![0xa7u8; bits / 8];
    n[0] = 0xc1;
    let key = RsaPublicKey {
        n: Uint::new(&n).unwrap(),
        e: Uint::new(&[1, 0, 1]).unwrap(),
    };
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        subject_public_key: BitString::from_bytes(&key.to_der().unwrap()).unwrap(),
    }
}

#[test]
fn rsa_1024_and_disallowed_curves_are_refused() {
    let now = now();
    let ca = common::ca(KeySpec::P256, None, now);
    let profiles = ProfileSet::from_toml(
        "[profile.p384]\n[profile.p384.keys]\nec_curves = [\"P-384\"]\nrsa_sizes = []\n",
    )
    .unwrap();
    let weak = Request::new("CN=weak.example.test".parse().unwrap(), rsa_spki(1024));
    let err = prepare(
        &weak,
        profiles.default_profile(),
        &ca.info,
        &Serial::from_random([14; 16]),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reasons, .. }
            if reasons == &[Refusal::KeyNotAllowed { key: "RSA-1024".into() }]),
        "{err:?}"
    );
    // A 2048-bit modulus passes the same profile.
    let ok = Request::new("CN=ok.example.test".parse().unwrap(), rsa_spki(2048));
    assert!(
        prepare(
            &ok,
            profiles.default_profile(),
            &ca.info,
            &Serial::from_random([15; 16]),
            now,
        )
        .is_ok()
    );
    // A profile that only takes P-384 refuses P-256 and RSA.
    let p256 = FileKey::generate(KeySpec::P256).unwrap();
    for request in [leaf_request(&p256), ok] {
        let err = prepare(
            &request,
            profiles.get("p384").unwrap(),
            &ca.info,
            &Serial::from_random([16; 16]),
            now,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Refused { reasons, .. }
                if matches!(reasons.as_slice(), [Refusal::KeyNotAllowed { .. }])),
            "{err:?}"
        );
    }
    // And a profile file that allows RSA-1024 does not load.
    let err = ProfileSet::from_toml("[profile.old.keys]\nrsa_sizes = [1024]\n").unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, reason }
            if field == "profile.old.keys.rsa_sizes" && reason.contains("RSA-1024")),
        "{err:?}"
    );
}

#[test]
fn a_profile_file_with_an_unknown_field_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.toml");
    std::fs::write(
        &path,
        "[profile.server]\nvalidity_days = 90\nallow_ca = true\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let err = ProfileSet::from_toml(&text).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::ConfigSyntax { .. }), "{err:?}");
    assert!(msg.contains("unknown field `allow_ca`"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
}
