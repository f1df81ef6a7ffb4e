//! A request that asks for CA powers gets an end-entity certificate without
//! them, and the Decision says what was dropped and why; a refusing profile
//! refuses it, naming the same items.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::SystemTime;

use cmc_asn1::{CertTemplate, OptionalValidity};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_policy::{
    Decision, DropReason, Error, ProfileSet, Refusal, Request, Serial, SkiMethod, prepare,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
    ID_CE_NAME_CONSTRAINTS, ID_CE_POLICY_CONSTRAINTS, ID_CE_SUBJECT_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_CODE_SIGNING,
};
use der::asn1::{Ia5String, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::request::ExtensionReq;

const UNKNOWN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");

fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn raw_ext(oid: ObjectIdentifier, critical: bool, value: &[u8]) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn ia5(s: &str) -> Ia5String {
    Ia5String::new(s).unwrap()
}

/// Everything a greedy requester might ask for.
fn greedy_extensions() -> Vec<Extension> {
    vec![
        ext(
            ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(3),
            },
        ),
        ext(
            ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        ),
        // NameConstraints { permittedSubtrees [0] { { dNSName "example.com" } } }
        raw_ext(
            ID_CE_NAME_CONSTRAINTS,
            true,
            b"\x30\x11\xa0\x0f\x30\x0d\x82\x0bexample.com",
        ),
        // PolicyConstraints { requireExplicitPolicy [0] 0 }
        raw_ext(
            ID_CE_POLICY_CONSTRAINTS,
            true,
            &[0x30, 0x03, 0x80, 0x01, 0x00],
        ),
        raw_ext(UNKNOWN, true, &[0x05, 0x00]),
        ext(
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new([0xee; 20]).unwrap()),
        ),
        ext(
            ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new([0xdd; 20]).unwrap()),
                ..Default::default()
            },
        ),
        ext(
            ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]),
        ),
        ext(
            ID_CE_SUBJECT_ALT_NAME,
            false,
            &SubjectAltName(vec![
                GeneralName::DnsName(ia5("leaf.example.test")),
                GeneralName::UniformResourceIdentifier(ia5("https://leaf.example.test/")),
                GeneralName::IpAddress(OctetString::new([192, 0, 2, 7]).unwrap()),
                GeneralName::DnsName(ia5("bad_name..example")),
            ]),
        ),
    ]
}

fn has(decision: &Decision, item: &str, reason: DropReason) -> bool {
    decision
        .dropped
        .iter()
        .any(|d| d.item == item && d.reason == reason)
}

#[test]
fn ca_powers_are_dropped_and_named() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let csr = common::csr(
        &leaf,
        "CN=leaf.example.test,OU=Testing,O=Example,L=Stockholm",
        greedy_extensions(),
    );
    let request = Request::from_cert_req(&csr).unwrap();
    assert_eq!(request.extensions.len(), 9);
    let profiles = ProfileSet::builtin();
    let prepared = prepare(
        &request,
        profiles.default_profile(),
        &ca.info,
        &Serial::from_random([0x31; 16]),
        now,
    )
    .unwrap();
    let d = prepared.decision().clone();

    for (item, reason) in [
        ("basicConstraints cA=TRUE", DropReason::CaBasicConstraints),
        ("keyUsage keyCertSign", DropReason::CaKeyUsage),
        ("keyUsage cRLSign", DropReason::CaKeyUsage),
        ("keyUsage", DropReason::SetByProfile),
        ("nameConstraints", DropReason::CaOnlyExtension),
        ("policyConstraints", DropReason::CaOnlyExtension),
        ("1.3.6.1.4.1.99999.1", DropReason::UnknownCritical),
        ("subjectKeyIdentifier", DropReason::SetByCa),
        ("authorityKeyIdentifier", DropReason::SetByCa),
        ("extKeyUsage", DropReason::SetByProfile),
        (
            "subjectAltName uniformResourceIdentifier:https://leaf.example.test/",
            DropReason::NameTypeNotAllowed,
        ),
        (
            "subjectAltName dNSName:bad_name..example",
            DropReason::InvalidName,
        ),
        ("subject L=Stockholm", DropReason::AttributeNotAllowed),
    ] {
        assert!(
            has(&d, item, reason),
            "{item}: {reason:?} not in {:#?}",
            d.dropped
        );
    }
    assert_eq!(d.dropped.len(), 13, "{:#?}", d.dropped);
    assert_eq!(
        d.subject_alt_names,
        ["dNSName:leaf.example.test", "iPAddress:192.0.2.7"]
    );
    assert_eq!(d.subject, "CN=leaf.example.test,OU=Testing,O=Example");
    assert_eq!(d.requested.len(), 9);
    assert_eq!(d.key, "EC P-256");

    // The TBS carries none of what was refused.
    let tbs = prepared.tbs();
    let ids: Vec<ObjectIdentifier> = tbs
        .extensions()
        .unwrap()
        .iter()
        .map(|e| e.extn_id)
        .collect();
    assert!(!ids.contains(&ID_CE_NAME_CONSTRAINTS));
    assert!(!ids.contains(&ID_CE_POLICY_CONSTRAINTS));
    assert!(!ids.contains(&UNKNOWN));
    let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && !bc.ca && bc.path_len_constraint.is_none());
    let (critical, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(critical);
    assert_eq!(
        ku.0,
        der::flagset::FlagSet::from(KeyUsages::DigitalSignature)
    );
    let (_, eku) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
    assert!(!eku.0.contains(&ID_KP_CODE_SIGNING));
    assert_eq!(eku.0.len(), 2);
    let (_, ski) = tbs
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert_eq!(
        ski.0.as_bytes(),
        SkiMethod::Sha1.key_identifier(leaf.public_key().subject_public_key.raw_bytes())
    );
    let (_, aki) = tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert_eq!(
        aki.key_identifier.unwrap().as_bytes(),
        ca.info.key_identifier.as_slice()
    );
    let (critical, san) = tbs.get_extension::<SubjectAltName>().unwrap().unwrap();
    assert!(!critical);
    assert_eq!(san.0.len(), 2);

    // The decision is data: it survives a JSON round trip for the audit log.
    let json = serde_json::to_string(&d).unwrap();
    assert!(json.contains("\"ca_basic_constraints\""), "{json}");
    assert!(json.contains("\"set_by_ca\""), "{json}");
    let back: Decision = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);

    // And what is issued is a certificate OpenSSL and pkilint accept.
    let cert = common::sign(prepared, &ca);
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify(dir.path(), &ca.cert, &cert);
    common::pkilint(dir.path(), &cert, "ca_powers_are_dropped_and_named");
}

#[test]
fn a_refusing_profile_refuses_and_names_each_item() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let csr = common::csr(&leaf, "CN=leaf.example.test", greedy_extensions());
    let profiles =
        ProfileSet::from_toml("[profile.strict]\non_refused_extension = \"refuse\"\n").unwrap();
    let err = prepare(
        &Request::from_cert_req(&csr).unwrap(),
        profiles.get("strict").unwrap(),
        &ca.info,
        &Serial::from_random([0x32; 16]),
        now,
    )
    .unwrap_err();
    let Error::Refused { profile, reasons } = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(profile, "strict");
    let items: Vec<(&str, DropReason)> = reasons
        .iter()
        .map(|r| match r {
            Refusal::Item(d) => (d.item.as_str(), d.reason),
            other => panic!("unexpected refusal {other:?}"),
        })
        .collect();
    assert_eq!(
        items,
        [
            ("basicConstraints cA=TRUE", DropReason::CaBasicConstraints),
            ("keyUsage keyCertSign", DropReason::CaKeyUsage),
            ("keyUsage cRLSign", DropReason::CaKeyUsage),
            ("nameConstraints", DropReason::CaOnlyExtension),
            ("policyConstraints", DropReason::CaOnlyExtension),
            ("1.3.6.1.4.1.99999.1", DropReason::UnknownCritical),
            (
                "subjectAltName uniformResourceIdentifier:https://leaf.example.test/",
                DropReason::NameTypeNotAllowed
            ),
            (
                "subjectAltName dNSName:bad_name..example",
                DropReason::InvalidName
            ),
        ]
    );
    let msg = err.to_string();
    assert!(
        msg.contains("basicConstraints cA=TRUE: cA=TRUE is never granted"),
        "{msg}"
    );
    assert!(msg.contains("nameConstraints: CA-only extension"), "{msg}");

    // Only the CA-set and profile-set items: the strict profile issues.
    let modest = common::csr(
        &leaf,
        "CN=leaf.example.test",
        vec![
            ext(
                ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            ),
            ext(
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new([0xee; 20]).unwrap()),
            ),
        ],
    );
    let prepared = prepare(
        &Request::from_cert_req(&modest).unwrap(),
        profiles.get("strict").unwrap(),
        &ca.info,
        &Serial::from_random([0x33; 16]),
        now,
    )
    .unwrap();
    assert_eq!(prepared.decision().dropped.len(), 2);
}

#[test]
fn duplicate_and_malformed_requested_extensions() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let mut request = Request::new(
        "CN=dup.example.test".parse().unwrap(),
        leaf.public_key().clone(),
    );
    let ku = ext(
        ID_CE_KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::DigitalSignature.into()),
    );
    request.extensions = vec![
        ku.clone(),
        ku,
        raw_ext(ID_CE_SUBJECT_ALT_NAME, false, &[0x04, 0x01, 0x00]),
        raw_ext(
            ObjectIdentifier::new_unwrap("1.2.3.4"),
            false,
            &[0x05, 0x00],
        ),
    ];
    let prepared = prepare(
        &request,
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([0x34; 16]),
        now,
    )
    .unwrap();
    let d = prepared.decision();
    assert!(
        has(d, "keyUsage", DropReason::Duplicate),
        "{:#?}",
        d.dropped
    );
    assert!(
        has(d, "subjectAltName", DropReason::Malformed),
        "{:#?}",
        d.dropped
    );
    assert!(
        has(d, "1.2.3.4", DropReason::NotInProfile),
        "{:#?}",
        d.dropped
    );
    assert!(
        prepared
            .tbs()
            .get_extension::<SubjectAltName>()
            .unwrap()
            .is_none()
    );
}

#[test]
fn fixed_subject_attributes_replace_requested_ones() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let profiles = ProfileSet::from_toml(
        r#"
        [profile.ra]
        extended_key_usage = ["id-kp-cmcRA"]
        [profile.ra.subject]
        from_request = ["CN", "OU"]
        require_cn = true
        fixed = { O = "Example AB", C = "SE" }
        "#,
    )
    .unwrap();
    let profile = profiles.get("ra").unwrap();
    let request = Request::new(
        "CN=RA 1,OU=Registration,O=Evil Corp,C=US".parse().unwrap(),
        leaf.public_key().clone(),
    );
    let prepared = prepare(
        &request,
        profile,
        &ca.info,
        &Serial::from_random([0x35; 16]),
        now,
    )
    .unwrap();
    let d = prepared.decision().clone();
    assert_eq!(d.subject, "CN=RA 1,OU=Registration,O=Example AB,C=SE");
    assert!(has(
        &d,
        "subject O=Evil Corp",
        DropReason::ReplacedByProfile
    ));
    assert!(has(&d, "subject C=US", DropReason::ReplacedByProfile));
    assert_eq!(d.extended_key_usage, ["id-kp-cmcRA"]);
    let cert = common::sign(prepared, &ca);
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify(dir.path(), &ca.cert, &cert);
    common::pkilint(
        dir.path(),
        &cert,
        "fixed_subject_attributes_replace_requested_ones",
    );

    // Without a CN, the profile refuses.
    let no_cn = Request::new(
        "OU=Registration".parse().unwrap(),
        leaf.public_key().clone(),
    );
    let err = prepare(
        &no_cn,
        profile,
        &ca.info,
        &Serial::from_random([0x36; 16]),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reasons, .. } if reasons.contains(&Refusal::MissingCommonName)),
        "{err:?}"
    );
}

#[test]
fn empty_subject_needs_a_san_and_gets_it_critical() {
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let profile = ProfileSet::builtin();
    let mut request = Request::new(Default::default(), leaf.public_key().clone());
    let err = prepare(
        &request,
        profile.default_profile(),
        &ca.info,
        &Serial::from_random([0x37; 16]),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reasons, .. } if reasons == &[Refusal::NoSubjectIdentity]),
        "{err:?}"
    );
    request.extensions.push(ext(
        ID_CE_SUBJECT_ALT_NAME,
        false,
        &SubjectAltName(vec![GeneralName::Rfc822Name(ia5("someone@example.test"))]),
    ));
    let prepared = prepare(
        &request,
        profile.default_profile(),
        &ca.info,
        &Serial::from_random([0x38; 16]),
        now,
    )
    .unwrap();
    let (critical, _) = prepared
        .tbs()
        .get_extension::<SubjectAltName>()
        .unwrap()
        .unwrap();
    assert!(critical);
    let cert = common::sign(prepared, &ca);
    let dir = tempfile::tempdir().unwrap();
    common::openssl_verify(dir.path(), &ca.cert, &cert);
    common::pkilint(
        dir.path(),
        &cert,
        "empty_subject_needs_a_san_and_gets_it_critical",
    );
}

#[test]
fn requests_from_pkcs10_and_crmf() {
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let extensions = vec![ext(
        ID_CE_SUBJECT_ALT_NAME,
        false,
        &SubjectAltName(vec![GeneralName::DnsName(ia5("a.example.test"))]),
    )];

    // PKCS#10: the extensionRequest attribute is read.
    let csr = common::csr(&leaf, "CN=a.example.test", extensions.clone());
    let from_csr = Request::from_cert_req(&csr).unwrap();
    assert_eq!(from_csr.extensions, extensions);
    assert_eq!(&from_csr.public_key, leaf.public_key());
    assert_eq!(from_csr.subject.to_string(), "CN=a.example.test");
    assert!(from_csr.validity.is_none());

    // Two extensionRequest attributes are refused as malformed.
    let mut twice = csr.clone();
    let value = Any::encode_from(&ExtensionReq(extensions.clone()).0).unwrap();
    let mut values = SetOfVec::new();
    values.insert(value.clone()).unwrap();
    let mut other = values.clone();
    other
        .insert(Any::encode_from(&Vec::<Extension>::new()).unwrap())
        .unwrap();
    twice.info.attributes = SetOfVec::new();
    twice
        .info
        .attributes
        .insert(Attribute {
            oid: const_oid::db::rfc5912::ID_EXTENSION_REQ,
            values: other,
        })
        .unwrap();
    assert!(matches!(
        Request::from_cert_req(&twice),
        Err(Error::BadRequest(m)) if m.contains("exactly one value")
    ));

    // CRMF: subject, key, extensions and validity come from the template.
    let validity = OptionalValidity {
        not_before: None,
        not_after: Some(x509_cert::time::Time::from_str_checked(
            "2030-01-01T00:00:00Z",
        )),
    };
    let template = CertTemplate {
        subject: Some("CN=b.example.test".parse().unwrap()),
        public_key: Some(leaf.public_key().clone()),
        extensions: Some(extensions.clone()),
        validity: Some(validity.clone()),
        ..Default::default()
    };
    let from_crmf = Request::from_cert_template(&template).unwrap();
    assert_eq!(from_crmf.subject.to_string(), "CN=b.example.test");
    assert_eq!(from_crmf.extensions, extensions);
    assert_eq!(from_crmf.validity, Some(validity));
    let template = CertTemplate::from_der(&template.to_der().unwrap()).unwrap();
    assert!(Request::from_cert_template(&template).is_ok());
    let keyless = CertTemplate {
        subject: Some("CN=c.example.test".parse().unwrap()),
        ..Default::default()
    };
    assert!(matches!(
        Request::from_cert_template(&keyless),
        Err(Error::BadRequest(_))
    ));
}

/// `Time::from_str` with the type spelled out.
trait FromStrChecked {
    fn from_str_checked(s: &str) -> Self;
}

impl FromStrChecked for x509_cert::time::Time {
    fn from_str_checked(s: &str) -> Self {
        s.parse().unwrap()
    }
}

#[test]
fn malformed_subject_attributes_are_dropped() {
    use der::asn1::{BmpString, PrintableString, Utf8StringRef};
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

    let atv = |oid: &str, value: Any| AttributeTypeAndValue {
        oid: ObjectIdentifier::new_unwrap(oid),
        value,
    };
    let utf8 = |s: &str| Any::encode_from(&Utf8StringRef::new(s).unwrap()).unwrap();
    let printable = |s: &str| Any::encode_from(&PrintableString::new(s).unwrap()).unwrap();
    let mut rdns = RdnSequence::default();
    for a in [
        atv("2.5.4.6", printable("Sweden")), // C is two letters
        atv("2.5.4.6", utf8("SE")),          // C is a PrintableString
        atv(
            "2.5.4.10",
            Any::encode_from(&BmpString::from_utf8("Example").unwrap()).unwrap(),
        ),
        atv("2.5.4.11", utf8(&"x".repeat(65))), // ub-organizational-unit-name 64
        atv("2.5.4.3", utf8("ok.example.test")),
    ] {
        let mut rdn = RelativeDistinguishedName::default();
        rdn.insert(a).unwrap();
        rdns.push(rdn);
    }
    let subject = Name::from_der(&rdns.to_der().unwrap()).unwrap();
    let now = SystemTime::now();
    let ca = common::ca(KeySpec::P256, None, now);
    let leaf = FileKey::generate(KeySpec::P256).unwrap();
    let prepared = prepare(
        &Request::new(subject, leaf.public_key().clone()),
        ProfileSet::builtin().default_profile(),
        &ca.info,
        &Serial::from_random([0x39; 16]),
        now,
    )
    .unwrap();
    let d = prepared.decision();
    assert_eq!(d.subject, "CN=ok.example.test");
    let invalid: Vec<&str> = d
        .dropped
        .iter()
        .filter(|x| x.reason == DropReason::InvalidAttribute)
        .map(|x| x.item.as_str())
        .collect();
    assert_eq!(invalid.len(), 4, "{:#?}", d.dropped);
    assert!(invalid.contains(&"subject C=Sweden"), "{invalid:?}");
    assert!(invalid.contains(&"subject O=(binary)"), "{invalid:?}");
}
