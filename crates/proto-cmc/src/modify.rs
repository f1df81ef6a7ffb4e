//! What an RA changes in the requests it forwards and what it says it has
//! done (RFC 5272 §6.5 modCertTemplate and addExtensions, §6.19
//! controlProcessed; RFC 6402 raIdentityWitness), and a client's
//! changeSubjectName attribute (RFC 6402, rfc5272bis "Change Subject Name
//! Attribute").
//!
//! The RA controls are accepted from an RA principal only (anything else:
//! badRequest naming them, nothing processed). They are decoded and every
//! reference checked before any body part is processed: a reference to a
//! PKIData or a certification request that is not there refuses the
//! PKIData with badRequest naming the control (RFC 5272 §6.5.1), so that
//! nothing the RA meant to restrict is issued unrestricted.
//!
//! Proof of possession is verified on the request as the end entity signed
//! it (an RA must not alter a certification request, RFC 5272 §7); the
//! changes are applied afterwards, to what the engine is asked for, which
//! goes through the profile and the name rules like any request: an RA
//! gets nothing by modification that it could not get by asking. The
//! requested key cannot be changed (possession was proven for the
//! request's own key). Changes apply from the inner layer outwards: the
//! request's own changeSubjectName first, then the RA's controls in the
//! order they come (RFC 5272 §6.5.1 leaves the order within one PKIData
//! open); two addExtensions giving one request different values for one
//! extension conflict (badRequest, the policy RFC 5272 §6.5.2 recommends).
//!
//! controlProcessed names, by the path (cmsSequence id, control id), the
//! controls of a nested request the RA handled: they are neither refused
//! as unsupported nor processed again. The identity proof of a nested
//! request (identification, identityProof(V2), popLinkRandom) is the RA's
//! only under raIdentityWitness (RFC 6402: the explicit control, not
//! controlProcessed, says which identity proofs were performed); a
//! raIdentityWitness names a nested PKIData, its identityProof(V2)
//! control, or a request of the RA's own reqSequence (an out-of-band proof
//! of a Simple PKI Request). Without it a nested identity proof is refused
//! as before.
//!
//! changeSubjectName (a PKCS #10 attribute or a CRMF control of the request
//! itself) is taken only in a request that names the subject of the
//! certificate that signs its PKIData (else badRequest); the new subject
//! (empty when absent) and subjectAltNames (removed when absent) are then
//! what the engine checks against the signer's names: a client gets only
//! names it may have, and a holder renewing its certificate keeps its
//! subject (the engine refuses a renamed renewal with badIdentity).

use cmc_asn1::{
    AddExtensions, BodyPartReference, CertReqMsg, CertRequest, CertTemplate, ChangeSubjectName,
    ControlsProcessed, ModCertTemplate, RaIdentityWitness,
};
use cmc_ca::RequestForm;
use const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
use der::asn1::ObjectIdentifier;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;

use super::*;

/// The controls only an RA may send.
pub(super) const RA_CONTROLS: [ObjectIdentifier; 4] = [
    oid::ID_CMC_MOD_CERT_TEMPLATE,
    oid::ID_CMC_ADD_EXTENSIONS,
    oid::ID_CMC_CONTROL_PROCESSED,
    oid::ID_CMC_RA_IDENTITY_WITNESS,
];

/// One change an RA asks for a certification request.
#[derive(Clone, Debug)]
pub(super) enum Change {
    /// modCertTemplate: the fields present in `template` replace the
    /// request's (`replace`), or are removed from it; each extension is a
    /// field of its own.
    Template {
        /// Replace (TRUE) or remove (FALSE).
        replace: bool,
        /// The fields.
        template: Box<CertTemplate>,
    },
    /// addExtensions: added, replacing a requested extension of the same
    /// type (the outer layer wins, RFC 5272 §6.5.2).
    Extensions(Vec<Extension>),
}

/// The RA controls of one PKIData, decoded and cross-checked.
#[derive(Default)]
pub(super) struct RaControls {
    /// The changes, by PKIData (0: this one, else its cmsSequence id) and
    /// request id, in control order.
    changes: BTreeMap<(BodyPartId, BodyPartId), Vec<Change>>,
    /// The controls of each nested PKIData the RA processed.
    processed: BTreeMap<BodyPartId, BTreeSet<BodyPartId>>,
    /// The nested PKIData whose identity proof the RA witnessed.
    identity_witnessed: BTreeSet<BodyPartId>,
}

/// What one nested PKIData gets from the RA layer around it.
#[derive(Default)]
pub(super) struct FromRa {
    /// The requests the RA vouches for (lraPOPWitness).
    pub(super) pop_witnessed: BTreeSet<BodyPartId>,
    /// The RA's changes, by request id.
    pub(super) changes: BTreeMap<BodyPartId, Vec<Change>>,
    /// The controls the RA processed (controlProcessed).
    pub(super) processed: BTreeSet<BodyPartId>,
    /// Whether the RA checked the identity proof (raIdentityWitness).
    pub(super) identity_witnessed: bool,
}

impl FromRa {
    /// The PKIData the CA processes: `pki_data` without the controls the
    /// RA handled.
    pub(super) fn view(&self, pki_data: &PkiData) -> PkiData {
        let mut view = pki_data.clone();
        view.control_sequence.retain(|c| {
            let handled = self.processed.contains(&c.body_part_id)
                || (self.identity_witnessed && SECRET_CONTROLS.contains(&c.attr_type));
            !handled
        });
        view
    }
}

/// What the certification requests of one PKIData are changed by.
pub(super) struct Modify<'a> {
    /// The RA's changes, by request id.
    pub(super) changes: &'a BTreeMap<BodyPartId, Vec<Change>>,
    /// The subject of the certificate that signs the PKIData, if any (a
    /// changeSubjectName request must name it).
    pub(super) signer_subject: Option<&'a Name>,
    /// The CA (for the logs of an internal error).
    pub(super) ca: &'a str,
}

/// badRequest for the whole PKIData, naming control `id`.
fn bad(id: BodyPartId, text: impl Into<String>) -> MessageFailure {
    MessageFailure {
        failure: Failure::failed(CmcFailInfo::BadRequest, text),
        body_list: vec![id],
        authenticated: false,
    }
}

/// A nested PKIData read without verifying it: only its body part ids and
/// control types are looked at here (it is verified when processed).
fn unverified_inner(tagged: &TaggedContentInfo) -> Option<PkiData> {
    tagged
        .content_info
        .content
        .decode_as::<cms::signed_data::SignedData>()
        .ok()
        .and_then(|sd| sd.encap_content_info.econtent)
        .filter(|any| any.tag() == Tag::OctetString)
        .and_then(|any| PkiData::from_der(any.value()).ok())
}

impl RaControls {
    /// Decodes the RA controls of `pki_data` (whose certification requests
    /// are `requests`) and checks every reference (see the module
    /// documentation). badRequest naming the controls when the signer is
    /// not an RA, naming one control when it is malformed or names what is
    /// not there.
    pub(super) fn decode(
        pki_data: &PkiData,
        kind: PrincipalKind,
        requests: &[BodyPartId],
    ) -> Result<Self, MessageFailure> {
        if kind != PrincipalKind::Ra {
            refuse_controls(
                pki_data,
                "only an RA may send modCertTemplate, addExtensions, controlProcessed or raIdentityWitness",
                |oid| RA_CONTROLS.contains(oid),
            )?;
        }
        let mut ra = Self::default();
        if !pki_data
            .control_sequence
            .iter()
            .any(|c| RA_CONTROLS.contains(&c.attr_type))
        {
            return Ok(ra);
        }
        let inner: BTreeMap<BodyPartId, Option<PkiData>> = pki_data
            .cms_sequence
            .iter()
            .map(|t| (t.body_part_id, unverified_inner(t)))
            .collect();
        let requests_of = |layer: BodyPartId| -> Option<Vec<BodyPartId>> {
            if layer == 0 {
                return Some(requests.to_vec());
            }
            inner.get(&layer)?.as_ref().map(|p| {
                p.req_sequence
                    .iter()
                    .filter_map(|r| r.body_part_id().ok())
                    .collect()
            })
        };
        let control_of = |layer: BodyPartId, id: BodyPartId| -> Option<ObjectIdentifier> {
            inner
                .get(&layer)?
                .as_ref()?
                .control_sequence
                .iter()
                .find(|c| c.body_part_id == id)
                .map(|c| c.attr_type)
        };
        fn decode_err(name: &'static str) -> impl Fn(cmc_asn1::Error) -> MessageFailure {
            move |_| bad(0, format!("malformed {name}"))
        }
        let check_refs = |control: BodyPartId, layer: BodyPartId, refs: &[BodyPartId]| {
            let Some(present) = requests_of(layer) else {
                return Err(bad(
                    control,
                    format!("the reference {layer} names no PKIData of this request"),
                ));
            };
            if refs.is_empty() {
                return Err(bad(control, "certReferences names no request"));
            }
            match refs.iter().find(|r| !present.contains(r)) {
                Some(missing) => Err(bad(
                    control,
                    format!(
                        "certReferences names {missing}, which is no certification request of that PKIData"
                    ),
                )),
                None => Ok(()),
            }
        };

        for (id, m) in pki_data
            .controls_of::<ModCertTemplate>()
            .map_err(decode_err("modCertTemplate"))?
        {
            let [layer] = m.pki_data_reference.0[..] else {
                return Err(bad(
                    id,
                    "pkiDataReference names this PKIData (0) or one nested PKIData (its cmsSequence id)",
                ));
            };
            check_refs(id, layer, &m.cert_references)?;
            if m.cert_template.public_key.is_some() {
                return Err(bad(
                    id,
                    "an RA does not change the requested key: possession was proven for the request's own key",
                ));
            }
            for r in m.cert_references.iter() {
                ra.changes
                    .entry((layer, *r))
                    .or_default()
                    .push(Change::Template {
                        replace: m.replace,
                        template: Box::new(m.cert_template.clone()),
                    });
            }
        }

        let additions = pki_data
            .controls_of::<AddExtensions>()
            .map_err(decode_err("addExtensions"))?;
        // (layer, request, extension) -> (control, value), for conflicts.
        let mut added: BTreeMap<(BodyPartId, BodyPartId, ObjectIdentifier), (BodyPartId, &[u8])> =
            BTreeMap::new();
        for (id, a) in &additions {
            check_refs(*id, a.pki_data_reference, &a.cert_references)?;
            for r in &a.cert_references {
                for ext in &a.extensions {
                    let key = (a.pki_data_reference, *r, ext.extn_id);
                    let value = ext.extn_value.as_bytes();
                    if let Some((other, before)) = added.insert(key, (*id, value)) {
                        if before != value || other == *id {
                            return Err(MessageFailure {
                                body_list: vec![other, *id],
                                ..bad(
                                    *id,
                                    format!(
                                        "addExtensions give request {r} two values of extension {}",
                                        ext.extn_id
                                    ),
                                )
                            });
                        }
                    }
                }
                ra.changes
                    .entry((a.pki_data_reference, *r))
                    .or_default()
                    .push(Change::Extensions(a.extensions.clone()));
            }
        }

        for (id, RaIdentityWitness(path)) in pki_data
            .controls_of::<RaIdentityWitness>()
            .map_err(decode_err("raIdentityWitness"))?
        {
            match path[..] {
                // A Simple PKI Request of the RA's own reqSequence, proven
                // out of band: it is the RA's request already.
                [req] if requests.contains(&req) => {}
                // A Full PKI Request proven out of band.
                [layer] if inner.get(&layer).is_some_and(Option::is_some) => {
                    ra.identity_witnessed.insert(layer);
                }
                [layer, control]
                    if control_of(layer, control).is_some_and(|oid| {
                        oid == oid::ID_CMC_IDENTITY_PROOF || oid == oid::ID_CMC_IDENTITY_PROOF_V2
                    }) =>
                {
                    ra.identity_witnessed.insert(layer);
                }
                _ => {
                    return Err(bad(
                        id,
                        "raIdentityWitness names a nested PKIData, its identityProof(V2) control, or a request of this PKIData",
                    ));
                }
            }
        }

        for (id, processed) in pki_data
            .controls_of::<ControlsProcessed>()
            .map_err(decode_err("controlProcessed"))?
        {
            if processed.body_list.is_empty() {
                return Err(bad(id, "controlProcessed names no control"));
            }
            for reference in &processed.body_list {
                let (layer, control, oid) = match reference {
                    BodyPartReference::BodyPartPath(p) => match p.0[..] {
                        [layer, control] => match control_of(layer, control) {
                            Some(oid) => (layer, control, oid),
                            None => {
                                return Err(bad(
                                    id,
                                    format!(
                                        "controlProcessed names {layer}/{control}, which is no control of a nested PKIData"
                                    ),
                                ));
                            }
                        },
                        _ => {
                            return Err(bad(
                                id,
                                "controlProcessed names a control of a nested PKIData by its path (cmsSequence id, control id)",
                            ));
                        }
                    },
                    BodyPartReference::BodyPartId(_) => {
                        return Err(bad(
                            id,
                            "controlProcessed names a control of a nested PKIData by its path (cmsSequence id, control id)",
                        ));
                    }
                };
                if SECRET_CONTROLS.contains(&oid) && !ra.identity_witnessed.contains(&layer) {
                    return Err(bad(
                        id,
                        "an identity proof the RA checked is named by raIdentityWitness (RFC 6402), not only by controlProcessed",
                    ));
                }
                ra.processed.entry(layer).or_default().insert(control);
            }
        }
        Ok(ra)
    }

    /// The RA's changes to the requests of its own reqSequence.
    pub(super) fn outer_changes(&self) -> BTreeMap<BodyPartId, Vec<Change>> {
        self.changes_of(0)
    }

    fn changes_of(&self, layer: BodyPartId) -> BTreeMap<BodyPartId, Vec<Change>> {
        self.changes
            .range((layer, 0)..=(layer, BodyPartId::MAX))
            .map(|((_, id), c)| (*id, c.clone()))
            .collect()
    }

    /// What the nested PKIData of cmsSequence item `id` gets from this
    /// layer, with the requests an lraPOPWitness vouches for.
    pub(super) fn nested(&self, id: BodyPartId, pop_witnessed: BTreeSet<BodyPartId>) -> FromRa {
        FromRa {
            pop_witnessed,
            changes: self.changes_of(id),
            processed: self.processed.get(&id).cloned().unwrap_or_default(),
            identity_witnessed: self.identity_witnessed.contains(&id),
        }
    }
}

impl Modify<'_> {
    /// The request the engine is asked for: `form` as received when nothing
    /// changes it, else a CRMF request (certReqId `id`) with the request's
    /// changeSubjectName applied, then the RA's changes. Proof of
    /// possession was verified on `tagged` before.
    ///
    /// # Errors
    /// badRequest for more than one or a malformed changeSubjectName, or
    /// one in a request that does not name the subject of the certificate
    /// that signs it; the request's own refusals (a template without a
    /// subject).
    pub(super) fn apply(
        &self,
        form: RequestForm,
        tagged: &TaggedRequest,
        id: BodyPartId,
    ) -> Result<RequestForm, Failure> {
        let rename = change_subject_name(tagged)?;
        let changes = self.changes.get(&id).map(Vec::as_slice).unwrap_or_default();
        if rename.is_none() && changes.is_empty() {
            return Ok(form);
        }
        let request = form.policy_request()?;
        let mut msg = match form {
            RequestForm::Crmf(crm) => *crm,
            RequestForm::Pkcs10 { .. } => {
                let template = CertTemplate {
                    subject: Some(request.subject.clone()),
                    public_key: Some(request.public_key.clone()),
                    extensions: (!request.extensions.is_empty())
                        .then(|| request.extensions.clone()),
                    ..CertTemplate::default()
                };
                CertReqMsg {
                    cert_req: CertRequest::new(id, template).map_err(|e| {
                        Failure::from_engine(&cmc_ca::Error::encode("request", e), self.ca)
                    })?,
                    popo: None,
                    reg_info: None,
                }
            }
        };
        let template = &mut msg.cert_req.cert_template;
        if let Some(rename) = rename {
            // RFC 6402: the name in the request is the name of the
            // certificate the request is verified with.
            if self.signer_subject != Some(&request.subject) {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "changeSubjectName: the request must name the subject of the certificate that signs it",
                ));
            }
            template.subject = Some(rename.subject.unwrap_or_default());
            let mut extensions = template.extensions.take().unwrap_or_default();
            extensions.retain(|e| e.extn_id != ID_CE_SUBJECT_ALT_NAME);
            if let Some(names) = rename.subject_alt {
                let value = SubjectAltName(names).to_der().map_err(|e| {
                    Failure::from_engine(&cmc_ca::Error::encode("subjectAltName", e), self.ca)
                })?;
                extensions.push(Extension {
                    extn_id: ID_CE_SUBJECT_ALT_NAME,
                    // RFC 5280 §4.2.1.6: critical when the subject is empty.
                    critical: template.subject.as_ref().is_none_or(|s| s.is_empty()),
                    extn_value: OctetString::new(value).map_err(|e| {
                        Failure::from_engine(&cmc_ca::Error::encode("subjectAltName", e), self.ca)
                    })?,
                });
            }
            template.extensions = (!extensions.is_empty()).then_some(extensions);
        }
        for change in changes {
            change_template(template, change);
        }
        // A removed subject is an empty one (the template always has one).
        if template.subject.is_none() {
            template.subject = Some(Name::default());
        }
        Ok(RequestForm::Crmf(Box::new(msg)))
    }
}

/// One RA change applied to a template.
fn change_template(t: &mut CertTemplate, change: &Change) {
    match change {
        Change::Template { replace, template } => {
            fn set<T: Clone>(field: &mut Option<T>, new: Option<&T>, replace: bool) {
                if let Some(new) = new {
                    *field = replace.then(|| new.clone());
                }
            }
            let replace = *replace;
            set(&mut t.version, template.version.as_ref(), replace);
            set(
                &mut t.serial_number,
                template.serial_number.as_ref(),
                replace,
            );
            set(&mut t.signing_alg, template.signing_alg.as_ref(), replace);
            set(&mut t.issuer, template.issuer.as_ref(), replace);
            set(&mut t.validity, template.validity.as_ref(), replace);
            set(&mut t.subject, template.subject.as_ref(), replace);
            set(&mut t.issuer_uid, template.issuer_uid.as_ref(), replace);
            set(&mut t.subject_uid, template.subject_uid.as_ref(), replace);
            let changed = template.extensions.as_deref().unwrap_or_default();
            put_extensions(t, changed, replace);
        }
        Change::Extensions(extensions) => put_extensions(t, extensions, true),
    }
}

/// Each of `extensions` replaces (or, without `replace`, removes) the
/// template's extension of its type.
fn put_extensions(t: &mut CertTemplate, extensions: &[Extension], replace: bool) {
    if extensions.is_empty() {
        return;
    }
    let mut list = t.extensions.take().unwrap_or_default();
    list.retain(|e| !extensions.iter().any(|n| n.extn_id == e.extn_id));
    if replace {
        list.extend(extensions.iter().cloned());
    }
    t.extensions = (!list.is_empty()).then_some(list);
}

/// The changeSubjectName attribute of a request (PKCS #10 attribute or
/// CRMF control), if it has one.
fn change_subject_name(tagged: &TaggedRequest) -> Result<Option<ChangeSubjectName>, Failure> {
    let bad = |text: &str| Failure::failed(CmcFailInfo::BadRequest, text);
    let values: Vec<Vec<u8>> = match tagged {
        TaggedRequest::Tcr(tcr) => tcr
            .certification_request
            .info
            .attributes
            .iter()
            .filter(|a| a.oid == oid::ID_CMC_CHANGE_SUBJECT_NAME)
            .map(|a| {
                let mut values = a.values.iter();
                match (values.next(), values.next()) {
                    (Some(v), None) => v.to_der().map_err(|_| bad("malformed changeSubjectName")),
                    _ => Err(bad("a changeSubjectName attribute has exactly one value")),
                }
            })
            .collect::<Result<_, _>>()?,
        TaggedRequest::Crm(crm) => crm
            .cert_req
            .controls
            .iter()
            .flatten()
            .filter(|a| a.oid == oid::ID_CMC_CHANGE_SUBJECT_NAME)
            .map(|a| {
                a.value
                    .to_der()
                    .map_err(|_| bad("malformed changeSubjectName"))
            })
            .collect::<Result<_, _>>()?,
        TaggedRequest::Orm(_) => Vec::new(),
    };
    let [value] = values.as_slice() else {
        return if values.is_empty() {
            Ok(None)
        } else {
            Err(bad("more than one changeSubjectName"))
        };
    };
    let rename =
        ChangeSubjectName::from_der(value).map_err(|_| bad("malformed changeSubjectName"))?;
    if rename.subject.is_none() && rename.subject_alt.is_none() {
        return Err(bad(
            "changeSubjectName names neither a subject nor subjectAltNames",
        ));
    }
    Ok(Some(rename))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use super::*;

    fn ext(oid: ObjectIdentifier, value: &[u8]) -> Extension {
        Extension {
            extn_id: oid,
            critical: false,
            extn_value: OctetString::new(value).unwrap(),
        }
    }

    const KU: ObjectIdentifier = const_oid::db::rfc5280::ID_CE_KEY_USAGE;

    #[test]
    fn replace_sets_and_remove_clears_only_the_fields_present() {
        let mut t = CertTemplate {
            subject: Some(Name::from_str("CN=asked").unwrap()),
            extensions: Some(vec![ext(KU, b"ku"), ext(ID_CE_SUBJECT_ALT_NAME, b"san")]),
            ..CertTemplate::default()
        };
        change_template(
            &mut t,
            &Change::Template {
                replace: true,
                template: Box::new(CertTemplate {
                    subject: Some(Name::from_str("CN=given").unwrap()),
                    extensions: Some(vec![ext(ID_CE_SUBJECT_ALT_NAME, b"ra")]),
                    ..CertTemplate::default()
                }),
            },
        );
        assert_eq!(t.subject.as_ref().unwrap().to_string(), "CN=given");
        assert_eq!(
            t.extensions.as_ref().unwrap(),
            &[ext(KU, b"ku"), ext(ID_CE_SUBJECT_ALT_NAME, b"ra")]
        );
        // replace = FALSE: the keyUsage named is removed (whatever its
        // value in the control), the subject absent from the control stays.
        change_template(
            &mut t,
            &Change::Template {
                replace: false,
                template: Box::new(CertTemplate {
                    extensions: Some(vec![ext(KU, b"")]),
                    ..CertTemplate::default()
                }),
            },
        );
        assert_eq!(t.subject.as_ref().unwrap().to_string(), "CN=given");
        assert_eq!(
            t.extensions.as_ref().unwrap(),
            &[ext(ID_CE_SUBJECT_ALT_NAME, b"ra")]
        );
        // addExtensions adds, replacing one of the same type.
        change_template(
            &mut t,
            &Change::Extensions(vec![ext(ID_CE_SUBJECT_ALT_NAME, b"added"), ext(KU, b"k2")]),
        );
        assert_eq!(
            t.extensions.as_ref().unwrap(),
            &[ext(ID_CE_SUBJECT_ALT_NAME, b"added"), ext(KU, b"k2")]
        );
        change_template(
            &mut t,
            &Change::Template {
                replace: false,
                template: Box::new(CertTemplate {
                    subject: Some(Name::default()),
                    extensions: Some(vec![ext(KU, b""), ext(ID_CE_SUBJECT_ALT_NAME, b"")]),
                    ..CertTemplate::default()
                }),
            },
        );
        assert_eq!((t.subject, t.extensions), (None, None));
    }
}
