//! genm → genp (RFC 4210 §5.3.19–§5.3.20, Lightweight CMP Profile RFC 9483 §4.3): what a
//! client may ask the CA besides certificates, answered for any authenticated sender.
//!
//! | asked (`infoType`) | answered |
//! |---|---|
//! | `id-it-caCerts` (§4.3.1) | `caCerts`: the CA certificate, its passive next and retired ones (a rollover), and their chains to the root |
//! | `id-it-rootCaCert` or `id-it-rootCaKeyUpdate` (§4.3.2) | `rootCaKeyUpdate` with newWithNew, the next (passive) or, after activation, the new root certificate of a root CA that rolled over; without a value otherwise (no root key update) |
//! | `id-it-certReqTemplate` (§4.3.3) | an empty `certTemplate` and, in `keySpec`, the key types of the CA's default profile (`id-regCtrl-algId` per EC curve, `id-regCtrl-rsaKeyLen` per RSA size); no value when the profile names none |
//! | `id-it-crlStatusList` (§4.3.4) | `id-it-crls` with the CA's current CRL, unless every `CRLStatus` for this CA says the client has it (`thisUpdate` not older); no value then |
//! | `id-it-currentCRL` (RFC 4210 §5.3.19.6) | the CA's current CRL |
//! | nothing (an empty genm) | `caCerts`, what this CA wishes to send |
//!
//! Any other `infoType` is left out of the genp: "The receiver is free to ignore any
//! contained OBJ. IDs that it does not recognize. If sent from EE to CA, the empty set
//! indicates that the CA may send any/all information that it wishes." (RFC 4210
//! §5.3.19). Each type is answered once however often it is asked.

use cmc_ca::{Engine, LoadedCa, Refused, Replay};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, ID_IT_CURRENT_CRL};
use der::Decode;
use der::asn1::Any;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;

use crate::door::Refusal;
use crate::oid::{
    ID_IT_CA_CERTS, ID_IT_CERT_REQ_TEMPLATE, ID_IT_CRLS, ID_IT_ROOT_CA_CERT,
    ID_IT_ROOT_CA_KEY_UPDATE, ID_REG_CTRL_ALG_ID, ID_REG_CTRL_RSA_KEY_LEN,
};
use crate::{
    CertReqTemplateContent, CertTemplate, CrlSource, CrlStatusListValue, FailureBit, GenMsgContent,
    GenmRequest, InfoTypeAndValue, PkiBody,
};

/// What one genm entry asks for, as the door answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Profile(GenmRequest),
    CurrentCrl,
}

/// The genp for a genm; the replay records are committed first.
pub(crate) fn general(
    engine: &Engine,
    ca: &LoadedCa,
    content: &GenMsgContent,
    replay: &Replay,
) -> Result<PkiBody, Refusal> {
    engine.record_replay(ca.name(), replay)?;
    let mut asked: Vec<(Asked, &InfoTypeAndValue)> = Vec::new();
    for itav in content {
        let kind = match GenmRequest::of(itav) {
            Some(r) => Asked::Profile(r),
            None if itav.info_type == ID_IT_ROOT_CA_CERT => {
                Asked::Profile(GenmRequest::RootCaKeyUpdate)
            }
            None if itav.info_type == ID_IT_CURRENT_CRL => Asked::CurrentCrl,
            None => continue,
        };
        if !asked.iter().any(|(k, _)| *k == kind) {
            asked.push((kind, itav));
        }
    }
    let mut answer = Vec::new();
    if content.is_empty() {
        answer.push(ca_certs(engine, ca)?);
    }
    for (kind, itav) in asked {
        answer.push(match kind {
            Asked::Profile(GenmRequest::CaCerts) => ca_certs(engine, ca)?,
            Asked::Profile(GenmRequest::RootCaKeyUpdate) => root_ca_key_update(ca)?,
            Asked::Profile(GenmRequest::CertReqTemplate) => cert_req_template(engine, ca)?,
            Asked::Profile(GenmRequest::CrlUpdate) => crl_update(engine, ca, itav)?,
            Asked::CurrentCrl => {
                InfoTypeAndValue::new(ID_IT_CURRENT_CRL, &current_crl(engine, ca)?.1)?
            }
        });
    }
    Ok(PkiBody::Genp(answer))
}

/// `rootCaKeyUpdate`: for a root CA with a passive next generation, its
/// certificate; after a rollover's activation (a retired generation still
/// valid), the active one; otherwise no value (no update).
fn root_ca_key_update(ca: &LoadedCa) -> Result<InfoTypeAndValue, Refusal> {
    if !ca.chain_der().is_empty() {
        return Ok(InfoTypeAndValue::request(ID_IT_ROOT_CA_KEY_UPDATE));
    }
    let new_with_new = match ca.passive() {
        Some(p) if p.chain_der.is_empty() => p.certificate.clone(),
        _ if !ca.retired().is_empty() => ca.certificate().clone(),
        _ => return Ok(InfoTypeAndValue::request(ID_IT_ROOT_CA_KEY_UPDATE)),
    };
    // Only newWithNew: a rollover here makes no cross-certificates.
    Ok(InfoTypeAndValue::new(
        ID_IT_ROOT_CA_KEY_UPDATE,
        &crate::RootCaKeyUpdateContent {
            new_with_new,
            new_with_old: None,
            old_with_new: None,
        },
    )?)
}

fn ca_certs(engine: &Engine, ca: &LoadedCa) -> Result<InfoTypeAndValue, Refusal> {
    let chain = engine.ca_bundle(ca.name())?;
    Ok(InfoTypeAndValue::new(ID_IT_CA_CERTS, &chain)?)
}

/// The key types of the CA's default profile (RFC 9480 §2.15: `id-regCtrl-algId` for
/// every type but RSA, `id-regCtrl-rsaKeyLen` for RSA).
fn cert_req_template(engine: &Engine, ca: &LoadedCa) -> Result<InfoTypeAndValue, Refusal> {
    let name = engine.config().default_profile_name(ca.name());
    let profile = engine
        .config()
        .profiles
        .get(&name)
        .map_err(|e| Refusal::new(FailureBit::SystemFailure, format!("profile {name}: {e}")))?;
    let mut key_spec = Vec::new();
    for curve in profile.allowed_curves() {
        let alg = AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&curve.oid()).map_err(crate::Error::Encode)?),
        };
        key_spec.push(control(ID_REG_CTRL_ALG_ID, &alg)?);
    }
    for bits in profile.allowed_rsa_sizes() {
        key_spec.push(control(ID_REG_CTRL_RSA_KEY_LEN, bits)?);
    }
    if key_spec.is_empty() {
        return Ok(InfoTypeAndValue::request(ID_IT_CERT_REQ_TEMPLATE));
    }
    let template = CertReqTemplateContent {
        cert_template: CertTemplate::default(),
        key_spec: Some(key_spec),
    };
    Ok(InfoTypeAndValue::new(ID_IT_CERT_REQ_TEMPLATE, &template)?)
}

fn control<T: der::Encode>(
    oid: ObjectIdentifier,
    value: &T,
) -> Result<AttributeTypeAndValue, Refusal> {
    let der = value.to_der().map_err(crate::Error::Encode)?;
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::from_der(&der).map_err(crate::Error::Encode)?,
    })
}

/// The CA's current CRL, with its thisUpdate in seconds since the epoch.
fn current_crl(engine: &Engine, ca: &LoadedCa) -> Result<(i64, CertificateList), Refusal> {
    let record = engine
        .current_crl(ca.name())
        .map_err(|e| Refused::from_error(&e, ca.name()))?;
    let crl = CertificateList::from_der(&record.der)
        .map_err(|_| Refusal::new(FailureBit::SystemFailure, "stored CRL"))?;
    Ok((record.this_update.secs(), crl))
}

/// `id-it-crls` for a `crlStatusList` (RFC 9483 §4.3.4): the current CRL unless the client
/// has it. A status names this CA by `issuer`, or by a distribution point (every
/// certificate of this CA points to its one CRL); statuses for other issuers are ignored.
fn crl_update(
    engine: &Engine,
    ca: &LoadedCa,
    itav: &InfoTypeAndValue,
) -> Result<InfoTypeAndValue, Refusal> {
    let statuses: CrlStatusListValue = itav
        .value_as()
        .map_err(|e| Refusal::new(FailureBit::BadDataFormat, e.to_string()))?;
    let ours: Vec<_> = statuses
        .iter()
        .filter(|s| match &s.source {
            CrlSource::Dpn(_) => true,
            CrlSource::Issuer(names) => names
                .iter()
                .any(|n| matches!(n, GeneralName::DirectoryName(d) if d == ca.subject())),
        })
        .collect();
    if ours.is_empty() {
        return Ok(InfoTypeAndValue::request(ID_IT_CRLS));
    }
    let (this_update, crl) = current_crl(engine, ca)?;
    let has_it = ours.iter().all(|s| {
        s.this_update.is_some_and(|t| {
            i64::try_from(t.to_unix_duration().as_secs()).is_ok_and(|t| t >= this_update)
        })
    });
    if has_it {
        return Ok(InfoTypeAndValue::request(ID_IT_CRLS));
    }
    Ok(InfoTypeAndValue::new(ID_IT_CRLS, &vec![crl])?)
}
