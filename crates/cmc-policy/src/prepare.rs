//! Apply a profile to a request and build the TBS certificate.

use std::collections::BTreeSet;
use std::time::SystemTime;

use cmc_asn1::ocsp::OcspNoCheck;
use const_oid::AssociatedOid;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_AD_CA_ISSUERS, ID_AD_OCSP, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS,
    ID_CE_CERTIFICATE_POLICIES, ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE,
    ID_CE_FRESHEST_CRL, ID_CE_INHIBIT_ANY_POLICY, ID_CE_KEY_USAGE, ID_CE_NAME_CONSTRAINTS,
    ID_CE_POLICY_CONSTRAINTS, ID_CE_POLICY_MAPPINGS, ID_CE_SUBJECT_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::asn1::{AnyRef, BitString, Ia5String, Int, OctetString, PrintableString, Utf8StringRef};
use der::flagset::FlagSet;
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::TbsCertificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::Error;
use crate::decision::{Decision, DropReason, Dropped, ExtensionSummary, Refusal};
use crate::internal::CertificateKind;
use crate::issuer::IssuerInfo;
use crate::keys::KeyKind;
use crate::lint::lint_tbs;
use crate::names::{self, AttrSyntax, KeyUsageBit, NameType};
use crate::profile::{OnRefusedExtension, Profile, check_attribute_text};
use crate::request::Request;
use crate::serial::Serial;
use crate::tbs::{RawCertificate, RawTbs, RawValidity};
use crate::validity::{compute_validity, rfc3339, time_for};

/// A linted TBS certificate waiting for its signature, with the decision that
/// shaped it. It is consumed by [`Prepared::assemble`], so one preparation is
/// signed at most once (it is deliberately not `Clone`).
#[derive(Debug)]
pub struct Prepared {
    tbs_der: Vec<u8>,
    tbs: TbsCertificate,
    subject_alt_names: Vec<GeneralName>,
    decision: Decision,
}

impl Prepared {
    /// The DER of the TBS certificate: exactly the bytes to sign.
    #[must_use]
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// The TBS certificate.
    #[must_use]
    pub fn tbs(&self) -> &TbsCertificate {
        &self.tbs
    }

    /// The subject the certificate will carry.
    #[must_use]
    pub fn subject(&self) -> &Name {
        self.tbs.subject()
    }

    /// The subjectAltNames the certificate will carry, in certificate order
    /// (empty when it has no subjectAltName extension).
    #[must_use]
    pub fn subject_alt_names(&self) -> &[GeneralName] {
        &self.subject_alt_names
    }

    /// What the profile decided.
    #[must_use]
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The serial number, as content octets of the INTEGER.
    #[must_use]
    pub fn serial(&self) -> &[u8] {
        self.tbs.serial_number().as_bytes()
    }

    /// Put the signature over [`Self::tbs_der`] into a certificate
    /// (signatureAlgorithm = the TBS `signature` field), and check the result
    /// with [`Self::verify_signed_tbs`]. The signature itself is not verified
    /// here: this crate never touches keys.
    ///
    /// # Errors
    /// [`Error::Der`] if encoding fails, [`Error::TbsMismatch`] if the
    /// certificate would not carry the linted TBS (cannot happen unless
    /// x509-cert re-encodes differently).
    pub fn assemble(self, signature: &[u8]) -> Result<Certificate, Error> {
        let raw = RawCertificate {
            tbs_certificate: RawTbs::decode_der(&self.tbs_der)?,
            signature_algorithm: self.tbs.signature().clone(),
            signature: BitString::from_bytes(signature)?,
        };
        let der = raw.to_der()?;
        self.verify_signed_der(&der)?;
        let cert = Certificate::from_der(&der)?;
        self.verify_signed_tbs(&cert)?;
        Ok(cert)
    }

    /// Check that a signed certificate carries, byte for byte, the TBS that
    /// was prepared and linted, and that its signatureAlgorithm equals the TBS
    /// `signature` field (RFC 5280 §4.1.1.2).
    ///
    /// # Errors
    /// [`Error::TbsMismatch`] if not, [`Error::Der`] if the certificate does
    /// not encode.
    pub fn verify_signed_tbs(&self, cert: &Certificate) -> Result<(), Error> {
        if cert.tbs_certificate().to_der()? != self.tbs_der
            || cert.signature_algorithm() != self.tbs.signature()
        {
            return Err(Error::TbsMismatch);
        }
        Ok(())
    }

    /// [`Self::verify_signed_tbs`] on the certificate's DER as received from
    /// wherever it was signed, comparing the TBS bytes as they are.
    ///
    /// # Errors
    /// [`Error::TbsMismatch`] if the TBS or the algorithm differ,
    /// [`Error::Der`] if `cert_der` is not a certificate.
    pub fn verify_signed_der(&self, cert_der: &[u8]) -> Result<(), Error> {
        #[derive(Sequence)]
        struct Parts<'a> {
            tbs: AnyRef<'a>,
            algorithm: spki::AlgorithmIdentifierOwned,
            signature: BitString,
        }
        let parts = Parts::from_der(cert_der)?;
        if parts.tbs.to_der()? != self.tbs_der || &parts.algorithm != self.tbs.signature() {
            return Err(Error::TbsMismatch);
        }
        let _ = parts.signature;
        Ok(())
    }
}

/// Apply `profile` to `request` and build the TBS certificate (v3) that
/// `issuer` will sign, with serial number `serial` (reserved by the caller's
/// store) at time `now` (the caller's clock).
///
/// The certificate gets: the filtered subject (an internal profile's, see
/// [`CertificateKind`], takes it as given); basicConstraints CA:FALSE
/// (critical) if the profile says so, or cA=TRUE with its path length for a
/// CA profile; the profile's keyUsage (critical, the
/// bits that fit the key type), extKeyUsage and certificatePolicies; the
/// subjectAltNames that pass the profile (critical when the subject is
/// empty); subjectKeyIdentifier by the profile's method; the issuer's key
/// identifier as authorityKeyIdentifier; id-pkix-ocsp-nocheck for an OCSP
/// responder profile; cRLDistributionPoints and authorityInfoAccess from
/// [`IssuerInfo`] unless the profile carries none. Nothing is copied from the request
/// unchecked. Times before 2050 are UTCTime, from 2050 GeneralizedTime. The
/// subject and subjectAltNames that pass must satisfy the profile's name
/// rules ([`NameRules`](crate::NameRules)). The result is linted with
/// [`lint_tbs`] before it is returned.
///
/// # Errors
/// [`Error::Refused`] with every reason when the profile refuses the request
/// (a name outside the name rules is a [`Refusal::Name`]);
/// [`Error::Lint`] if the TBS fails the pre-issuance lint; [`Error::Der`] if
/// encoding fails.
pub fn prepare(
    request: &Request,
    profile: &Profile,
    issuer: &IssuerInfo,
    serial: &Serial,
    now: SystemTime,
) -> Result<Prepared, Error> {
    let mut refusals = Vec::new();
    let mut dropped = Vec::new();

    let key = KeyKind::of(&request.public_key);
    if !profile.allows_key(&key) {
        refusals.push(Refusal::KeyNotAllowed {
            key: key.to_string(),
        });
    }

    let subject = build_subject(&request.subject, profile, &mut dropped)?;
    if profile.require_cn && !subject.iter().any(|a| a.oid == names::ID_AT_COMMON_NAME) {
        refusals.push(Refusal::MissingCommonName);
    }

    let requested: Vec<ExtensionSummary> = request.extensions.iter().map(summary).collect();
    let sans = filter_extensions(&request.extensions, profile, &mut dropped);
    if profile.san_required && sans.is_empty() {
        refusals.push(Refusal::MissingSubjectAltName);
    }
    if subject.is_empty() && sans.is_empty() {
        refusals.push(Refusal::NoSubjectIdentity);
    }
    // The profile's name rules, on what the certificate would carry.
    refusals.extend(
        profile
            .name_rules
            .check(&subject, &sans)
            .into_iter()
            .map(Refusal::Name),
    );

    let validity = compute_validity(request, profile, issuer, now, &mut refusals);

    if profile.on_refused_extension == OnRefusedExtension::Refuse {
        refusals.extend(
            dropped
                .iter()
                .filter(|d| d.reason.is_refusal())
                .cloned()
                .map(Refusal::Item),
        );
    }
    let Some((not_before, not_after, adjustments)) = validity.filter(|_| refusals.is_empty())
    else {
        return Err(Error::Refused {
            profile: profile.name.clone(),
            reasons: refusals,
        });
    };

    let key_usage = profile.key_usage_for(&key);
    let extensions = build_extensions(profile, issuer, request, &subject, &key_usage, &sans)?;
    let raw = RawTbs {
        version: Some(Version::V3),
        serial_number: Int::new(serial.as_bytes())?,
        signature: issuer.signature_algorithm.clone(),
        issuer: issuer.subject.clone(),
        validity: RawValidity {
            not_before: time_for(not_before)?,
            not_after: time_for(not_after)?,
        },
        subject: subject.clone(),
        subject_public_key_info: request.public_key.clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: (!extensions.is_empty()).then_some(extensions),
    };
    let tbs_der = raw.encode_der()?;
    lint_tbs(&tbs_der, profile, issuer)?;
    let tbs = TbsCertificate::from_der(&tbs_der)?;

    let decision = Decision {
        profile: profile.name.clone(),
        key: key.to_string(),
        requested_subject: crate::name_text(&request.subject),
        subject: crate::name_text(&subject),
        requested,
        granted: tbs
            .extensions()
            .map(|e| e.iter().map(summary).collect())
            .unwrap_or_default(),
        dropped,
        subject_alt_names: sans.iter().map(names::general_name_text).collect(),
        key_usage,
        extended_key_usage: profile
            .extended_key_usage
            .iter()
            .map(names::eku_name)
            .collect(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        validity_adjustments: adjustments,
    };
    Ok(Prepared {
        tbs_der,
        tbs,
        subject_alt_names: sans,
        decision,
    })
}

fn summary(e: &Extension) -> ExtensionSummary {
    ExtensionSummary {
        oid: e.extn_id.to_string(),
        name: names::extension_name(&e.extn_id),
        critical: e.critical,
    }
}

fn drop_item(dropped: &mut Vec<Dropped>, item: String, oid: &ObjectIdentifier, reason: DropReason) {
    dropped.push(Dropped {
        item,
        oid: Some(oid.to_string()),
        reason,
    });
}

// ---------------------------------------------------------------------------
// Subject

fn syntax_allows(syntax: AttrSyntax, tag: Tag) -> bool {
    match syntax {
        AttrSyntax::Directory => matches!(tag, Tag::Utf8String | Tag::PrintableString),
        AttrSyntax::Printable => tag == Tag::PrintableString,
        AttrSyntax::Ia5 => tag == Tag::Ia5String,
    }
}

fn encode_attribute(syntax: AttrSyntax, value: &str) -> Result<Any, Error> {
    Ok(match syntax {
        AttrSyntax::Directory => Any::encode_from(&Utf8StringRef::new(value)?)?,
        AttrSyntax::Printable => Any::encode_from(&PrintableString::new(value)?)?,
        AttrSyntax::Ia5 => Any::encode_from(&Ia5String::new(value)?)?,
    })
}

fn build_subject(
    requested: &Name,
    profile: &Profile,
    dropped: &mut Vec<Dropped>,
) -> Result<Name, Error> {
    if profile.kind.is_internal() {
        // The engine's own certificates carry the subject the engine (its
        // administrator) wrote, as written: a CA's name is chained on byte
        // for byte, and nobody else reaches these profiles.
        return Ok(requested.clone());
    }
    let mut kept: Vec<AttributeTypeAndValue> = Vec::new();
    for atv in requested.iter() {
        let label = format!(
            "subject {}={}",
            names::attribute_name(&atv.oid),
            names::attribute_text(&atv.value).unwrap_or_else(|| String::from("(binary)"))
        );
        if profile.subject_fixed.iter().any(|f| f.oid == atv.oid) {
            drop_item(dropped, label, &atv.oid, DropReason::ReplacedByProfile);
            continue;
        }
        let Some(a) =
            names::attr_by_oid(&atv.oid).filter(|a| profile.subject_from_request.contains(&a.oid))
        else {
            drop_item(dropped, label, &atv.oid, DropReason::AttributeNotAllowed);
            continue;
        };
        let valid = syntax_allows(a.syntax, atv.value.tag())
            && names::attribute_text(&atv.value)
                .is_some_and(|t| check_attribute_text(a, &t).is_ok());
        if !valid {
            drop_item(dropped, label, &atv.oid, DropReason::InvalidAttribute);
            continue;
        }
        if kept.contains(atv) {
            continue;
        }
        kept.push(atv.clone());
    }
    for fixed in &profile.subject_fixed {
        // Fixed attributes were checked against the table when the profile
        // was read, so the lookup finds them.
        let syntax = names::attr_by_oid(&fixed.oid).map_or(AttrSyntax::Directory, |a| a.syntax);
        kept.push(AttributeTypeAndValue {
            oid: fixed.oid,
            value: encode_attribute(syntax, &fixed.value)?,
        });
    }
    kept.sort_by_key(|a| names::attribute_rank(&a.oid));
    let mut rdns = RdnSequence::default();
    for atv in kept {
        let mut rdn = RelativeDistinguishedName::default();
        rdn.insert(atv)?;
        rdns.push(rdn);
    }
    Ok(Name::from_der(&rdns.to_der()?)?)
}

// ---------------------------------------------------------------------------
// Extensions

/// Sort the requested extensions into dropped items, and return the
/// subjectAltNames that pass.
fn filter_extensions(
    extensions: &[Extension],
    profile: &Profile,
    dropped: &mut Vec<Dropped>,
) -> Vec<GeneralName> {
    let mut seen = BTreeSet::new();
    let mut sans: Vec<GeneralName> = Vec::new();
    for ext in extensions {
        let oid = ext.extn_id;
        let name = names::extension_name(&oid);
        if !seen.insert(oid) {
            drop_item(dropped, name, &oid, DropReason::Duplicate);
            continue;
        }
        let value = ext.extn_value.as_bytes();
        let reason = match oid {
            o if [
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                ID_CE_CRL_DISTRIBUTION_POINTS,
                ID_CE_FRESHEST_CRL,
                ID_PE_AUTHORITY_INFO_ACCESS,
            ]
            .contains(&o) =>
            {
                DropReason::SetByCa
            }
            ID_CE_BASIC_CONSTRAINTS => match BasicConstraints::from_der(value) {
                Ok(bc) if bc.ca => {
                    drop_item(
                        dropped,
                        "basicConstraints cA=TRUE".into(),
                        &oid,
                        DropReason::CaBasicConstraints,
                    );
                    continue;
                }
                Ok(_) => DropReason::SetByProfile,
                Err(_) => DropReason::Malformed,
            },
            ID_CE_KEY_USAGE => match KeyUsage::from_der(value) {
                Ok(ku) => {
                    for bit in KeyUsageBit::from_flags(ku.0) {
                        if matches!(bit, KeyUsageBit::KeyCertSign | KeyUsageBit::CrlSign) {
                            drop_item(
                                dropped,
                                format!("keyUsage {bit}"),
                                &oid,
                                DropReason::CaKeyUsage,
                            );
                        }
                    }
                    DropReason::SetByProfile
                }
                Err(_) => DropReason::Malformed,
            },
            ID_CE_EXT_KEY_USAGE | ID_CE_CERTIFICATE_POLICIES => DropReason::SetByProfile,
            o if [
                ID_CE_NAME_CONSTRAINTS,
                ID_CE_POLICY_CONSTRAINTS,
                ID_CE_POLICY_MAPPINGS,
                ID_CE_INHIBIT_ANY_POLICY,
            ]
            .contains(&o) =>
            {
                DropReason::CaOnlyExtension
            }
            ID_CE_SUBJECT_ALT_NAME => match SubjectAltName::from_der(value) {
                Ok(san) => {
                    for gn in san.0 {
                        let label = format!("subjectAltName {}", names::general_name_text(&gn));
                        if !profile.san_allowed.contains(&NameType::of(&gn)) {
                            drop_item(dropped, label, &oid, DropReason::NameTypeNotAllowed);
                        } else if !general_name_ok(&gn) {
                            drop_item(dropped, label, &oid, DropReason::InvalidName);
                        } else if !sans.contains(&gn) {
                            sans.push(gn);
                        }
                    }
                    continue;
                }
                Err(_) => DropReason::Malformed,
            },
            _ if ext.critical => DropReason::UnknownCritical,
            _ => DropReason::NotInProfile,
        };
        drop_item(dropped, name, &oid, reason);
    }
    sans
}

/// A host name: LDH labels of 1 to 63 characters, not starting or ending with
/// a hyphen, at most 253 characters; `*` is allowed as the whole first label.
pub(crate) fn dns_name_ok(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').enumerate().all(|(i, label)| {
        (i == 0 && label == "*" && name.len() > 2)
            || (!label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    })
}

fn general_name_ok(gn: &GeneralName) -> bool {
    match gn {
        GeneralName::DnsName(s) => dns_name_ok(s.as_str()),
        GeneralName::Rfc822Name(s) => s.as_str().rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.bytes().all(|b| b.is_ascii_graphic() && b != b'@')
                && dns_name_ok(domain)
                && !domain.starts_with('*')
        }),
        GeneralName::IpAddress(o) => matches!(o.as_bytes().len(), 4 | 16),
        GeneralName::UniformResourceIdentifier(s) => {
            let s = s.as_str();
            s.split_once(':').is_some_and(|(scheme, rest)| {
                !rest.is_empty()
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            }) && s.bytes().all(|b| b.is_ascii_graphic())
        }
        GeneralName::DirectoryName(n) => !n.is_empty(),
        GeneralName::OtherName(_) | GeneralName::EdiPartyName(_) | GeneralName::RegisteredId(_) => {
            true
        }
    }
}

fn extension<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(url: &str) -> Result<GeneralName, Error> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

fn build_extensions(
    profile: &Profile,
    issuer: &IssuerInfo,
    request: &Request,
    subject: &Name,
    key_usage: &[KeyUsageBit],
    sans: &[GeneralName],
) -> Result<Vec<Extension>, Error> {
    let mut out = Vec::new();
    if let CertificateKind::Ca { path_len } = profile.kind {
        // RFC 5280 §4.2.1.9: critical in every CA certificate.
        let bc = BasicConstraints {
            ca: true,
            path_len_constraint: path_len,
        };
        out.push(extension(ID_CE_BASIC_CONSTRAINTS, true, &bc)?);
    } else if profile.basic_constraints {
        let bc = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        out.push(extension(ID_CE_BASIC_CONSTRAINTS, true, &bc)?);
    }
    if !key_usage.is_empty() {
        let flags = key_usage
            .iter()
            .fold(FlagSet::<KeyUsages>::default(), |acc, b| acc | b.flag());
        out.push(extension(ID_CE_KEY_USAGE, true, &KeyUsage(flags))?);
    }
    if !profile.extended_key_usage.is_empty() {
        let eku = ExtendedKeyUsage(profile.extended_key_usage.clone());
        out.push(extension(ID_CE_EXT_KEY_USAGE, false, &eku)?);
    }
    if !sans.is_empty() {
        let san = SubjectAltName(sans.to_vec());
        out.push(extension(ID_CE_SUBJECT_ALT_NAME, subject.is_empty(), &san)?);
    }
    if !profile.certificate_policies.is_empty() {
        let policies = CertificatePolicies(
            profile
                .certificate_policies
                .iter()
                .map(|oid| PolicyInformation {
                    policy_identifier: *oid,
                    policy_qualifiers: None,
                })
                .collect(),
        );
        out.push(extension(ID_CE_CERTIFICATE_POLICIES, false, &policies)?);
    }
    if profile.kind == CertificateKind::OcspResponder {
        // RFC 6960 §4.2.2.2.1: clients need not check the responder
        // certificate's own status (it is short-lived and renewed).
        out.push(extension(OcspNoCheck::OID, false, &OcspNoCheck::default())?);
    }
    let ski = profile
        .ski_method
        .key_identifier(request.public_key.subject_public_key.raw_bytes());
    out.push(extension(
        ID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(OctetString::new(ski)?),
    )?);
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_identifier.clone())?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    out.push(extension(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)?);
    if !profile.issuer_urls {
        return Ok(out);
    }
    if !issuer.crl_urls.is_empty() {
        let points = issuer
            .crl_urls
            .iter()
            .map(|u| {
                Ok(DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![uri(u)?])),
                    reasons: None,
                    crl_issuer: None,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        out.push(extension(
            ID_CE_CRL_DISTRIBUTION_POINTS,
            false,
            &CrlDistributionPoints(points),
        )?);
    }
    let mut access = Vec::new();
    for u in &issuer.ocsp_urls {
        access.push(AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: uri(u)?,
        });
    }
    for u in &issuer.ca_issuers_urls {
        access.push(AccessDescription {
            access_method: ID_AD_CA_ISSUERS,
            access_location: uri(u)?,
        });
    }
    if !access.is_empty() {
        out.push(extension(
            ID_PE_AUTHORITY_INFO_ACCESS,
            false,
            &AuthorityInfoAccessSyntax(access),
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        for ok in [
            "example.com",
            "a.b-c.example",
            "*.example.com",
            "localhost",
            "xn--bcher-kva.example",
        ] {
            assert!(dns_name_ok(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "example..com",
            "-a.example",
            "a-.example",
            "ex ample.com",
            "a.*.example",
            "*",
            "example.com.",
            "ex_ample.com",
        ] {
            assert!(!dns_name_ok(bad), "{bad}");
        }
        assert!(!dns_name_ok(&"a".repeat(64)));
        assert!(dns_name_ok(&"a".repeat(63)));
    }

    #[test]
    fn other_names() {
        let ia5 = |s: &str| Ia5String::new(s).unwrap();
        assert!(general_name_ok(&GeneralName::Rfc822Name(ia5(
            "a@example.com"
        ))));
        assert!(!general_name_ok(&GeneralName::Rfc822Name(ia5(
            "example.com"
        ))));
        assert!(!general_name_ok(&GeneralName::Rfc822Name(ia5(
            "@example.com"
        ))));
        assert!(!general_name_ok(&GeneralName::Rfc822Name(ia5(
            "a b@example.com"
        ))));
        assert!(general_name_ok(&GeneralName::UniformResourceIdentifier(
            ia5("https://example.com/x")
        )));
        assert!(!general_name_ok(&GeneralName::UniformResourceIdentifier(
            ia5("no scheme")
        )));
        assert!(!general_name_ok(&GeneralName::UniformResourceIdentifier(
            ia5("1http://x")
        )));
        let ip = |b: &[u8]| GeneralName::IpAddress(OctetString::new(b).unwrap());
        assert!(general_name_ok(&ip(&[192, 0, 2, 1])));
        assert!(general_name_ok(&ip(&[0; 16])));
        assert!(!general_name_ok(&ip(&[1, 2, 3])));
    }
}
