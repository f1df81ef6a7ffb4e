//! How `cmp_door` builds messages from the input: header, body and
//! protection, and the certConf that may follow an issuance.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use cmc_ca::Clock;
use cmc_keys::{FileKey, SigningKey};
use const_oid::AssociatedOid;
use der::asn1::{Any, GeneralizedTime, Ia5String, Int, Null, OctetString};
use der::{Decode, Encode};
use proto_cmp::oid as cmp_oid;
use proto_cmp::{
    CertConfirmContent, CertOrEncCert, CertReqMessages, CertStatus, CertTemplate, CmpReply,
    ErrorMsgContent, FailureBit, InfoTypeAndValue, MacAlgorithm, PVNO_CMP2000, PVNO_CMP2021,
    PkiBody, PkiFailureInfo, PkiHeader, PkiMessage, PkiStatus, PkiStatusInfo, PollReq,
    ProofOfPossession, RevDetails,
};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::{CLIENT_SUBJECT, Fixture, MAX_ITERATIONS, RA_SUBJECT};

/// Reads the fuzz input; past its end every value is 0.
pub(super) struct Input<'a>(pub(super) &'a [u8]);

impl Input<'_> {
    pub(super) fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    /// A length-prefixed byte string (at most 255 bytes).
    fn bytes(&mut self) -> &[u8] {
        let n = usize::from(self.u8()).min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }
}

/// Text for names: lowercase letters, digits and `.-`.
fn text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b % 38 {
            n @ 0..26 => char::from(b'a' + n),
            n @ 26..36 => char::from(b'0' + n - 26),
            36 => '.',
            _ => '-',
        })
        .collect()
}

fn octets(bytes: &[u8]) -> OctetString {
    OctetString::new(bytes).expect("an OCTET STRING holds any length an input can have")
}

/// A counter, so that transactions and nonces are not all replays.
fn counter() -> [u8; 8] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes()
}

fn subject(f: &Fixture, r: &mut Input<'_>) -> Name {
    let text = match r.u8() % 8 {
        0 => "CN=fuzz.example".to_owned(),
        1 => RA_SUBJECT.to_owned(),
        2 => CLIENT_SUBJECT.to_owned(),
        3 => "CN=device.example.test,O=Fuzz".to_owned(),
        4 => return Name::default(),
        5 => return f.ca_cert.tbs_certificate().subject().clone(),
        6 => "CN=admin".to_owned(),
        _ => format!("CN={}", text(r.bytes())),
    };
    Name::from_str(&text).unwrap_or_default()
}

/// How a message is protected (the first structured byte, modulo 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protect {
    /// Signed by the RA, the MAC RA, the client (registered) or by the key
    /// of a certificate the door issued.
    Ra,
    Client,
    MacRaCert,
    Holder,
    /// Signed by a stranger's key with the client's certificate, or with
    /// the forged certificate.
    Mismatch,
    Forged,
    /// MAC with the reference's secret, a wrong one, an unknown reference,
    /// no senderKID.
    Mac,
    WrongSecret,
    UnknownReference,
    NoKid,
    None,
    /// Signed by the RA without extraCerts.
    NoCerts,
}

impl Protect {
    const ALL: [Self; 12] = [
        Self::Ra,
        Self::Client,
        Self::MacRaCert,
        Self::Holder,
        Self::Mismatch,
        Self::Forged,
        Self::Mac,
        Self::WrongSecret,
        Self::UnknownReference,
        Self::NoKid,
        Self::None,
        Self::NoCerts,
    ];

    /// Whether the setup vouches for this sender (a holder, a MAC
    /// reference or a one-time secret may still be refused).
    fn authenticated(self) -> bool {
        matches!(
            self,
            Self::Ra | Self::Client | Self::MacRaCert | Self::Holder | Self::Mac
        )
    }
}

/// How one message was protected, for the certConf that may follow.
#[derive(Clone)]
pub(super) struct Plan {
    protect: Protect,
    mac: MacAlgorithm,
    reference: usize,
    key: usize,
    transaction_id: Option<OctetString>,
    pub(super) authenticated: bool,
}

/// The MAC algorithm the input asks for: PBM (SHA-256 or SHA-1) or PBMAC1,
/// a small iteration count (0 and past [`MAX_ITERATIONS`] included, to be
/// refused), a salt.
fn mac_algorithm(r: &mut Input<'_>) -> MacAlgorithm {
    let kind = r.u8();
    let iterations = match r.u8() {
        0 => 0,
        255 => 100_000,
        n => u32::from(n) % (MAX_ITERATIONS + 2),
    };
    let salt = r.bytes().to_vec();
    let (owf, mac) = if kind & 1 == 1 {
        (proto_cmp::HashAlg::Sha1, proto_cmp::HashAlg::Sha1)
    } else {
        (proto_cmp::HashAlg::Sha256, proto_cmp::HashAlg::Sha256)
    };
    if kind & 2 == 2 {
        MacAlgorithm::Pbmac1 {
            salt,
            iterations,
            key_len: if kind & 4 == 4 { 64 } else { 32 },
            prf: proto_cmp::HashAlg::Sha256,
            mac: proto_cmp::HashAlg::Sha256,
        }
    } else {
        MacAlgorithm::Pbm {
            salt,
            owf,
            iterations,
            mac,
        }
    }
}

/// A message built from the input (see [`SEEDS`]), and how it was protected.
pub(super) fn build_message(f: &Fixture, r: &mut Input<'_>) -> Option<(Vec<u8>, Plan)> {
    let protect = Protect::ALL[usize::from(r.u8()) % Protect::ALL.len()];
    let mac = mac_algorithm(r);
    let reference = usize::from(r.u8()) % f.macs.len();
    let flags = r.u8();
    let transaction_id = (flags & 1 == 1).then(|| {
        let mut t = r.bytes().to_vec();
        if flags & 8 == 0 {
            t.extend_from_slice(&counter());
        }
        octets(&t)
    });
    let nonce = nonce(flags & 2 == 2, flags & 4 == 4, r);
    let key = usize::from(r.u8()) % f.keys.len();
    let mut header = header(f, protect, flags);
    header.transaction_id.clone_from(&transaction_id);
    header.sender_nonce = nonce;
    let plan = Plan {
        protect,
        mac,
        reference,
        key,
        transaction_id,
        // A holder without a certificate yet signs with the client's.
        authenticated: protect.authenticated()
            && (protect != Protect::Holder || holder(f, key).is_some()),
    };
    let der = match body(f, r, key)? {
        Body::Known(body) => protect_message(f, &plan, header, *body)?,
        Body::Raw(tlv) => {
            // Outside the profile: unprotected, the door answers before it
            // looks at the protection.
            let header = header.to_der().ok()?;
            let mut content = header;
            content.extend_from_slice(&tlv);
            tlv_of(0x30, &content)
        }
    };
    Some((der, plan))
}

/// A senderNonce: present or not; input bytes and a counter, or input bytes
/// alone (a replay, or empty).
fn nonce(present: bool, fresh: bool, r: &mut Input<'_>) -> Option<OctetString> {
    let mut n = r.bytes().to_vec();
    if fresh {
        n.extend_from_slice(&counter());
    }
    present.then(|| octets(&n))
}

fn header(f: &Fixture, protect: Protect, flags: u8) -> PkiHeader {
    let sender = match protect {
        Protect::Ra | Protect::NoCerts => Name::from_str(RA_SUBJECT).unwrap_or_default(),
        Protect::Client | Protect::Mismatch | Protect::Forged => {
            Name::from_str(CLIENT_SUBJECT).unwrap_or_default()
        }
        _ => Name::default(),
    };
    let recipient = if flags & 0x10 == 0 {
        f.ca_cert.tbs_certificate().subject().clone()
    } else {
        Name::default()
    };
    let pvno = if flags & 0x20 == 0 {
        PVNO_CMP2000
    } else {
        PVNO_CMP2021
    };
    let mut h = PkiHeader::new(
        pvno,
        GeneralName::DirectoryName(sender),
        GeneralName::DirectoryName(recipient),
    );
    if flags & 0x40 == 0x40 {
        h.set_implicit_confirm();
    }
    if flags & 0x80 == 0x80 {
        h.message_time = GeneralizedTime::from_system_time(f.clock.now().to_system_time()).ok();
    }
    h
}

enum Body {
    Known(Box<PkiBody>),
    /// A whole body TLV of a type outside the profile.
    Raw(Vec<u8>),
}

/// DER TLV with a one-byte tag.
fn tlv_of(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn body(f: &Fixture, r: &mut Input<'_>, key: usize) -> Option<Body> {
    let body = match r.u8() % 11 {
        kind @ 0..=2 => {
            let reqs = cert_req_messages(f, r, key)?;
            match kind {
                0 => PkiBody::Ir(reqs),
                1 => PkiBody::Cr(reqs),
                _ => PkiBody::Kur(reqs),
            }
        }
        3 => {
            let subject = subject(f, r);
            let flags = r.u8();
            let extensions = san(flags >> 1).into_iter().collect();
            let mut csr = cmc_codec::build_csr(&f.keys[key], subject, extensions).ok()?;
            if flags & 1 == 1 {
                // A CSR whose signature no longer matches.
                csr.info.subject = Name::from_str("CN=changed").unwrap_or_default();
            }
            PkiBody::P10cr(csr)
        }
        4 => {
            let status = CertStatus {
                cert_hash: octets(r.bytes()),
                cert_req_id: i64::from(r.u8()),
                status_info: status_info(r.u8()),
                hash_alg: None,
            };
            PkiBody::CertConf(vec![status])
        }
        5 => {
            let mut content = Vec::new();
            for _ in 0..(r.u8() % 4) {
                content.push(info(f, r)?);
            }
            PkiBody::Genm(content)
        }
        6 => {
            let mut details = Vec::new();
            for _ in 0..=(r.u8() % 2) {
                details.push(rev_details(f, r));
            }
            PkiBody::Rr(details)
        }
        7 => PkiBody::PollReq(vec![PollReq {
            cert_req_id: i64::from(r.u8()) - 1,
        }]),
        8 => PkiBody::Error(ErrorMsgContent {
            pki_status_info: PkiStatusInfo::rejection(
                PkiFailureInfo(u32::from(r.u8())),
                &text(r.bytes()),
            ),
            error_code: None,
            error_details: None,
        }),
        9 => PkiBody::PkiConf(Null),
        _ => {
            // popdecc, popdecr, krr, krp, ccr, ccp, ckuann, cann, rann,
            // crlann, nested.
            const OTHERS: [u8; 11] = [5, 6, 9, 10, 13, 14, 15, 16, 17, 18, 20];
            let tag = 0xa0 | OTHERS[usize::from(r.u8()) % OTHERS.len()];
            return Some(Body::Raw(tlv_of(tag, r.bytes())));
        }
    };
    Some(Body::Known(Box::new(body)))
}

fn status_info(b: u8) -> Option<PkiStatusInfo> {
    match b % 4 {
        0 => None,
        1 => Some(PkiStatusInfo::accepted()),
        2 => Some(PkiStatusInfo::rejection(
            PkiFailureInfo::of(FailureBit::BadCertTemplate),
            "no",
        )),
        _ => Some(PkiStatusInfo {
            status: PkiStatus::Waiting,
            status_string: None,
            fail_info: None,
        }),
    }
}

/// A subjectAltName with one dNSName, or none (`choice` 0 and 7).
fn san(choice: u8) -> Option<Extension> {
    let dns = match choice % 8 {
        1 => "fuzz.example",
        2 => "bank.example.test",
        3 => "*.example",
        4 => "device.example.test",
        5 => "localhost",
        6 => "xn--bcher-kva.example",
        _ => return None,
    };
    let name = Ia5String::new(dns).ok()?;
    let value = SubjectAltName(vec![GeneralName::DnsName(name)])
        .to_der()
        .ok()?;
    Some(Extension {
        extn_id: SubjectAltName::OID,
        critical: false,
        extn_value: OctetString::new(value).ok()?,
    })
}

/// ir/cr/kur content: normally one request (none or two are refused);
/// each with the key, a subject, a POPO (signature, raVerified, none, a
/// signature that no longer matches; the bits above choose a
/// subjectAltName) and a certReqId.
fn cert_req_messages(f: &Fixture, r: &mut Input<'_>, key: usize) -> Option<CertReqMessages> {
    let count = match r.u8() % 8 {
        6 => 0,
        7 => 2,
        _ => 1,
    };
    let mut reqs = Vec::new();
    for i in 0..count {
        let key = &f.keys[(key + i) % f.keys.len()];
        let subject = Some(subject(f, r));
        let popo = r.u8();
        let template = CertTemplate {
            subject,
            extensions: san(popo >> 2).map(|e| vec![e]),
            ..CertTemplate::default()
        };
        let id = r.u8();
        let mut msg = cmc_codec::build_crmf(key, u32::from(id % 4), template).ok()?;
        match popo % 4 {
            0 => {}
            1 => msg.popo = Some(ProofOfPossession::RaVerified(Null)),
            2 => msg.popo = None,
            _ => {
                msg.cert_req.cert_template.subject =
                    Some(Name::from_str("CN=changed").unwrap_or_default());
            }
        }
        if id >= 0xf0 {
            // A certReqId outside the body part range (-1, or 2^63 - 1).
            let raw: &[u8] = if id & 1 == 0 {
                &[0xff]
            } else {
                &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            };
            msg.cert_req.cert_req_id = Int::new(raw).ok()?;
        }
        reqs.push(msg);
    }
    Some(reqs)
}

/// One genm request: an info type the profile knows (or another), with no
/// value, a well-formed one, or input bytes.
fn info(f: &Fixture, r: &mut Input<'_>) -> Option<InfoTypeAndValue> {
    const TYPES: [der::oid::ObjectIdentifier; 9] = [
        cmp_oid::ID_IT_CA_CERTS,
        cmp_oid::ID_IT_ROOT_CA_KEY_UPDATE,
        cmp_oid::ID_IT_CERT_REQ_TEMPLATE,
        cmp_oid::ID_IT_ROOT_CA_CERT,
        cmp_oid::ID_IT_CERT_PROFILE,
        cmp_oid::ID_IT_CRL_STATUS_LIST,
        cmp_oid::ID_IT_CRLS,
        cmp_oid::ID_IT_IMPLICIT_CONFIRM,
        cmp_oid::ID_SHA256,
    ];
    let info_type = TYPES[usize::from(r.u8()) % TYPES.len()];
    match r.u8() % 3 {
        0 => Some(InfoTypeAndValue::request(info_type)),
        1 => match info_type {
            cmp_oid::ID_IT_ROOT_CA_CERT => InfoTypeAndValue::new(info_type, &f.ca_cert).ok(),
            cmp_oid::ID_IT_CERT_PROFILE => {
                InfoTypeAndValue::new(info_type, &vec!["default".to_owned()]).ok()
            }
            _ => Some(InfoTypeAndValue::request(info_type)),
        },
        _ => {
            let raw = r.bytes();
            let value = Any::from_der(raw)
                .or_else(|_| Any::encode_from(&octets(raw)))
                .ok();
            Some(InfoTypeAndValue {
                info_type,
                info_value: value,
            })
        }
    }
}

/// An rr entry: the serial and issuer of a registered client's certificate,
/// of a certificate the door issued, or of nothing.
fn rev_details(f: &Fixture, r: &mut Input<'_>) -> RevDetails {
    let which = r.u8();
    let holder = {
        let state = f
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.holders.iter().flatten().next().cloned()
    };
    let cert = match which % 4 {
        0 => Some(f.signers[0].1.clone()),
        1 => Some(f.signers[2].1.clone()),
        2 => holder,
        _ => None,
    };
    let serial = cert.as_ref().map_or_else(
        || Int::new(&[0x42]).ok(),
        |c| Int::new(c.tbs_certificate().serial_number().as_bytes()).ok(),
    );
    let issuer = if r.u8() & 1 == 0 {
        Some(f.ca_cert.tbs_certificate().subject().clone())
    } else {
        None
    };
    RevDetails {
        cert_details: CertTemplate {
            serial_number: serial,
            issuer,
            ..CertTemplate::default()
        },
        crl_entry_details: None,
    }
}

/// The last certificate issued for `keys[key]`.
fn holder(f: &Fixture, key: usize) -> Option<Certificate> {
    let state = f
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    state.holders[key].clone()
}

/// `body` under `header`, protected as the plan says.
fn protect_message(
    f: &Fixture,
    plan: &Plan,
    mut header: PkiHeader,
    body: PkiBody,
) -> Option<Vec<u8>> {
    let (reference, secret) = &f.macs[plan.reference];
    let message = match plan.protect {
        Protect::Mac | Protect::WrongSecret | Protect::UnknownReference | Protect::NoKid => {
            let (kid, secret): (Option<&[u8]>, &[u8]) = match plan.protect {
                Protect::Mac => (Some(reference.as_bytes()), secret.as_bytes()),
                Protect::WrongSecret => (Some(reference.as_bytes()), b"not the right secret"),
                Protect::UnknownReference => (Some(b"unknown-reference"), secret.as_bytes()),
                _ => (None, secret.as_bytes()),
            };
            header.sender_kid = kid.map(octets);
            PkiMessage::protect_with_mac(header, body, &plan.mac, secret, None).ok()?
        }
        Protect::None => PkiMessage {
            header,
            body,
            protection: None,
            extra_certs: None,
        },
        signed => {
            let holder = holder(f, plan.key);
            let (key, cert): (&FileKey, Option<Certificate>) = match signed {
                Protect::Ra => (&f.signers[0].0, Some(f.signers[0].1.clone())),
                Protect::MacRaCert => (&f.signers[1].0, Some(f.signers[1].1.clone())),
                Protect::Client => (&f.signers[2].0, Some(f.signers[2].1.clone())),
                // Without a certificate yet, the key signs with the client's.
                Protect::Holder => (
                    &f.keys[plan.key],
                    Some(holder.unwrap_or_else(|| f.signers[2].1.clone())),
                ),
                Protect::Mismatch => (&f.stranger, Some(f.signers[2].1.clone())),
                Protect::Forged => (&f.stranger, Some(f.forged.clone())),
                _ => (&f.signers[0].0, None),
            };
            PkiMessage::protect_with_signature(
                header,
                body,
                key.signature_algorithm().clone(),
                cert.map(|c| vec![c]),
                |d| {
                    key.sign(d)
                        .map_err(|_| proto_cmp::Error::NotProtected("signing"))
                },
            )
            .ok()?
        }
    };
    message.to_der_bytes().ok()
}

/// A certConf for what `reply` issued, in the plan's transaction, protected
/// the same way unless the flags say otherwise (1: send it, 2: wrong hash,
/// 4: wrong certReqId, 8: rejection, 16: hashAlg SHA-256, 32: unprotected,
/// 64: reuse the transaction's nonce).
pub(super) fn confirmation(
    f: &Fixture,
    plan: &Plan,
    reply: &CmpReply,
    r: &mut Input<'_>,
) -> Option<Vec<u8>> {
    let flags = r.u8();
    if flags & 1 == 0 || reply.issued == 0 {
        return None;
    }
    let answer = PkiMessage::from_der(&reply.body).ok()?;
    let (PkiBody::Ip(rep) | PkiBody::Cp(rep) | PkiBody::Kup(rep)) = &answer.body else {
        return None;
    };
    let response = rep.response.first()?;
    let CertOrEncCert::Certificate(cert) = &response.certified_key_pair.as_ref()?.cert_or_enc_cert
    else {
        return None;
    };
    let mut hash = sha2::Sha256::digest(cert.to_der().ok()?).to_vec();
    if flags & 2 == 2 {
        hash[0] ^= 1;
    }
    let status = CertStatus {
        cert_hash: octets(&hash),
        cert_req_id: response.cert_req_id + i64::from(flags & 4 == 4),
        status_info: Some(if flags & 8 == 8 {
            PkiStatusInfo::rejection(PkiFailureInfo::of(FailureBit::BadCertTemplate), "")
        } else {
            PkiStatusInfo::accepted()
        }),
        hash_alg: (flags & 16 == 16).then_some(AlgorithmIdentifierOwned {
            oid: cmp_oid::ID_SHA256,
            parameters: None,
        }),
    };
    let mut header = header(f, plan.protect, 0);
    header.transaction_id.clone_from(&plan.transaction_id);
    header.sender_nonce = Some(if flags & 64 == 64 {
        answer.header.recip_nonce.clone()?
    } else {
        octets(&counter())
    });
    header.recip_nonce.clone_from(&answer.header.sender_nonce);
    let mut plan = plan.clone();
    if flags & 32 == 32 {
        plan.protect = Protect::None;
    }
    protect_message(
        f,
        &plan,
        header,
        PkiBody::CertConf(CertConfirmContent::from([status])),
    )
}
