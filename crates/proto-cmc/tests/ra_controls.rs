//! The RA-facing controls of issue 17 through `CmcFrontDoor::handle_full`:
//! modCertTemplate and addExtensions (RFC 5272 §6.5), controlProcessed
//! (§6.19), raIdentityWitness (RFC 6402) and the changeSubjectName
//! attribute (RFC 6402). Each with what it is allowed to do and its
//! refusals, checked on the signed response and on the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_support;
mod common;

use std::str::FromStr;

use attack_support::{Party, Rig, csr, dns_names, names};
use cmc_asn1::{
    AddExtensions, BodyPartId, BodyPartList, BodyPartPath, BodyPartReference, CertTemplate,
    ChangeSubjectName, CmcFailInfo, CmcStatus, ControlsProcessed, Identification, IdentityProof,
    ModCertTemplate, OptionalValidity, RaIdentityWitness, SenderNonce, TaggedContentInfo, oid,
};
use cmc_codec::{
    CmsSigner, RequestBuilder, ResponseVerifyOptions, VerifiedResponse, build_csr_with_attributes,
    decode_response,
};
use cmc_keys::{FileKey, KeySpec, SigningKey};
use cmc_store::ClientRole;
use cms::content_info::ContentInfo;
use const_oid::AssociatedOid;
use der::asn1::{Ia5String, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::time::Time;

/// The body part id of the RA's control in these tests.
const CTL: BodyPartId = 20;
/// The cmsSequence id of a nested end-entity request.
const NESTED: BodyPartId = 10;
/// Profiles: 30 days at most, dNSNames under example.test, a request
/// with an extension the profile does not grant (cA=TRUE) refused rather
/// than issued without it.
const PROFILES: &str = r#"
default_profile = "default"
[profile.default]
validity_days = 30
on_refused_extension = "refuse"
[profile.default.names]
permitted_dns_suffixes = ["example.test"]
"#;

fn rig() -> (Rig, Party) {
    let rig = Rig::profiles(PROFILES);
    let ra = rig.client("ra", "CN=ra", ClientRole::Ra, None);
    (rig, ra)
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

fn san(dns: &[&str]) -> Extension {
    let names = dns
        .iter()
        .map(|d| GeneralName::DnsName(Ia5String::new(d).unwrap()))
        .collect();
    cmc_ca::x509::extension(&SubjectAltName(names), false).unwrap()
}

fn ca_true() -> Extension {
    cmc_ca::x509::extension(
        &BasicConstraints {
            ca: true,
            path_len_constraint: None,
        },
        true,
    )
    .unwrap()
}

/// modCertTemplate for requests `refs` of the PKIData `layer`.
fn modify(
    layer: BodyPartId,
    refs: &[BodyPartId],
    replace: bool,
    t: CertTemplate,
) -> ModCertTemplate {
    ModCertTemplate {
        pki_data_reference: BodyPartPath(vec![layer]),
        cert_references: BodyPartList(refs.to_vec()),
        replace,
        cert_template: t,
    }
}

fn template_subject(s: &str) -> CertTemplate {
    CertTemplate {
        subject: Some(Name::from_str(s).unwrap()),
        ..CertTemplate::default()
    }
}

/// A certificate under `reply`'s single success status.
fn issued(rig: &Rig, reply: &proto_cmc::CmcReply) -> Certificate {
    rig.issued_cert(reply)
}

/// An end entity's Full PKI Request signed with its new key: senderNonce
/// (id 1), a PKCS #10 request for `name` (id 2), and what `extra` adds.
fn end_entity(rig: &Rig, name: &str, extra: impl FnOnce(&mut RequestBuilder)) -> ContentInfo {
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).unwrap();
    let mut b = RequestBuilder::new();
    b.control(1, &SenderNonce(OctetString::new(nonce).unwrap()))
        .unwrap()
        .pkcs10(2, csr(&key, name, &[]))
        .unwrap();
    extra(&mut b);
    let der = b
        .sign(
            &CmsSigner::self_signed(&key).unwrap(),
            rig.now().to_system_time(),
        )
        .unwrap();
    ContentInfo::from_der(&der).unwrap()
}

/// `party`'s request holding `inner` as cmsSequence item [`NESTED`], with
/// the controls `build` adds.
fn wrap(
    rig: &Rig,
    party: &Party,
    inner: ContentInfo,
    build: impl FnOnce(&mut RequestBuilder),
) -> proto_cmc::CmcReply {
    rig.send(party, |b| {
        b.content(TaggedContentInfo {
            body_part_id: NESTED,
            content_info: inner,
        })
        .unwrap();
        build(b);
    })
}

/// The one nested response of `resp`, verified.
fn nested_response(rig: &Rig, resp: &VerifiedResponse) -> VerifiedResponse {
    assert_eq!(resp.pki_response.cms_sequence.len(), 1);
    let der = resp.pki_response.cms_sequence[0]
        .content_info
        .to_der()
        .unwrap();
    let trusted = [rig.ca.certificate().clone()];
    decode_response(
        &der,
        &ResponseVerifyOptions::new(rig.now().to_system_time(), &trusted),
    )
    .unwrap()
}

/// The nested response's one status and the certificates it carries.
fn nested_outcome(
    rig: &Rig,
    reply: &proto_cmc::CmcReply,
) -> ((CmcStatus, Option<CmcFailInfo>), Vec<Certificate>) {
    let resp = rig.verify(reply);
    let s = common::statuses(&resp);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        (s[0].status, common::ids(&s[0].body_list)),
        (CmcStatus::Success, vec![NESTED])
    );
    let inner = nested_response(rig, &resp);
    let s = common::statuses(&inner);
    assert_eq!(s.len(), 1, "{s:?}");
    let certs = inner
        .issued_by(rig.ca.certificate())
        .into_iter()
        .cloned()
        .collect();
    ((s[0].status, s[0].fail_info), certs)
}

#[test]
fn mod_cert_template_changes_an_ra_request_within_the_profile() {
    let (rig, ra) = rig();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    // The RA renames request 1 and gives it a subjectAltName and a
    // shorter lifetime; request 2 is left alone.
    let not_after = rig.now().plus_secs(10 * attack_support::DAY);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=asked.example.test", &[]))
            .unwrap();
        b.control(
            CTL,
            &modify(
                0,
                &[1],
                true,
                CertTemplate {
                    validity: Some(OptionalValidity {
                        not_before: None,
                        not_after: Some(Time::try_from(not_after.to_system_time()).unwrap()),
                    }),
                    extensions: Some(vec![san(&["given.example.test"])]),
                    ..template_subject("CN=given.example.test")
                },
            ),
        )
        .unwrap();
    });
    let cert = issued(&rig, &reply);
    assert_eq!(subject(&cert), "CN=given.example.test");
    assert_eq!(dns_names(&cert), ["given.example.test"]);
    assert_eq!(
        cert.tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs(),
        u64::try_from(not_after.secs()).unwrap()
    );

    // replace = FALSE removes the fields it names: the subjectAltName the
    // request asked for is gone.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=b.example.test", &["b.example.test"]))
            .unwrap();
        b.control(
            CTL,
            &modify(
                0,
                &[1],
                false,
                CertTemplate {
                    extensions: Some(vec![san(&["ignored.example.test"])]),
                    ..CertTemplate::default()
                },
            ),
        )
        .unwrap();
    });
    let cert = issued(&rig, &reply);
    assert_eq!(subject(&cert), "CN=b.example.test");
    assert!(dns_names(&cert).is_empty());

    // A lifetime over the profile's is cut to it.
    rig.env.clock.advance(1);
    let long = rig.now().plus_secs(400 * attack_support::DAY);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=c.example.test", &[])).unwrap();
        b.control(
            CTL,
            &modify(
                0,
                &[1],
                true,
                CertTemplate {
                    validity: Some(OptionalValidity {
                        not_before: None,
                        not_after: Some(Time::try_from(long.to_system_time()).unwrap()),
                    }),
                    ..CertTemplate::default()
                },
            ),
        )
        .unwrap();
    });
    let cert = issued(&rig, &reply);
    let not_after = cert
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration();
    assert!(
        not_after.as_secs()
            <= u64::try_from(rig.now().plus_secs(30 * attack_support::DAY).secs()).unwrap()
    );
    assert_eq!(rig.issued().len(), 3);
}

#[test]
fn mod_cert_template_gets_an_ra_nothing_the_profile_forbids() {
    let (rig, ra) = rig();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let ask = |t: CertTemplate| {
        rig.env.clock.advance(1);
        rig.send(&ra, |b| {
            b.pkcs10(1, csr(&key, "CN=x.example.test", &[])).unwrap();
            b.control(CTL, &modify(0, &[1], true, t)).unwrap();
        })
    };
    // cA=TRUE and a name outside the profile's rules: the request fails.
    let reply = ask(CertTemplate {
        extensions: Some(vec![ca_true()]),
        ..CertTemplate::default()
    });
    // RFC 5272 §6.5.1: unsupportedExt for an extension the CA will not put in.
    assert_eq!(rig.refused(&reply), (CmcFailInfo::UnsupportedExt, vec![1]));
    let reply = ask(CertTemplate {
        extensions: Some(vec![san(&["www.example.org"])]),
        ..CertTemplate::default()
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![1]));
    // The key cannot be changed: the control is refused.
    let other = FileKey::generate(KeySpec::P256).unwrap();
    let reply = ask(CertTemplate {
        public_key: Some(other.public_key().clone()),
        ..CertTemplate::default()
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    // A reference to no request, or to no PKIData: the control is refused.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=x.example.test", &[])).unwrap();
        b.control(CTL, &modify(0, &[7], true, template_subject("CN=y")))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=x.example.test", &[])).unwrap();
        b.control(CTL, &modify(5, &[1], true, template_subject("CN=y")))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    // An end entity may not send it.
    let ee = rig.client("ee", "CN=ee", ClientRole::Client, None);
    rig.env.clock.advance(1);
    let reply = rig.send(&ee, |b| {
        b.pkcs10(1, csr(&key, "CN=ee", &[])).unwrap();
        b.control(CTL, &modify(0, &[1], true, template_subject("CN=root")))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    assert!(rig.issued().is_empty());
}

#[test]
fn possession_is_proven_on_the_crmf_request_as_signed() {
    let (rig, ra) = rig();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let signed =
        cmc_codec::build_crmf(&key, 1, template_subject("CN=signed.example.test")).unwrap();
    // The RA renames a CRMF request whose POPO signature covers the
    // original template: issued under the new name.
    let reply = rig.send(&ra, |b| {
        b.crmf(signed.clone()).unwrap();
        b.control(
            CTL,
            &modify(0, &[1], true, template_subject("CN=new.example.test")),
        )
        .unwrap();
    });
    assert_eq!(subject(&issued(&rig, &reply)), "CN=new.example.test");
    // A template changed after signing fails its POP, whatever the RA's
    // control says afterwards.
    let mut tampered = signed;
    tampered.cert_req.cert_template.subject =
        Some(Name::from_str("CN=other.example.test").unwrap());
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.crmf(tampered).unwrap();
        b.control(
            CTL,
            &modify(0, &[1], true, template_subject("CN=new.example.test")),
        )
        .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::PopFailed, vec![1]));
    assert_eq!(rig.issued().len(), 1);
}

#[test]
fn mod_cert_template_reaches_into_a_nested_request_after_its_pop() {
    let (rig, ra) = rig();
    // The end entity's PKCS #10 is signed over "CN=ee.example.test"; the
    // RA renames it. Possession is checked on what the end entity signed.
    let inner = end_entity(&rig, "CN=ee.example.test", |_| {});
    let reply = wrap(&rig, &ra, inner, |b| {
        b.control(
            CTL,
            &modify(
                NESTED,
                &[2],
                true,
                template_subject("CN=renamed.example.test"),
            ),
        )
        .unwrap();
    });
    let ((status, _), certs) = nested_outcome(&rig, &reply);
    assert_eq!(status, CmcStatus::Success);
    assert_eq!(subject(&certs[0]), "CN=renamed.example.test");

    // Request 3 is not in that PKIData: badRequest naming the control.
    rig.env.clock.advance(1);
    let inner = end_entity(&rig, "CN=ee.example.test", |_| {});
    let reply = wrap(&rig, &ra, inner, |b| {
        b.control(CTL, &modify(NESTED, &[3], true, template_subject("CN=z")))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    assert_eq!(rig.issued().len(), 1);
}

#[test]
fn add_extensions_adds_what_the_profile_allows_and_only_from_an_ra() {
    let (rig, ra) = rig();
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let add = |refs: &[BodyPartId], ext: Extension| AddExtensions {
        pki_data_reference: 0,
        cert_references: refs.to_vec(),
        extensions: vec![ext],
    };
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=a.example.test", &["a.example.test"]))
            .unwrap();
        b.control(CTL, &add(&[1], san(&["ra.example.test"])))
            .unwrap();
    });
    // The RA's subjectAltName replaces the requested one (the outer layer
    // wins, RFC 5272 §6.5.2).
    assert_eq!(dns_names(&issued(&rig, &reply)), ["ra.example.test"]);

    // cA=TRUE never passes.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=b.example.test", &[])).unwrap();
        b.control(CTL, &add(&[1], ca_true())).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::UnsupportedExt, vec![1]));
    // Two values of one extension for one request in one PKIData conflict.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=c.example.test", &[])).unwrap();
        b.control(CTL, &add(&[1], san(&["one.example.test"])))
            .unwrap();
        b.control(CTL + 1, &add(&[1], san(&["two.example.test"])))
            .unwrap();
    });
    assert_eq!(
        rig.refused(&reply),
        (CmcFailInfo::BadRequest, vec![CTL, CTL + 1])
    );
    // An unknown request, and an end entity sending it.
    rig.env.clock.advance(1);
    let reply = rig.send(&ra, |b| {
        b.pkcs10(1, csr(&key, "CN=d.example.test", &[])).unwrap();
        b.control(CTL, &add(&[9], san(&["d.example.test"])))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    let ee = rig.client("ee", "CN=ee", ClientRole::Client, None);
    rig.env.clock.advance(1);
    let reply = rig.send(&ee, |b| {
        b.pkcs10(1, csr(&key, "CN=ee", &[])).unwrap();
        b.control(CTL, &add(&[1], san(&["ee.example.test"])))
            .unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    assert_eq!(rig.issued().len(), 1);
}

/// A control this CA does not know (a local RA's own).
struct LocalControl(OctetString);

impl AssociatedOid for LocalControl {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.17.1");
}

impl Encode for LocalControl {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }
    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode(writer)
    }
}

fn processed(paths: &[&[BodyPartId]]) -> ControlsProcessed {
    ControlsProcessed {
        body_list: paths
            .iter()
            .map(|p| BodyPartReference::BodyPartPath(BodyPartPath(p.to_vec())))
            .collect(),
    }
}

#[test]
fn control_processed_lets_an_ra_handle_a_nested_control() {
    let (rig, ra) = rig();
    let local = |b: &mut RequestBuilder| {
        b.control(5, &LocalControl(OctetString::new(*b"local").unwrap()))
            .unwrap();
    };
    // Without controlProcessed the nested request's unknown control fails it.
    let reply = wrap(
        &rig,
        &ra,
        end_entity(&rig, "CN=a.example.test", local),
        |_| {},
    );
    let ((status, fail), _) = nested_outcome(&rig, &reply);
    assert_eq!(
        (status, fail),
        (CmcStatus::Failed, Some(CmcFailInfo::BadRequest))
    );
    // The RA says it handled it: the CA does not process it again.
    rig.env.clock.advance(1);
    let reply = wrap(
        &rig,
        &ra,
        end_entity(&rig, "CN=a.example.test", local),
        |b| {
            b.control(CTL, &processed(&[&[NESTED, 5]])).unwrap();
        },
    );
    let ((status, _), certs) = nested_outcome(&rig, &reply);
    assert_eq!(status, CmcStatus::Success);
    assert_eq!(subject(&certs[0]), "CN=a.example.test");

    // A path to no control, a bare id, and a client sending it: refused.
    for list in [
        processed(&[&[NESTED, 6]]),
        ControlsProcessed {
            body_list: vec![BodyPartReference::BodyPartId(5)],
        },
    ] {
        rig.env.clock.advance(1);
        let reply = wrap(
            &rig,
            &ra,
            end_entity(&rig, "CN=b.example.test", local),
            |b| {
                b.control(CTL, &list).unwrap();
            },
        );
        assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    }
    let ee = rig.client("ee", "CN=ee", ClientRole::Client, None);
    rig.env.clock.advance(1);
    let reply = wrap(
        &rig,
        &ee,
        end_entity(&rig, "CN=c.example.test", local),
        |b| {
            b.control(CTL, &processed(&[&[NESTED, 5]])).unwrap();
        },
    );
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    assert_eq!(rig.issued().len(), 1);
}

#[test]
fn ra_identity_witness_takes_a_nested_identity_proof_from_an_ra_only() {
    let (rig, ra) = rig();
    // An end entity's request with the identity proof of a secret the RA
    // holds (the CA never sees it): identification (3), identityProof (4).
    let proven = |rig: &Rig| {
        end_entity(rig, "CN=ee.example.test", |b| {
            b.control(3, &Identification("ee-17".into())).unwrap();
            b.control(4, &IdentityProof(OctetString::new([0x42; 20]).unwrap()))
                .unwrap();
        })
    };
    // Without the RA's witness the nested identity proof is refused.
    let reply = wrap(&rig, &ra, proven(&rig), |_| {});
    let ((status, fail), _) = nested_outcome(&rig, &reply);
    assert_eq!(
        (status, fail),
        (CmcStatus::Failed, Some(CmcFailInfo::BadRequest))
    );
    // controlProcessed alone does not say an identity proof was checked.
    rig.env.clock.advance(1);
    let reply = wrap(&rig, &ra, proven(&rig), |b| {
        b.control(CTL, &processed(&[&[NESTED, 4]])).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    // The RA witnesses the identity proof (and says so with
    // controlProcessed, as RFC 6402 recommends): issued.
    rig.env.clock.advance(1);
    let reply = wrap(&rig, &ra, proven(&rig), |b| {
        b.control(CTL, &RaIdentityWitness(vec![NESTED, 4])).unwrap();
        b.control(CTL + 1, &processed(&[&[NESTED, 3], &[NESTED, 4]]))
            .unwrap();
    });
    let ((status, _), certs) = nested_outcome(&rig, &reply);
    assert_eq!(status, CmcStatus::Success);
    assert_eq!(subject(&certs[0]), "CN=ee.example.test");
    // A witness of the whole nested request (an out-of-band proof).
    rig.env.clock.advance(1);
    let reply = wrap(&rig, &ra, proven(&rig), |b| {
        b.control(CTL, &RaIdentityWitness(vec![NESTED])).unwrap();
    });
    assert_eq!(nested_outcome(&rig, &reply).0.0, CmcStatus::Success);

    // A witness naming a control that is no identity proof, or nothing.
    for path in [vec![NESTED, 1], vec![NESTED + 1], vec![NESTED, 4, 1]] {
        rig.env.clock.advance(1);
        let reply = wrap(&rig, &ra, proven(&rig), |b| {
            b.control(CTL, &RaIdentityWitness(path)).unwrap();
        });
        assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    }
    // A principal that is not an RA may not witness.
    let agent = rig.client("agent", "CN=agent", ClientRole::Agent, None);
    rig.env.clock.advance(1);
    let reply = wrap(&rig, &agent, proven(&rig), |b| {
        b.control(CTL, &RaIdentityWitness(vec![NESTED, 4])).unwrap();
    });
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![CTL]));
    assert_eq!(rig.issued().len(), 2);
}

/// A PKCS #10 request by `key` for `subject` asking to be renamed.
fn rename_csr(key: &FileKey, subject: &str, to: ChangeSubjectName) -> x509_cert::request::CertReq {
    let attr = Attribute {
        oid: oid::ID_CMC_CHANGE_SUBJECT_NAME,
        values: der::asn1::SetOfVec::try_from(vec![Any::encode_from(&to).unwrap()]).unwrap(),
    };
    build_csr_with_attributes(
        key,
        Name::from_str(subject).unwrap(),
        Vec::new(),
        vec![attr],
    )
    .unwrap()
}

fn rename_to(subject: &str) -> ChangeSubjectName {
    ChangeSubjectName {
        subject: Some(Name::from_str(subject).unwrap()),
        subject_alt: None,
    }
}

#[test]
fn change_subject_name_renames_within_the_signer_names_only() {
    let rig = Rig::new();
    let eve = rig.client(
        "eve",
        "CN=eve",
        ClientRole::Client,
        Some(names(Some("CN=eve"), &["eve.example.test"])),
    );
    let frank = rig.client("frank", "CN=frank", ClientRole::Client, None);
    let key = FileKey::generate(KeySpec::P256).unwrap();
    let ask = |who: &Party, subject: &str, to: ChangeSubjectName| {
        rig.env.clock.advance(1);
        rig.send(who, |b| {
            b.pkcs10(2, rename_csr(&key, subject, to)).unwrap();
        })
    };
    // Frank, bound by the profile's rules only, renames himself.
    let cert = issued(&rig, &ask(&frank, "CN=frank", rename_to("CN=frank smith")));
    assert_eq!(subject(&cert), "CN=frank smith");
    // The attack: frank asks for eve's name (a registered client's
    // subject), eve for a name outside hers. Refused, nothing issued.
    let reply = ask(&frank, "CN=frank", rename_to("CN=eve"));
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    let reply = ask(&eve, "CN=eve", rename_to("CN=admin"));
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    // The request must name the signer's own subject (RFC 6402).
    let reply = ask(&frank, "CN=someone", rename_to("CN=frank"));
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    // A rename of the subjectAltNames only: eve keeps her subject... and
    // an empty one when the subject is absent, which her names refuse.
    let reply = ask(
        &eve,
        "CN=eve",
        ChangeSubjectName {
            subject: None,
            subject_alt: Some(vec![GeneralName::DnsName(
                Ia5String::new("eve.example.test").unwrap(),
            )]),
        },
    );
    assert_eq!(rig.refused(&reply), (CmcFailInfo::BadRequest, vec![2]));
    let cert = issued(
        &rig,
        &ask(
            &eve,
            "CN=eve",
            ChangeSubjectName {
                subject: Some(Name::from_str("CN=eve").unwrap()),
                subject_alt: Some(vec![GeneralName::DnsName(
                    Ia5String::new("eve.example.test").unwrap(),
                )]),
            },
        ),
    );
    assert_eq!(dns_names(&cert), ["eve.example.test"]);
    assert_eq!(rig.issued().len(), 2);
}
