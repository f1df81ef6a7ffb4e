//! What the attack tests (`attacks_*.rs`, issue 13) share: an engine over a
//! temporary SQLite store with the profiles and limits a test chooses, the
//! parties that sign requests (RA, agent, end-entity client, certificate
//! holder, owner of a one-time secret), shared-secret requests, and views
//! of what the store holds afterwards.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use proto_cmc::{CmcFrontDoor, CmcReply, Transport};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use cmc_asn1::{
    BodyPartId, CertTemplate, CmcFailInfo, CmcStatus, DataReturn, Identification, PopLinkRandom,
    RecipientNonce, ResponseInfo, RevokeRequest, SenderNonce, TransactionId,
};
use cmc_ca::Clock;
use cmc_ca::config::{CaSettings, OcspSettings, ResponderSettings};
use cmc_ca::{
    CA_PROFILE, CLIENT_CREDENTIAL_PROFILE, CaKey, Engine, EngineConfig, EnrollSecret, LoadedCa,
    NewCa, OCSP_RESPONDER_PROFILE,
};
use cmc_codec::identity::{
    ProofHash, identity_key, link_key, pop_link_witness_attribute, pop_link_witness_v2,
};
use cmc_codec::{CmsSigner, RequestBuilder, VerifiedResponse, build_csr_with_attributes};
use cmc_keys::{FileKey, HashAlg, KeySpec, SignatureScheme};
use cmc_policy::{NameSpace, ProfileSet};
use cmc_store::{CertFilter, CertStatus, ClientRole, PageRequest, UnixTime};
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{CrlReason, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

use crate::common::{Env, ids, single_failure, statuses, verify};

pub const P256: SignatureScheme = SignatureScheme::Ecdsa(HashAlg::Sha256);
/// The one-time secret the tests register.
pub const SECRET: &str = "7QK2-M9XD-4TZB-W1RA";
pub const DAY: i64 = 86_400;
/// The body part id of the senderNonce every request sent with
/// [`Rig::send`] carries.
pub const NONCE_ID: BodyPartId = 900;
/// Body part ids of a shared-secret request ([`Rig::secret_request`]).
pub const SECRET_REQUEST_ID: BodyPartId = 2;
pub const IDENTIFICATION_ID: BodyPartId = 3;
pub const PROOF_ID: BodyPartId = 4;
pub const LINK_RANDOM_ID: BodyPartId = 5;

/// The subject of the CMC responder certificate of [`Rig::with_responders`].
pub const CMC_RESPONDER_SUBJECT: &str = "CN=CMC responder,O=cmc-ca tests";
/// The subject of the delegated OCSP responder of [`Rig::with_responders`].
pub const OCSP_RESPONDER_SUBJECT: &str = "CN=ca OCSP responder,O=cmc-ca tests";

/// Profiles with the one a CMC responder certificate is issued with.
const RESPONDER_PROFILES: &str = r#"
default_profile = "default"
[profile.default]
[profile.cmc-responder]
validity_days = 30
key_usage = ["digitalSignature"]
extended_key_usage = ["id-kp-cmcCA"]
"#;

/// A key and the certificate that signs with it.
pub struct Party {
    pub key: FileKey,
    pub cert: Certificate,
}

/// An engine over a temporary store with one CA, "ca".
pub struct Rig {
    pub env: Env,
    pub engine: Engine,
    pub ca: Arc<LoadedCa>,
    pub config: EngineConfig,
}

impl Rig {
    /// The built-in profile set and the default limits.
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// The default configuration changed by `tweak`.
    pub fn with(tweak: impl FnOnce(&mut EngineConfig)) -> Self {
        let env = Env::new();
        env.create("ca", KeySpec::P256, P256, None, 365);
        let mut config = EngineConfig::default();
        tweak(&mut config);
        let engine = load(&env, config.clone());
        let ca = engine.ca("ca").unwrap();
        Self {
            env,
            engine,
            ca,
            config,
        }
    }

    /// The profiles of `toml`, default limits.
    pub fn profiles(toml: &str) -> Self {
        let profiles = ProfileSet::from_toml(toml).unwrap();
        Self::with(|c| c.profiles = profiles)
    }

    /// A CA with a CMC responder certificate (`[ca.ca.responder]`,
    /// [`CMC_RESPONDER_SUBJECT`]) and a delegated OCSP responder
    /// ([`OCSP_RESPONDER_SUBJECT`]). Returns the CMC responder certificate.
    pub fn with_responders() -> (Self, Certificate) {
        let mut rig = Self::profiles(RESPONDER_PROFILES);
        let responder_key = rig.env.file_key("cmc-responder", P256);
        let (_, key) = responder_key.generate(KeySpec::P256).unwrap();
        let csr = cmc_codec::build_csr(
            key.as_ref(),
            Name::from_str(CMC_RESPONDER_SUBJECT).unwrap(),
            Vec::new(),
        )
        .unwrap();
        let request = cmc_policy::Request::from_cert_req(&csr).unwrap();
        let responder = rig
            .engine
            .issue(
                "ca",
                Some("cmc-responder"),
                &request,
                "test-admin",
                &csr.to_der().unwrap(),
            )
            .unwrap()
            .certificate;
        let path = rig
            .env
            .write_cert("cmc-responder.pem", &responder.to_der().unwrap());
        let (ocsp_key, _) = rig
            .env
            .file_key("ocsp-responder", P256)
            .generate(KeySpec::P256)
            .unwrap();
        let settings = CaSettings {
            responder: Some(ResponderSettings {
                certificate: path,
                key: responder_key,
            }),
            ocsp: Some(OcspSettings {
                key: Some(ocsp_key),
                responder_subject: Some(OCSP_RESPONDER_SUBJECT.into()),
                responder_validity_hours: 7 * 24,
                responder_renew_hours: 48,
                ..OcspSettings::default()
            }),
            ..CaSettings::default()
        };
        rig.reload(|c| c.cas = BTreeMap::from([("ca".to_owned(), settings)]));
        (rig, responder)
    }

    /// Loads the engine again over the same store, with the configuration
    /// changed by `tweak`.
    pub fn reload(&mut self, tweak: impl FnOnce(&mut EngineConfig)) {
        tweak(&mut self.config);
        self.engine = load(&self.env, self.config.clone());
        self.ca = self.engine.ca("ca").unwrap();
    }

    /// Another engine over the same store with the same configuration
    /// (another node of the same CA).
    pub fn another_node(&self) -> Engine {
        load(&self.env, self.config.clone())
    }

    pub fn now(&self) -> UnixTime {
        self.env.clock.now()
    }

    /// A registered client of "ca" with a new P-256 key and a credential
    /// for `subject`, granted every CA and profile.
    pub fn client(
        &self,
        id: &str,
        subject: &str,
        role: ClientRole,
        names: Option<NameSpace>,
    ) -> Party {
        let (key, cred) =
            crate::common::credential_with_names(&self.engine, "ca", id, subject, role, names);
        Party {
            key,
            cert: Certificate::from_der(&cred.certificate_der).unwrap(),
        }
    }

    /// An intermediate CA `name` under "ca", loaded in this engine.
    pub fn sub_ca(&self, name: &str) -> Arc<LoadedCa> {
        self.engine
            .create_ca(&NewCa {
                name: name.into(),
                subject: format!("CN=cmc-ca test {name},O=cmc-ca tests,C=SE"),
                validity_days: 100,
                key: CaKey::Generate {
                    spec: KeySpec::P256,
                    config: self.env.file_key(name, P256),
                },
                path_len: None,
                issuer: Some("ca".into()),
                requester: "test-admin".into(),
            })
            .unwrap()
    }

    /// Registers a one-time enrollment secret [`SECRET`] for
    /// `identification`, valid for a day.
    pub fn add_secret(
        &self,
        identification: &str,
        profile: Option<&str>,
        names: Option<NameSpace>,
    ) {
        self.engine
            .add_enroll_secret(&EnrollSecret {
                names,
                ca: "ca".into(),
                identification: identification.into(),
                secret: Zeroizing::new(SECRET.into()),
                hash: ProofHash::Sha256,
                profile: profile.map(Into::into),
                expires_at: self.now().plus_secs(DAY),
                requester: "test-admin".into(),
            })
            .unwrap();
    }

    pub fn secret(&self, identification: &str) -> cmc_store::SecretRecord {
        self.env
            .store
            .get_secret("ca", identification)
            .unwrap()
            .expect("a registered secret")
    }

    /// A request with a fresh senderNonce ([`NONCE_ID`]) and what `build`
    /// adds.
    pub fn builder(&self, build: impl FnOnce(&mut RequestBuilder)) -> RequestBuilder {
        let mut b = RequestBuilder::new();
        b.control(NONCE_ID, &SenderNonce(OctetString::new(nonce()).unwrap()))
            .unwrap();
        build(&mut b);
        b
    }

    /// `b` signed by `party` at the engine clock's time.
    pub fn sign(&self, b: &RequestBuilder, party: &Party) -> Vec<u8> {
        b.sign(
            &CmsSigner::new(&party.key, &party.cert, &[]).unwrap(),
            self.now().to_system_time(),
        )
        .unwrap()
    }

    /// Sends a Full PKI Request to "ca".
    pub fn post(&self, der: &[u8]) -> CmcReply {
        self.engine
            .handle_full("ca", der, &Transport::default())
            .unwrap()
    }

    /// Builds (with a fresh senderNonce), signs by `party` and sends.
    pub fn send(&self, party: &Party, build: impl FnOnce(&mut RequestBuilder)) -> CmcReply {
        self.post(&self.sign(&self.builder(build), party))
    }

    /// The reply's response, its signature verified under the CA.
    pub fn verify(&self, reply: &CmcReply) -> VerifiedResponse {
        verify(reply, &self.ca, self.now())
    }

    /// The one status of `reply`, a failure: (failInfo, bodyList).
    pub fn refused(&self, reply: &CmcReply) -> (CmcFailInfo, Vec<BodyPartId>) {
        single_failure(&self.verify(reply))
    }

    /// Every status of `reply`: (status, failInfo, bodyList).
    pub fn outcome(
        &self,
        reply: &CmcReply,
    ) -> Vec<(CmcStatus, Option<CmcFailInfo>, Vec<BodyPartId>)> {
        statuses(&self.verify(reply))
            .into_iter()
            .map(|s| (s.status, s.fail_info, ids(&s.body_list)))
            .collect()
    }

    /// The one certificate `reply` issued, under a single success status.
    pub fn issued_cert(&self, reply: &CmcReply) -> Certificate {
        let resp = self.verify(reply);
        let s = statuses(&resp);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].status, CmcStatus::Success, "{s:?}");
        let mut issued = resp.issued_by(self.ca.certificate());
        assert_eq!(issued.len(), 1, "{s:?}");
        issued.pop().unwrap().clone()
    }

    /// The certificates of "ca" signed for requests (not a credential, CA
    /// or responder certificate; not a failed issuance), revoked or not.
    pub fn issued(&self) -> Vec<cmc_store::CertRecord> {
        self.env
            .store
            .list_certs(
                &CertFilter {
                    issuer: Some("ca".into()),
                    ..CertFilter::default()
                },
                PageRequest::first(1000),
            )
            .unwrap()
            .items
            .into_iter()
            .filter(|r| {
                ![
                    CLIENT_CREDENTIAL_PROFILE,
                    CA_PROFILE,
                    OCSP_RESPONDER_PROFILE,
                    "cmc-responder",
                ]
                .contains(&r.profile.as_str())
            })
            .filter(|r| matches!(r.status(), CertStatus::Issued | CertStatus::Revoked))
            .collect()
    }

    /// Whether the store has `cert` (of "ca") as revoked or on hold.
    pub fn is_revoked(&self, cert: &Certificate) -> bool {
        let serial = cmc_ca::x509::store_serial(cert.tbs_certificate().serial_number()).unwrap();
        self.env
            .store
            .get_cert("ca", &serial)
            .unwrap()
            .expect("a certificate of this CA")
            .revocation()
            .is_some()
    }

    /// How many requests wait for an agent.
    pub fn pending_count(&self) -> usize {
        self.env
            .store
            .list_pending(
                &cmc_store::PendingFilter::default(),
                PageRequest::first(1000),
            )
            .unwrap()
            .items
            .len()
    }

    /// How many certificates of "ca" are revoked (or on hold).
    pub fn revoked_count(&self) -> usize {
        self.env.store.list_revoked("ca").unwrap().len()
    }

    /// A certificate for `subject` (and dNSName subjectAltNames `dns`)
    /// enrolled by `ra` for a new key the test holds. Moves the clock on a
    /// second.
    pub fn enroll(&self, ra: &Party, subject: &str, dns: &[&str]) -> Party {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let reply = self.send(ra, |b| {
            b.pkcs10(1, csr(&key, subject, dns)).unwrap();
        });
        let cert = self.issued_cert(&reply);
        self.env.clock.advance(1);
        Party { key, cert }
    }

    /// A revokeRequest for `cert` of "ca".
    pub fn revoke_of(&self, cert: &Certificate, reason: CrlReason) -> RevokeRequest {
        RevokeRequest {
            issuer_name: self.ca.subject().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
            reason,
            invalidity_date: None,
            passphrase: None,
            comment: None,
        }
    }

    /// A Full PKI Request signed with the requested key (sid = its
    /// subjectKeyIdentifier) under a one-time secret, as `ask` says, with
    /// what `extra` adds before the identity proof is computed. Returns the
    /// DER and the key.
    pub fn secret_request(
        &self,
        ask: &SecretAsk<'_>,
        extra: impl FnOnce(&mut RequestBuilder),
    ) -> (Vec<u8>, FileKey) {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let random = [0x5a; 64];
        let attributes = match ask.link {
            Some(secret) => {
                let hash = ProofHash::Sha256;
                let witness =
                    pop_link_witness_v2(hash, &link_key(hash, secret.as_bytes()), &random).unwrap();
                vec![pop_link_witness_attribute(&witness).unwrap()]
            }
            None => Vec::new(),
        };
        let subject = if ask.subject.is_empty() {
            Name::default()
        } else {
            Name::from_str(ask.subject).unwrap()
        };
        let csr =
            build_csr_with_attributes(&key, subject, san_extensions(ask.dns), attributes).unwrap();
        let mut b = self.builder(|b| {
            b.pkcs10(SECRET_REQUEST_ID, csr).unwrap();
        });
        if ask.random {
            b.control(
                LINK_RANDOM_ID,
                &PopLinkRandom(OctetString::new(random).unwrap()),
            )
            .unwrap();
        }
        extra(&mut b);
        let der = self.secret_sign(&mut b, ask, &key);
        (der, key)
    }

    /// Adds identification and identityProofV2 (over the reqSequence as it
    /// is now) for `ask` to `b`, and signs it with `key` (sid = its
    /// subjectKeyIdentifier).
    pub fn secret_sign(
        &self,
        b: &mut RequestBuilder,
        ask: &SecretAsk<'_>,
        key: &FileKey,
    ) -> Vec<u8> {
        b.control(
            IDENTIFICATION_ID,
            &Identification(ask.identification.into()),
        )
        .unwrap();
        let ik = identity_key(
            ProofHash::Sha256,
            ask.secret.as_bytes(),
            Some(ask.identification),
        );
        b.identity_proof_v2(PROOF_ID, ProofHash::Sha256, &ik)
            .unwrap();
        b.sign(
            &CmsSigner::self_signed(key).unwrap(),
            self.now().to_system_time(),
        )
        .unwrap()
    }
}

/// How [`Rig::secret_request`] builds a shared-secret request.
#[derive(Clone, Copy, Debug)]
pub struct SecretAsk<'a> {
    pub identification: &'a str,
    /// The secret the identityProofV2 is made with.
    pub secret: &'a str,
    /// The secret the popLinkWitnessV2 in the CSR is made with (none
    /// without).
    pub link: Option<&'a str>,
    /// Whether the popLinkRandom control is sent.
    pub random: bool,
    pub subject: &'a str,
    pub dns: &'a [&'a str],
}

impl Default for SecretAsk<'_> {
    fn default() -> Self {
        Self {
            identification: "alice",
            secret: SECRET,
            link: Some(SECRET),
            random: true,
            subject: "CN=alice.example.test",
            dns: &[],
        }
    }
}

fn load(env: &Env, config: EngineConfig) -> Engine {
    Engine::load(Arc::clone(&env.store), Arc::new(env.clock.clone()), config).unwrap()
}

/// 16 random octets.
pub fn nonce() -> [u8; 16] {
    let mut n = [0u8; 16];
    getrandom::fill(&mut n).unwrap();
    n
}

/// A subjectAltName extension with dNSNames `dns` (none if empty).
pub fn san_extensions(dns: &[&str]) -> Vec<x509_cert::ext::Extension> {
    if dns.is_empty() {
        return Vec::new();
    }
    let names = dns
        .iter()
        .map(|d| GeneralName::DnsName(Ia5String::new(d).unwrap()))
        .collect();
    vec![cmc_ca::x509::extension(&SubjectAltName(names), false).unwrap()]
}

/// A PKCS #10 request by `key` for `subject` and dNSNames `dns`.
pub fn csr(key: &FileKey, subject: &str, dns: &[&str]) -> CertReq {
    cmc_codec::build_csr(key, Name::from_str(subject).unwrap(), san_extensions(dns)).unwrap()
}

/// The dNSName subjectAltNames of `cert`.
pub fn dns_names(cert: &Certificate) -> Vec<String> {
    cert.tbs_certificate()
        .get_extension::<SubjectAltName>()
        .unwrap()
        .map(|(_, san)| san.0)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| match n {
            GeneralName::DnsName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

/// A CRMF request by `key` for `subject` without proof of possession (for
/// an RA to vouch for with lraPOPWitness).
pub fn crmf_without_pop(key: &FileKey, id: BodyPartId, subject: &str) -> cmc_asn1::CertReqMsg {
    let mut crm = cmc_codec::build_crmf(
        key,
        id,
        CertTemplate {
            subject: Some(Name::from_str(subject).unwrap()),
            ..CertTemplate::default()
        },
    )
    .unwrap();
    crm.popo = None;
    crm
}

/// A name space: the exact subject `subject` (if any) and dNSNames `dns`.
pub fn names(subject: Option<&str>, dns: &[&str]) -> NameSpace {
    let mut space = NameSpace::new();
    if let Some(s) = subject {
        space.set_subject(s).unwrap();
    }
    for d in dns {
        space.add_dns(d).unwrap();
    }
    space
}

/// What a response echoed of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Echoed {
    pub recipient_nonce: Option<Vec<u8>>,
    pub transaction_id: Option<Vec<u8>>,
    pub data_return: Vec<Vec<u8>>,
    pub response_info: Vec<Vec<u8>>,
}

pub fn echoed(resp: &VerifiedResponse) -> Echoed {
    let r = &resp.pki_response;
    Echoed {
        recipient_nonce: r
            .unique_control::<RecipientNonce>()
            .unwrap()
            .map(|(_, n)| n.0.as_bytes().to_vec()),
        transaction_id: r
            .unique_control::<TransactionId>()
            .unwrap()
            .map(|(_, t)| t.0.as_bytes().to_vec()),
        data_return: r
            .controls_of::<DataReturn>()
            .unwrap()
            .into_iter()
            .map(|(_, d)| d.0.as_bytes().to_vec())
            .collect(),
        response_info: r
            .controls_of::<ResponseInfo>()
            .unwrap()
            .into_iter()
            .map(|(_, i)| i.0.as_bytes().to_vec())
            .collect(),
    }
}
