//! What `show` prints of the controls an RA adds to the requests it
//! forwards (RFC 5272 §6.5 modCertTemplate and addExtensions, §6.19
//! controlProcessed, RFC 6402 raIdentityWitness), of publicationInfo (§6.18)
//! and of a request's changeSubjectName attribute (RFC 6402): one readable
//! line each.

use cmc_asn1::{
    AddExtensions, BodyPartId, BodyPartReference, CertTemplate, ChangeSubjectName,
    CmcPublicationInfo, ControlsProcessed, ModCertTemplate, PublicationAction, RaIdentityWitness,
    TaggedAttribute, TaggedRequest, oid,
};
use der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;

use crate::inspect::oid_name;

/// The value of an RA control, described; `None` for another control.
pub(super) fn describe(control: &TaggedAttribute) -> Option<String> {
    let value = control.attr_values.iter().next()?.to_der().ok()?;
    let text = match control.attr_type {
        t if t == oid::ID_CMC_MOD_CERT_TEMPLATE => match ModCertTemplate::from_der(&value) {
            Ok(m) => format!(
                "{} requests [{}] of {}: {}",
                if m.replace {
                    "replace in"
                } else {
                    "remove from"
                },
                ids(&m.cert_references),
                path(&m.pki_data_reference),
                template(&m.cert_template)
            ),
            Err(e) => format!("does not decode: {e}"),
        },
        t if t == oid::ID_CMC_ADD_EXTENSIONS => match AddExtensions::from_der(&value) {
            Ok(a) => format!(
                "add to requests [{}] of {}: {}",
                ids(&a.cert_references),
                layer(a.pki_data_reference),
                extensions(&a.extensions)
            ),
            Err(e) => format!("does not decode: {e}"),
        },
        t if t == oid::ID_CMC_CONTROL_PROCESSED => match ControlsProcessed::from_der(&value) {
            Ok(p) => format!(
                "handled by the RA: {}",
                p.body_list
                    .iter()
                    .map(|r| match r {
                        BodyPartReference::BodyPartId(id) => id.to_string(),
                        BodyPartReference::BodyPartPath(p) => slashed(p),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => format!("does not decode: {e}"),
        },
        t if t == oid::ID_CMC_RA_IDENTITY_WITNESS => match RaIdentityWitness::from_der(&value) {
            Ok(w) => format!("identity proof checked by the RA: {}", slashed(&w)),
            Err(e) => format!("does not decode: {e}"),
        },
        t if t == oid::ID_CMC_PUBLISH_CERT => match CmcPublicationInfo::from_der(&value) {
            Ok(p) => format!(
                "{} {} certificate(s) named by {} hash{}",
                match p.pub_info.action {
                    PublicationAction::DontPublish => "withdraw from publication",
                    PublicationAction::PleasePublish => "publish",
                },
                p.cert_hashes.len(),
                oid_name(&p.hash_alg.oid),
                match &p.pub_info.pub_infos {
                    Some(infos) => format!(
                        ", by {}",
                        infos
                            .iter()
                            .map(|i| format!("{:?}", i.pub_method).to_lowercase())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => String::new(),
                }
            ),
            Err(e) => format!("does not decode: {e}"),
        },
        _ => return None,
    };
    Some(text)
}

/// The changeSubjectName of a request (PKCS #10 attribute or CRMF
/// control), described.
pub(super) fn change_subject_name(request: &TaggedRequest) -> Option<String> {
    let value = match request {
        TaggedRequest::Tcr(tcr) => tcr
            .certification_request
            .info
            .attributes
            .iter()
            .find(|a| a.oid == oid::ID_CMC_CHANGE_SUBJECT_NAME)?
            .values
            .iter()
            .next()?
            .to_der(),
        TaggedRequest::Crm(crm) => crm
            .cert_req
            .controls
            .iter()
            .flatten()
            .find(|a| a.oid == oid::ID_CMC_CHANGE_SUBJECT_NAME)?
            .value
            .to_der(),
        TaggedRequest::Orm(_) => return None,
    }
    .ok()?;
    Some(match ChangeSubjectName::from_der(&value) {
        Ok(c) => format!(
            "subject {}, subjectAltNames {}",
            c.subject
                .map_or_else(|| "(empty)".into(), |s| s.to_string()),
            c.subject_alt
                .map_or_else(|| "(removed)".into(), |n| general_names(&n))
        ),
        Err(e) => format!("does not decode: {e}"),
    })
}

fn ids(list: &[BodyPartId]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn slashed(path: &[BodyPartId]) -> String {
    path.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

fn layer(id: BodyPartId) -> String {
    if id == 0 {
        "this PKIData".into()
    } else {
        format!("nested PKIData {id}")
    }
}

fn path(p: &[BodyPartId]) -> String {
    match p {
        [id] => layer(*id),
        _ => format!("PKIData {}", slashed(p)),
    }
}

fn extensions(list: &[Extension]) -> String {
    list.iter()
        .map(|e| {
            format!(
                "{}{}",
                oid_name(&e.extn_id),
                if e.critical { " (critical)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn general_names(names: &[GeneralName]) -> String {
    names
        .iter()
        .map(|n| match n {
            GeneralName::DnsName(d) => format!("dNSName {d}"),
            GeneralName::Rfc822Name(m) => format!("rfc822Name {m}"),
            GeneralName::UniformResourceIdentifier(u) => format!("URI {u}"),
            GeneralName::DirectoryName(d) => format!("directoryName {d}"),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields a template sets.
fn template(t: &CertTemplate) -> String {
    let mut fields = Vec::new();
    if let Some(s) = &t.subject {
        fields.push(format!("subject {s}"));
    }
    if let Some(v) = &t.validity {
        let at = |t: &Option<x509_cert::time::Time>| {
            t.as_ref()
                .map_or_else(|| "-".into(), |t| t.to_date_time().to_string())
        };
        fields.push(format!(
            "validity {} .. {}",
            at(&v.not_before),
            at(&v.not_after)
        ));
    }
    if let Some(e) = &t.extensions {
        fields.push(format!("extensions {}", extensions(e)));
    }
    for (present, name) in [
        (t.version.is_some(), "version"),
        (t.serial_number.is_some(), "serialNumber"),
        (t.signing_alg.is_some(), "signingAlg"),
        (t.issuer.is_some(), "issuer"),
        (t.public_key.is_some(), "publicKey"),
        (t.issuer_uid.is_some(), "issuerUID"),
        (t.subject_uid.is_some(), "subjectUID"),
    ] {
        if present {
            fields.push(name.to_owned());
        }
    }
    if fields.is_empty() {
        "no fields".into()
    } else {
        fields.join("; ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use cmc_asn1::{BodyPartList, BodyPartPath};
    use x509_cert::name::Name;

    use super::*;

    #[test]
    fn ra_controls_read_as_what_they_do() {
        let m = ModCertTemplate {
            pki_data_reference: BodyPartPath(vec![10]),
            cert_references: BodyPartList(vec![2, 3]),
            replace: true,
            cert_template: CertTemplate {
                subject: Some(Name::from_str("CN=renamed").unwrap()),
                ..CertTemplate::default()
            },
        };
        let attr = TaggedAttribute::from_value(20, &m).unwrap();
        assert_eq!(
            describe(&attr).unwrap(),
            "replace in requests [2, 3] of nested PKIData 10: subject CN=renamed"
        );
        let p = ControlsProcessed {
            body_list: vec![BodyPartReference::BodyPartPath(BodyPartPath(vec![10, 4]))],
        };
        let attr = TaggedAttribute::from_value(21, &p).unwrap();
        assert_eq!(describe(&attr).unwrap(), "handled by the RA: 10/4");
        let p = CmcPublicationInfo {
            hash_alg: spki::AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::ID_SHA_256,
                parameters: None,
            },
            cert_hashes: vec![der::asn1::OctetString::new([1u8; 32]).unwrap()],
            pub_info: cmc_asn1::PkiPublicationInfo {
                action: PublicationAction::DontPublish,
                pub_infos: None,
            },
        };
        let attr = TaggedAttribute::from_value(23, &p).unwrap();
        let text = describe(&attr).unwrap();
        assert!(
            text.starts_with("withdraw from publication 1 certificate(s) named by "),
            "{text}"
        );
        let w = RaIdentityWitness(vec![10, 4]);
        let attr = TaggedAttribute::from_value(22, &w).unwrap();
        assert_eq!(
            describe(&attr).unwrap(),
            "identity proof checked by the RA: 10/4"
        );
        let a = AddExtensions {
            pki_data_reference: 0,
            cert_references: vec![1],
            extensions: Vec::new(),
        };
        let attr = TaggedAttribute::from_value(23, &a).unwrap();
        assert_eq!(
            describe(&attr).unwrap(),
            "add to requests [1] of this PKIData: "
        );
        let other = TaggedAttribute::from_value(
            24,
            &cmc_asn1::RegInfo(der::asn1::OctetString::new(*b"x").unwrap()),
        )
        .unwrap();
        assert_eq!(describe(&other), None);
    }
}
