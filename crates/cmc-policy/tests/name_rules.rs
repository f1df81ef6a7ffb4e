//! Who may ask for which names: a profile's `[profile.NAME.names]` rules,
//! enforced by `prepare` on what the certificate would carry, a principal's
//! registered `NameSpace`, and renewals that must stay within the renewed
//! certificate. Each test is an attack that must fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::SystemTime;

use cmc_keys::{FileKey, KeySpec};
use cmc_policy::{
    Error, NameRule, NameSpace, NameViolation, Prepared, ProfileSet, Refusal, Request, Serial,
    prepare, within_certificate,
};
use const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
use der::Encode;
use der::asn1::{Ia5String, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

const PROFILES: &str = r#"
[profile.server]
extended_key_usage = ["serverAuth"]
[profile.server.names]
permitted_dns_suffixes = ["example.test"]
excluded_dns_suffixes = ["internal.example.test"]
permitted_ip_ranges = ["192.0.2.0/24"]
excluded_ip_ranges = ["192.0.2.128/25"]

[profile.mail]
extended_key_usage = ["emailProtection"]
[profile.mail.subject]
from_request = ["CN", "emailAddress"]
[profile.mail.names]
permitted_email_domains = ["example.test", ".corp.example.test"]
excluded_email_domains = ["hr.corp.example.test"]

[profile.staff]
[profile.staff.subject]
from_request = ["CN", "OU"]
fixed = { O = "Example AB", C = "SE" }
[profile.staff.names]
subject_patterns = ["CN=*,OU=Staff,O=Example AB,C=SE", "CN=*.example.test,O=Example AB,C=SE"]
"#;

fn dns(s: &str) -> GeneralName {
    GeneralName::DnsName(Ia5String::new(s).unwrap())
}

fn email(s: &str) -> GeneralName {
    GeneralName::Rfc822Name(Ia5String::new(s).unwrap())
}

fn ip(bytes: &[u8]) -> GeneralName {
    GeneralName::IpAddress(OctetString::new(bytes).unwrap())
}

fn san(names: Vec<GeneralName>) -> Extension {
    Extension {
        extn_id: ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(SubjectAltName(names).to_der().unwrap()).unwrap(),
    }
}

struct Fixture {
    now: SystemTime,
    ca: common::Ca,
    leaf: FileKey,
    profiles: ProfileSet,
}

impl Fixture {
    fn new() -> Self {
        let now = SystemTime::now();
        Self {
            now,
            ca: common::ca(KeySpec::P256, None, now),
            leaf: FileKey::generate(KeySpec::P256).unwrap(),
            profiles: ProfileSet::from_toml(PROFILES).unwrap(),
        }
    }

    /// Prepare a PKCS #10 request for `subject` and `sans` with `profile`.
    fn prepare(
        &self,
        profile: &str,
        subject: &str,
        sans: Vec<GeneralName>,
    ) -> Result<Prepared, Error> {
        let extensions = if sans.is_empty() {
            Vec::new()
        } else {
            vec![san(sans)]
        };
        let csr = common::csr(&self.leaf, subject, extensions);
        prepare(
            &Request::from_cert_req(&csr).unwrap(),
            self.profiles.get(profile).unwrap(),
            &self.ca.info,
            &Serial::from_random([0x51; 16]),
            self.now,
        )
    }

    /// The name violations of a refused request (and nothing else).
    fn refused(&self, profile: &str, subject: &str, sans: Vec<GeneralName>) -> Vec<NameViolation> {
        match self.prepare(profile, subject, sans) {
            Err(Error::Refused { reasons, .. }) => reasons
                .into_iter()
                .map(|r| match r {
                    Refusal::Name(v) => v,
                    other => panic!("not a name refusal: {other:?}"),
                })
                .collect(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn dns_suffixes_hold_on_label_boundaries() {
    let f = Fixture::new();
    let v = f.refused(
        "server",
        "CN=www.example.test",
        vec![dns("badexample.test")],
    );
    assert_eq!(
        v,
        [NameViolation {
            name: "dNSName:badexample.test".into(),
            rule: NameRule::NotPermitted {
                list: "permitted_dns_suffixes".into()
            },
        }]
    );
    // The refusal names the name and the rule.
    let err = f
        .prepare(
            "server",
            "CN=www.example.test",
            vec![dns("badexample.test")],
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("dNSName:badexample.test: not within any of permitted_dns_suffixes"),
        "{err}"
    );

    // Upper case is the same name, both ways.
    let ok = f
        .prepare(
            "server",
            "CN=WWW.Example.Test",
            vec![dns("API.EXAMPLE.TEST"), dns("example.test")],
        )
        .unwrap();
    assert_eq!(ok.subject_alt_names().len(), 2);
    assert_eq!(
        f.refused("server", "CN=ok.example.test", vec![dns("WWW.EVIL.TEST")])[0].name,
        "dNSName:WWW.EVIL.TEST"
    );

    // A trailing dot: not a well-formed dNSName, so it is dropped before the
    // rules and never issued; as a commonName it is the same DNS name.
    let dropped = f
        .prepare("server", "CN=www.example.test", vec![dns("www.evil.test.")])
        .unwrap();
    assert!(dropped.subject_alt_names().is_empty());
    let v = f.refused("server", "CN=www.evil.test.", vec![]);
    assert_eq!(v[0].name, "subject CN=www.evil.test.");
    assert_eq!(
        v[0].rule,
        NameRule::NotPermitted {
            list: "permitted_dns_suffixes".into()
        }
    );
    assert!(f.prepare("server", "CN=www.example.test.", vec![]).is_ok());
}

#[test]
fn wildcards_are_checked_after_the_star() {
    let f = Fixture::new();
    assert!(
        f.prepare(
            "server",
            "CN=x.example.test",
            vec![dns("*.apps.example.test")]
        )
        .is_ok()
    );
    // `*.test` would match evil.test too.
    assert_eq!(
        f.refused("server", "CN=x.example.test", vec![dns("*.test")])[0].name,
        "dNSName:*.test"
    );
    // `*.example.test` matches internal.example.test, which is excluded.
    let v = f.refused("server", "CN=x.example.test", vec![dns("*.example.test")]);
    assert_eq!(
        v[0].rule,
        NameRule::Excluded {
            list: "excluded_dns_suffixes".into(),
            entry: "internal.example.test".into()
        }
    );
    assert_eq!(
        f.refused("server", "CN=*.internal.example.test", vec![])
            .len(),
        1
    );
}

#[test]
fn excluded_beats_permitted() {
    let f = Fixture::new();
    let v = f.refused(
        "server",
        "CN=db.internal.example.test",
        vec![dns("db.Internal.example.test"), ip(&[192, 0, 2, 200])],
    );
    let got: Vec<String> = v.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "subject CN=db.internal.example.test: within `internal.example.test` of excluded_dns_suffixes",
            "dNSName:db.Internal.example.test: within `internal.example.test` of excluded_dns_suffixes",
            "iPAddress:192.0.2.200: within `192.0.2.128/25` of excluded_ip_ranges",
        ]
    );
}

#[test]
fn a_common_name_outside_the_suffixes_is_refused() {
    let f = Fixture::new();
    // The built-in profile takes CN from the request: a host name in the CN
    // is held to the same rules as a dNSName (clients fall back on it).
    let v = f.refused("server", "CN=www.bank.test", vec![dns("www.example.test")]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].name, "subject CN=www.bank.test");
    // An IP address in the CN is held to the IP rules.
    assert_eq!(
        f.refused("server", "CN=198.51.100.7", vec![])[0].to_string(),
        "subject CN=198.51.100.7: not within any of permitted_ip_ranges"
    );
    // A CN that is not a host name is left alone.
    assert!(
        f.prepare("server", "CN=alice", vec![dns("alice.example.test")])
            .is_ok()
    );
}

#[test]
fn ipv4_mapped_ipv6_is_the_ipv4_address() {
    let f = Fixture::new();
    let mapped = |a: [u8; 4]| {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&a);
        ip(&b)
    };
    // ::ffff:192.0.2.200 is 192.0.2.200: excluded.
    let v = f.refused(
        "server",
        "CN=x.example.test",
        vec![mapped([192, 0, 2, 200])],
    );
    assert_eq!(v[0].name, "iPAddress:::ffff:192.0.2.200");
    assert!(matches!(v[0].rule, NameRule::Excluded { .. }));
    // ::ffff:10.0.0.1 is outside 192.0.2.0/24.
    assert!(matches!(
        f.refused("server", "CN=x.example.test", vec![mapped([10, 0, 0, 1])])[0].rule,
        NameRule::NotPermitted { .. }
    ));
    let ok = f
        .prepare(
            "server",
            "CN=x.example.test",
            vec![mapped([192, 0, 2, 7]), ip(&[192, 0, 2, 8])],
        )
        .unwrap();
    assert_eq!(ok.subject_alt_names().len(), 2);
}

#[test]
fn email_domains_cover_the_subject_too() {
    let f = Fixture::new();
    assert!(
        f.prepare(
            "mail",
            "CN=Alice,emailAddress=alice@example.test",
            vec![
                email("alice@example.test"),
                email("a@dev.corp.example.test")
            ],
        )
        .is_ok()
    );
    // An e-mail address in the subject DN is an e-mail address.
    let v = f.refused(
        "mail",
        "CN=Alice,emailAddress=alice@evil.test",
        vec![email("alice@example.test")],
    );
    assert_eq!(
        v[0].to_string(),
        "subject emailAddress=alice@evil.test: not within any of permitted_email_domains"
    );
    // `example.test` is that host; `.corp.example.test` is below it only.
    for bad in [
        "a@mail.example.test",
        "a@corp.example.test",
        "a@badexample.test",
        "a@hr.corp.example.test",
        "a@EVIL.test",
    ] {
        assert_eq!(
            f.refused("mail", "CN=Alice", vec![email(bad)]).len(),
            1,
            "{bad}"
        );
    }
    assert!(
        f.prepare("mail", "CN=Alice", vec![email("a@EXAMPLE.TEST")])
            .is_ok()
    );
}

#[test]
fn subject_patterns_bind_the_whole_subject() {
    let f = Fixture::new();
    let p = f.prepare("staff", "CN=Alice,OU=Staff", vec![]).unwrap();
    assert_eq!(
        p.subject().to_string(),
        "CN=Alice,OU=Staff,O=Example AB,C=SE"
    );
    assert!(f.prepare("staff", "CN=www.example.test", vec![]).is_ok());
    for bad in ["CN=Alice,OU=Admins", "CN=Alice", "CN=badexample.test"] {
        let v = f.refused("staff", bad, vec![]);
        assert_eq!(v.len(), 1, "{bad}");
        assert_eq!(v[0].rule, NameRule::NoSubjectPattern);
        assert!(v[0].name.starts_with("subject CN="), "{}", v[0].name);
    }
}

#[test]
fn bad_rules_refuse_the_profile_file() {
    for (toml, field) in [
        (
            "[profile.a.names]\npermitted_dns_suffixes = [\"*.example.test\"]\n",
            "profile.a.names.permitted_dns_suffixes",
        ),
        (
            "[profile.a.names]\nexcluded_ip_ranges = [\"10.0.0.1/8\"]\n",
            "profile.a.names.excluded_ip_ranges",
        ),
        (
            "[profile.a.names]\nsubject_patterns = [\"CN=a*\"]\n",
            "profile.a.names.subject_patterns",
        ),
    ] {
        match ProfileSet::from_toml(toml) {
            Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{toml}: {other:?}"),
        }
    }
    let err = ProfileSet::from_toml("[profile.a.names]\npermitted_dns = []\n").unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    let set = ProfileSet::from_toml(PROFILES).unwrap();
    assert!(!set.get("server").unwrap().name_rules().is_empty());
    assert!(set.default_profile().name_rules().is_empty());
}

#[test]
fn a_registered_client_gets_only_its_names() {
    let f = Fixture::new();
    let eve = NameSpace::from_args(Some("CN=eve"), &[] as &[&str], &[], &[]).unwrap();
    // The profile (the built-in one) would issue CN=admin; the name space
    // stops it between prepare and signing.
    let p = f.prepare("default", "CN=admin", vec![]).unwrap();
    let v = eve.check(p.subject(), p.subject_alt_names()).unwrap_err();
    assert_eq!(v.name, "subject CN=admin");
    assert_eq!(v.rule, NameRule::OutsideNameSpace);
    let p = f.prepare("default", "CN=eve", vec![]).unwrap();
    assert!(eve.check(p.subject(), p.subject_alt_names()).is_ok());
    let p = f
        .prepare("default", "CN=eve", vec![dns("eve.example.test")])
        .unwrap();
    assert_eq!(
        eve.check(p.subject(), p.subject_alt_names())
            .unwrap_err()
            .name,
        "dNSName:eve.example.test"
    );

    let web = NameSpace::from_args(None, &[".web.example.test"], &[], &["192.0.2.0/28"]).unwrap();
    let p = f
        .prepare(
            "server",
            "CN=a.web.example.test",
            vec![dns("a.web.example.test"), ip(&[192, 0, 2, 3])],
        )
        .unwrap();
    assert!(web.check(p.subject(), p.subject_alt_names()).is_ok());
    let p = f
        .prepare(
            "server",
            "CN=a.web.example.test",
            vec![dns("api.example.test")],
        )
        .unwrap();
    assert_eq!(
        web.check(p.subject(), p.subject_alt_names())
            .unwrap_err()
            .name,
        "dNSName:api.example.test"
    );

    // What the store keeps reads back the same.
    let json = serde_json::to_string(&web).unwrap();
    assert_eq!(serde_json::from_str::<NameSpace>(&json).unwrap(), web);
}

#[test]
fn renewals_stay_within_the_renewed_certificate() {
    let f = Fixture::new();
    let old = common::sign(
        f.prepare(
            "server",
            "CN=alice.example.test",
            vec![dns("alice.example.test"), dns("www.alice.example.test")],
        )
        .unwrap(),
        &f.ca,
    );
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify(dir.path(), &f.ca.cert, &old);

    // The same names, or fewer (in another order, another case): fine.
    for sans in [
        vec![dns("alice.example.test"), dns("www.alice.example.test")],
        vec![dns("WWW.alice.example.test")],
        vec![],
    ] {
        let p = f.prepare("server", "CN=alice.example.test", sans).unwrap();
        within_certificate(&old, p.subject(), p.subject_alt_names()).unwrap();
    }

    // A renewal adding a SAN (the profile allows it, the renewal does not).
    let p = f
        .prepare(
            "server",
            "CN=alice.example.test",
            vec![dns("alice.example.test"), dns("bank.example.test")],
        )
        .unwrap();
    let v = within_certificate(&old, p.subject(), p.subject_alt_names()).unwrap_err();
    assert_eq!(v.name, "dNSName:bank.example.test");
    assert_eq!(v.rule, NameRule::NotInRenewedCertificate);

    // A renewal changing the subject.
    let p = f
        .prepare(
            "server",
            "CN=admin.example.test",
            vec![dns("alice.example.test")],
        )
        .unwrap();
    let v = within_certificate(&old, p.subject(), p.subject_alt_names()).unwrap_err();
    assert_eq!(
        v.rule,
        NameRule::SubjectChanged {
            renewed: "CN=alice.example.test".into()
        }
    );
    assert_eq!(
        v.to_string(),
        "subject CN=admin.example.test: differs from the subject of the certificate being \
         renewed (CN=alice.example.test)"
    );
    // Adding an attribute is changing the subject.
    let p = f
        .prepare("default", "CN=alice.example.test,O=Example", vec![])
        .unwrap();
    assert!(within_certificate(&old, p.subject(), p.subject_alt_names()).is_err());

    // A certificate without subjectAltNames renews without any.
    let bare = common::sign(f.prepare("default", "CN=bob", vec![]).unwrap(), &f.ca);
    let p = f
        .prepare("default", "CN=bob", vec![dns("bob.example.test")])
        .unwrap();
    assert_eq!(
        within_certificate(&bare, p.subject(), p.subject_alt_names())
            .unwrap_err()
            .rule,
        NameRule::NotInRenewedCertificate
    );
}
