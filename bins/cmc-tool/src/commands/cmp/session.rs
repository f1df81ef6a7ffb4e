//! One CMP transaction with a server: each request gets the transaction's
//! header (transactionID, a fresh senderNonce, the last answer's senderNonce
//! as recipNonce) and our protection; each answer is checked (the same
//! transactionID, our senderNonce as its recipNonce, its protection) before
//! anything in it is used.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use cmc_keys::{FileKey, SigningKey};
use der::asn1::{GeneralizedTime, OctetString};
use proto_cmp::{
    CmpCertificate, Limits, MacAlgorithm, PVNO_CMP2000, PkiBody, PkiHeader, PkiMessage, Protection,
    Received, decode_message,
};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectKeyIdentifier};
use zeroize::Zeroizing;

use super::status::status_text;
use super::{CommonArgs, MacArg};
use crate::commands::request::{read_cert_file, signer_key};
use crate::commands::secret::given_secret;
use crate::{http, tls};

/// The media type of CMP over HTTP (RFC 6712 §3.4).
const PKIXCMP: &str = "application/pkixcmp";
/// The path when the URL has none (RFC 9811 §3).
const DEFAULT_PATH: &str = "/.well-known/cmp";
/// PBM iterations we write (RFC 4211 §4.4 asks for at least 100; OpenSSL
/// takes up to 100 000).
const PBM_ITERATIONS: u32 = 10_000;
/// PBKDF2 iterations we write for PBMAC1.
const PBKDF2_ITERATIONS: u32 = 100_000;
/// How deep a responder's chain to --trusted may be.
const MAX_CHAIN: usize = 8;

/// How our requests are protected.
pub(crate) enum Protector {
    /// PBM or PBMAC1 with a shared secret, `senderKID` the reference.
    Mac {
        reference: Vec<u8>,
        secret: Zeroizing<Vec<u8>>,
        mac: MacArg,
    },
    /// A signature by the key of the first certificate of `chain`.
    Signature {
        key: Box<FileKey>,
        chain: Vec<Certificate>,
    },
}

/// A transaction with the server.
pub(crate) struct Session {
    client: http::Client,
    url: http::Url,
    server: String,
    protector: Protector,
    /// The extraCerts we send: the protecting chain (or --cert with a MAC),
    /// then --extra-certs.
    extra_certs: Vec<Certificate>,
    trusted: Vec<Certificate>,
    sender: GeneralName,
    recipient: GeneralName,
    transaction_id: [u8; 16],
    /// The senderNonce of the last answer, for our next recipNonce.
    recip_nonce: Option<OctetString>,
    limits: Limits,
    deadline: Instant,
    /// The protocol version of the next request.
    pub(crate) pvno: u32,
    /// The extraCerts of the last answer.
    pub(crate) last_extra_certs: Vec<Certificate>,
}

impl Session {
    /// A session from the common arguments. `sender` is our name when
    /// there is no protecting certificate (the requested subject, or the
    /// old certificate's); `default_recipient` is used without --recipient.
    pub(crate) fn new(
        args: &CommonArgs,
        sender: Option<&x509_cert::name::Name>,
        default_recipient: Option<&x509_cert::name::Name>,
    ) -> Result<Self> {
        let mut url = http::parse_url(&args.server)?;
        if url.path == "/" {
            DEFAULT_PATH.clone_into(&mut url.path);
        }
        let trusted = match &args.trusted {
            Some(path) => read_cert_file(path, "--trusted")?,
            None => Vec::new(),
        };
        let secret = given_secret(&args.secret)?;
        let cert_chain = args
            .cert
            .as_deref()
            .map(|p| read_cert_file(p, "--cert"))
            .transpose()?;
        let protector = match (&args.reference, secret, &cert_chain, &args.key) {
            (Some(reference), Some(secret), _, None) => Protector::Mac {
                reference: reference.as_bytes().to_vec(),
                secret: Zeroizing::new(secret.as_bytes().to_vec()),
                mac: args.mac,
            },
            (Some(_), Some(_), _, Some(_)) => {
                bail!("give either --ref with a secret (MAC) or --cert with --key (signature)")
            }
            (Some(_), None, _, _) => bail!("--ref needs --secret-file PATH or --secret-env VAR"),
            (None, Some(_), _, _) => bail!("--secret-file/--secret-env need --ref"),
            (None, None, Some(chain), Some(key_path)) => {
                let key = signer_key(key_path, &args.passphrase)?;
                let Some(first) = chain.first() else {
                    bail!("--cert: no certificate");
                };
                if first.tbs_certificate().subject_public_key_info() != key.public_key() {
                    bail!("--key does not belong to --cert");
                }
                Protector::Signature {
                    key: Box::new(key),
                    chain: chain.clone(),
                }
            }
            (None, None, _, _) => bail!(
                "protect the requests with --cert and --key (signature), or --ref with \
                 --secret-file/--secret-env (MAC)"
            ),
        };
        let mut extra_certs = cert_chain.clone().unwrap_or_default();
        if let Some(path) = &args.extra_certs {
            extra_certs.extend(read_cert_file(path, "--extra-certs")?);
        }
        let cert_subject = cert_chain
            .as_ref()
            .and_then(|c| c.first())
            .map(|c| c.tbs_certificate().subject().clone());
        let sender = cert_subject.or_else(|| sender.cloned()).unwrap_or_default();
        let recipient = match &args.recipient {
            Some(dn) => super::request::parse_dn(dn)?,
            None => default_recipient
                .cloned()
                .or_else(|| {
                    cert_chain
                        .as_ref()
                        .and_then(|c| c.first())
                        .map(|c| c.tbs_certificate().issuer().clone())
                })
                .unwrap_or_default(),
        };
        let tls = if url.tls {
            let roots = match &args.tls_ca {
                Some(path) => read_cert_file(path, "--tls-ca")?,
                None if !trusted.is_empty() => trusted.clone(),
                None => bail!("an https:// server needs --tls-ca or --trusted"),
            };
            Some(tls::client_config(&roots, None)?)
        } else {
            if args.tls_ca.is_some() {
                bail!("--tls-ca needs an https:// server");
            }
            None
        };
        let timeout = Duration::from_secs(args.timeout.max(1));
        let client = http::Client::new(timeout, tls.as_ref())?;
        let mut transaction_id = [0u8; 16];
        getrandom::fill(&mut transaction_id).map_err(|e| anyhow!("no randomness: {e}"))?;
        Ok(Self {
            client,
            url,
            server: args.server.clone(),
            protector,
            extra_certs,
            trusted,
            sender: GeneralName::DirectoryName(sender),
            recipient: GeneralName::DirectoryName(recipient),
            transaction_id,
            recip_nonce: None,
            limits: Limits::default(),
            deadline: Instant::now() + timeout,
            pvno: PVNO_CMP2000,
            last_extra_certs: Vec::new(),
        })
    }

    /// The certificates of --trusted.
    pub(crate) fn trusted(&self) -> &[Certificate] {
        &self.trusted
    }

    /// When the transaction must be over (--timeout from the start).
    pub(crate) const fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Sends `body` (with `implicitConfirm` in the header if asked) and
    /// returns the checked answer. An `error` answer is an error here,
    /// with its PKIStatusInfo.
    pub(crate) fn exchange(&mut self, body: PkiBody, implicit_confirm: bool) -> Result<Received> {
        let name = body.name();
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| anyhow!("no randomness: {e}"))?;
        let mut header = PkiHeader::new(self.pvno, self.sender.clone(), self.recipient.clone());
        header.message_time = GeneralizedTime::from_system_time(SystemTime::now()).ok();
        header.transaction_id = Some(octets(&self.transaction_id)?);
        header.sender_nonce = Some(octets(&nonce)?);
        header.recip_nonce.clone_from(&self.recip_nonce);
        if implicit_confirm {
            header.set_implicit_confirm();
        }
        let extra = (!self.extra_certs.is_empty()).then(|| self.extra_certs.clone());
        let message = match &self.protector {
            Protector::Mac {
                reference,
                secret,
                mac,
            } => {
                header.sender_kid = Some(octets(reference)?);
                let alg = match mac {
                    MacArg::Pbm => MacAlgorithm::pbm_sha256(PBM_ITERATIONS)?,
                    MacArg::Pbmac1 => MacAlgorithm::pbmac1_sha256(PBKDF2_ITERATIONS)?,
                };
                PkiMessage::protect_with_mac(header, body, &alg, secret, extra)?
            }
            Protector::Signature { key, chain } => {
                header.sender_kid = chain
                    .first()
                    .and_then(subject_key_id)
                    .map(|k| octets(&k))
                    .transpose()?;
                PkiMessage::protect_with_signature(
                    header,
                    body,
                    key.signature_algorithm().clone(),
                    extra,
                    |data| {
                        key.sign(data)
                            .map_err(|e| anyhow!("signing the {name}: {e}"))
                    },
                )?
            }
        };
        let der = message.to_der_bytes()?;
        let reply = self
            .client
            .post_accepting(&self.url, PKIXCMP, PKIXCMP, &der)
            .with_context(|| format!("{name}: POST {}", self.server))?;
        let is_cmp = reply
            .content_type
            .as_deref()
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(PKIXCMP));
        if !is_cmp {
            let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(512)])
                .trim()
                .to_owned();
            bail!(
                "{name}: the server answered HTTP {} {} with Content-Type {}{}",
                reply.status,
                reply.reason,
                reply.content_type.as_deref().unwrap_or("(none)"),
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {text}")
                }
            );
        }
        let received = decode_message(&reply.body, &self.limits)
            .map_err(|e| anyhow!("{name}: the answer is not a CMP message we read: {e}"))?;
        let answer = received.message.body.name();
        // Check before anything in the answer is used; an error message
        // that fails a check is still shown, marked as unauthenticated.
        if let Err(e) = self.check(&received, &nonce) {
            if let PkiBody::Error(err) = &received.message.body {
                bail!(
                    "{name}: {e:#}; the answer is an unauthenticated error message: {}",
                    status_text(&err.pki_status_info)
                );
            }
            return Err(e.context(format!("{name}: the {answer} answer is refused")));
        }
        self.recip_nonce
            .clone_from(&received.message.header.sender_nonce);
        self.last_extra_certs = received.message.extra_certs.clone().unwrap_or_default();
        if let PkiBody::Error(err) = &received.message.body {
            let mut text = status_text(&err.pki_status_info);
            if let Some(code) = err.error_code {
                text.push_str(&format!(", errorCode: {code}"));
            }
            if let Some(details) = &err.error_details {
                text.push_str(&format!(", errorDetails: {:?}", details.join(" ")));
            }
            bail!("{name}: the server answered with an error: {text}");
        }
        Ok(received)
    }

    /// The answer's transactionID, recipNonce and protection.
    fn check(&self, received: &Received, nonce: &[u8]) -> Result<()> {
        let header = &received.message.header;
        if header.transaction_id.as_ref().map(OctetString::as_bytes)
            != Some(&self.transaction_id[..])
        {
            bail!("the answer's transactionID is not ours");
        }
        if header.recip_nonce.as_ref().map(OctetString::as_bytes) != Some(nonce) {
            bail!("the answer's recipNonce is not the senderNonce we sent");
        }
        match received.protection(&self.limits.mac)? {
            Protection::None => bail!("the answer is not protected"),
            Protection::Mac(_) => match &self.protector {
                Protector::Mac { secret, .. } => received
                    .verify_mac(secret, &self.limits.mac)
                    .map(drop)
                    .map_err(|e| anyhow!("the answer's protection: {e}")),
                Protector::Signature { .. } => {
                    bail!("the answer is MAC-protected, but we share no secret with the server")
                }
            },
            Protection::Signature(_) => self.check_signature(received),
        }
    }

    /// A signature by a certificate (found by senderKID or sender name
    /// among the answer's extraCerts and --trusted) that is, or chains to,
    /// one of --trusted.
    fn check_signature(&self, received: &Received) -> Result<()> {
        if self.trusted.is_empty() {
            bail!("the answer is signed; give --trusted to check its signer");
        }
        let header = &received.message.header;
        let extra: &[CmpCertificate] = received.message.extra_certs.as_deref().unwrap_or(&[]);
        let kid = header.sender_kid.as_ref().map(OctetString::as_bytes);
        let sender = match &header.sender {
            GeneralName::DirectoryName(n) if !n.is_empty() => Some(n),
            _ => None,
        };
        let candidates = extra.iter().chain(&self.trusted).filter(|c| match kid {
            // The subjectKeyIdentifier, or the key's SHA-1 (RFC 5280
            // §4.2.1.2 method 1) for a certificate without one.
            Some(kid) => {
                cmc_ca::x509::certificate_key_identifier(c).is_ok_and(|id| id.as_slice() == kid)
            }
            None => sender.is_none_or(|s| c.tbs_certificate().subject() == s),
        });
        let now = SystemTime::now();
        let mut last =
            anyhow!("no certificate in extraCerts or --trusted matches the answer's sender");
        for cert in candidates {
            if let Err(e) =
                received.verify_signature(cert.tbs_certificate().subject_public_key_info())
            {
                last = anyhow!("the answer's signature: {e}");
                continue;
            }
            if !valid_at(cert, now) {
                last = anyhow!("the answer's signer certificate is not valid now");
                continue;
            }
            if chains_to(cert, extra, &self.trusted, now) {
                return Ok(());
            }
            last = anyhow!("the answer's signer certificate does not chain to --trusted");
        }
        Err(last)
    }
}

fn octets(bytes: &[u8]) -> Result<OctetString> {
    OctetString::new(bytes).map_err(|e| anyhow!("{e}"))
}

/// The subjectKeyIdentifier of `cert`, if it has one.
pub(crate) fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    let (_, ski) = cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .ok()
        .flatten()?;
    Some(ski.0.as_bytes().to_vec())
}

fn valid_at(cert: &Certificate, time: SystemTime) -> bool {
    let validity = cert.tbs_certificate().validity();
    validity.not_before.to_system_time() <= time && time <= validity.not_after.to_system_time()
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(
        cert.tbs_certificate().get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    )
}

/// Whether `cert` is one of `trusted` or chains to one through CA
/// certificates of `intermediates` valid at `time`.
fn chains_to(
    cert: &Certificate,
    intermediates: &[Certificate],
    trusted: &[Certificate],
    time: SystemTime,
) -> bool {
    let mut current = cert;
    for _ in 0..=MAX_CHAIN {
        if trusted.contains(current) || trusted.iter().any(|t| cmc_codec::issued_by(current, t)) {
            return true;
        }
        let next = intermediates.iter().find(|i| {
            *i != current && is_ca(i) && valid_at(i, time) && cmc_codec::issued_by(current, i)
        });
        match next {
            Some(n) => current = n,
            None => return false,
        }
    }
    false
}

/// The issuers of `cert` found in `pool`, nearest first, up to a
/// self-issued one.
pub(crate) fn chain_of(cert: &Certificate, pool: &[Certificate]) -> Vec<Certificate> {
    let mut chain: Vec<Certificate> = Vec::new();
    let mut current = cert;
    for _ in 0..=MAX_CHAIN {
        if current.tbs_certificate().issuer() == current.tbs_certificate().subject() {
            break;
        }
        let Some(next) = pool
            .iter()
            .find(|c| *c != current && !chain.contains(c) && cmc_codec::issued_by(current, c))
        else {
            break;
        };
        chain.push(next.clone());
        current = next;
    }
    chain
}

/// Writes `certs` as PEM to `path`.
pub(crate) fn write_pem(path: &Path, certs: &[Certificate]) -> Result<()> {
    use der::Encode;
    let mut text = String::new();
    for c in certs {
        let der = c.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?;
        text.push_str(&crate::inspect::pem("CERTIFICATE", &der)?);
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
