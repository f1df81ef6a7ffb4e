//! `request` and `enroll`: the CMC client side. Build a Full PKI Request
//! (PKCS #10 or CRMF, with a fresh senderNonce), sign it with the signer's
//! certificate and key, and either write it or POST it and take the
//! certificate out of the verified response.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use cmc_asn1::{
    BatchRequests, BodyPartId, BodyPartReference, CertTemplate, DecryptedPop, EncryptedPop,
    Identification, PopLinkRandom, QueryPending, RecipientNonce, RevokeRequest, SenderNonce,
    TaggedContentInfo, TaggedRequest, TransactionId,
};
use cmc_codec::envelope::{open_challenge, the_pop};
use cmc_codec::identity::{
    ProofHash, identity_key, link_key, pop_link_witness_attribute, pop_link_witness_control,
    pop_link_witness_v2,
};
use cmc_codec::{
    CmsSigner, RequestBuilder, ResponseStatus, ResponseVerifyOptions, VerifiedResponse,
    build_crmf_for_decryption, build_crmf_with_controls, build_csr_with_attributes,
    decode_response,
};
use cmc_keys::{FileKey, KeySpec, SecretSource, SigningKey};
use cms::content_info::ContentInfo;
use der::asn1::GeneralizedTime;
use der::asn1::{Int, OctetString};
use der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

use crate::Io;
use crate::cli::{
    BuildArgs, EnrollArgs, NewKeyPassphraseArgs, PassphraseArgs, RequestArgs, RevokeArgs,
};
use crate::commands::secret::given_secret;
use crate::inspect::{decode_cert, pem, read_certificates, summarize};
use crate::{http, tls};

/// The body part identifiers of what we put into PKIData.
const NONCE_ID: BodyPartId = 1;
const TRANSACTION_ID: BodyPartId = 2;
const REQUEST_ID: BodyPartId = 3;
const IDENTIFICATION_ID: BodyPartId = 4;
const IDENTITY_PROOF_ID: BodyPartId = 5;
const LINK_RANDOM_ID: BodyPartId = 6;
const BATCH_ID: BodyPartId = 7;
const REVOKE_ID: BodyPartId = 4;
const QUERY_ID: BodyPartId = 9;
/// The first decryptedPOP control id of a second round (then 9, 10, ...).
const FIRST_DECRYPTED_POP_ID: BodyPartId = 8;
/// The first cmsSequence id of `--nested` requests (then 101, 102, ...).
const FIRST_NESTED_ID: BodyPartId = 100;

/// Adds each `--nested` file (a DER Full PKI Request) to the cmsSequence;
/// returns their body part ids.
fn add_nested(
    builder: &mut RequestBuilder,
    files: &[std::path::PathBuf],
) -> Result<Vec<BodyPartId>> {
    let mut ids = Vec::new();
    for (path, id) in files.iter().zip(FIRST_NESTED_ID..) {
        let der = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let content_info = ContentInfo::from_der(&der)
            .map_err(|e| anyhow!("--nested {}: not a CMS ContentInfo: {e}", path.display()))?;
        builder.content(TaggedContentInfo {
            body_part_id: id,
            content_info,
        })?;
        ids.push(id);
    }
    Ok(ids)
}

/// The media type of a Full PKI Request (RFC 5273 §3).
pub(crate) const CMC_REQUEST_CONTENT_TYPE: &str = "application/pkcs7-mime; smime-type=CMC-request";

/// A signed request and the senderNonce in it.
struct Built {
    der: Vec<u8>,
    nonce: [u8; 16],
    /// The signer's key and certificate chain (leaf first), for TLS client
    /// authentication; none for a request signed with the new key.
    signer_key: Option<Arc<FileKey>>,
    signer_chain: Vec<Certificate>,
    /// The key generated for the request (--new-key), for an encryptedPOP
    /// round.
    new_key: Option<FileKey>,
    /// The transactionId sent, for a second round.
    transaction_id: Option<Int>,
}

/// `request`.
pub(crate) fn request(args: &RequestArgs, io: &mut Io<'_>) -> Result<()> {
    let built = build(&args.build)?;
    std::fs::write(&args.out, &built.der)
        .with_context(|| format!("writing {}", args.out.display()))?;
    writeln!(
        io.err,
        "wrote a Full PKI Request ({} bytes) to {}",
        built.der.len(),
        args.out.display()
    )
    .context("writing output")?;
    Ok(())
}

/// `enroll`.
pub(crate) fn enroll(args: &EnrollArgs, io: &mut Io<'_>) -> Result<()> {
    let url = http::parse_url(&args.url)?;
    let trusted = read_cert_file(&args.ca_cert, "--ca-cert")?;
    if !url.tls && (args.tls_ca.is_some() || args.tls_client_auth) {
        bail!("--tls-ca and --tls-client-auth need an https:// URL");
    }
    let built = build(&args.build)?;
    let tls = if url.tls {
        let roots = match &args.tls_ca {
            Some(path) => read_cert_file(path, "--tls-ca")?,
            None => trusted.clone(),
        };
        let client = match (&built.signer_key, args.tls_client_auth) {
            (Some(key), true) => Some((
                built.signer_chain.as_slice(),
                Arc::clone(key) as Arc<dyn SigningKey>,
            )),
            (None, true) => bail!(
                "--tls-client-auth needs a signer certificate; a shared-secret request has none"
            ),
            (_, false) => None,
        };
        Some(tls::client_config(&roots, client)?)
    } else {
        None
    };
    let endpoint = Endpoint {
        text: &args.url,
        url,
        timeout: args.timeout,
    };
    let first = exchange(&endpoint, &built, &trusted, tls.as_ref(), io)
        .and_then(|answer| {
            if answer.challenges.is_empty() {
                return Ok(answer);
            }
            // popRequired: prove possession by decrypting (RFC 5272 §6.7).
            writeln!(
                io.out,
                "encryptedPOP: {} challenge(s) opened with the new key; sending decryptedPOP",
                answer.challenges.len()
            )
            .context("writing output")?;
            let again = second_round(&built, &answer.challenges)?;
            let second = exchange(&endpoint, &again, &trusted, tls.as_ref(), io)?;
            if !second.challenges.is_empty() {
                bail!("the CA asked for encryptedPOP again");
            }
            Ok(second)
        })
        .and_then(|answer| {
            if answer.issued.is_empty() && answer.failures.is_empty() && !answer.pending.is_empty()
            {
                return Ok(answer);
            }
            if answer.issued.is_empty() {
                if answer.failures.is_empty() {
                    bail!("the response carries no certificate issued by its signer");
                }
                bail!("the CA answered {}", answer.failures.join(", "));
            }
            Ok(answer)
        });
    let Answer {
        issued,
        others,
        failures,
        pending,
        ..
    } = match first {
        Ok(answer) => answer,
        Err(e) => {
            // Nothing was issued for the new key: remove it, so that a retry
            // can use the same path.
            if let Some(key) = &args.build.new_key {
                let _ = std::fs::remove_file(key);
            }
            return Err(e);
        }
    };
    if issued.is_empty() {
        // Held for approval: nothing to write yet; the new key is kept for
        // the certificate to come.
        for token in &pending {
            writeln!(
                io.out,
                "pending: the CA holds the request for approval; ask again with \
                 --query-pending {token} (same signer and --out-cert)"
            )
            .context("writing output")?;
        }
        return Ok(());
    }
    let mut cert_pem = String::new();
    for c in &issued {
        let der = c.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?;
        let s = summarize(&der)?;
        writeln!(
            io.out,
            "issued: subject {}, serial {}, notAfter {}",
            s.subject, s.serial, s.not_after
        )
        .context("writing output")?;
        cert_pem.push_str(&pem("CERTIFICATE", &der)?);
    }
    std::fs::write(&args.out_cert, cert_pem)
        .with_context(|| format!("writing {}", args.out_cert.display()))?;
    writeln!(io.out, "certificate written to {}", args.out_cert.display())
        .context("writing output")?;
    if let Some(path) = &args.out_chain {
        let mut chain = String::new();
        for c in &others {
            chain.push_str(&pem(
                "CERTIFICATE",
                &c.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?,
            )?);
        }
        std::fs::write(path, chain).with_context(|| format!("writing {}", path.display()))?;
        writeln!(io.out, "chain written to {}", path.display()).context("writing output")?;
    }
    // Some parts failed while others were issued: what was issued is
    // written, and the failure is still the answer.
    if !failures.is_empty() {
        bail!("the CA answered {}", failures.join(", "));
    }
    Ok(())
}

/// Where requests go.
struct Endpoint<'a> {
    /// The URL as given, for messages.
    text: &'a str,
    url: http::Url,
    /// Seconds for connecting, sending and each read.
    timeout: u64,
}

/// What a verified response brought.
struct Answer {
    /// The certificates issued by the response signers (the top level and
    /// the nested responses).
    issued: Vec<Certificate>,
    /// The other certificates of the response (the CA chain).
    others: Vec<Certificate>,
    /// The statuses that were not success, for a person.
    failures: Vec<String>,
    /// encryptedPOP challenges (status popRequired), for a second round.
    challenges: Vec<EncryptedPop>,
    /// pendTokens of requests the CA holds for approval.
    pending: Vec<String>,
}

/// `revoke`: one revokeRequest (body part 4) with a fresh senderNonce,
/// signed by the signer, or unsigned with the revocation secret; the
/// response's statuses decide the exit code. A secret sent over http:// is
/// readable on the wire; a warning says so (use https://).
pub(crate) fn revoke(args: &RevokeArgs, io: &mut Io<'_>) -> Result<()> {
    let url = http::parse_url(&args.url)?;
    let trusted = read_cert_file(&args.ca_cert, "--ca-cert")?;
    let target = read_cert_file(&args.cert, "--cert")?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("--cert: no certificate"))?;
    let secret = given_secret(&args.secret)?;
    let signer = match (&args.signer_cert, &args.signer_key, &secret) {
        (Some(cert), Some(key), None) => {
            let chain = read_cert_file(cert, "--signer-cert")?;
            Some((Arc::new(signer_key(key, &args.passphrase)?), chain))
        }
        (None, None, Some(_)) => None,
        (None, None, None) => bail!(
            "sign with --signer-cert and --signer-key, or give the revocation secret with \
             --secret-file/--secret-env"
        ),
        _ => bail!("give either a signer or a revocation secret, not both"),
    };
    if secret.is_some() && !url.tls {
        writeln!(
            io.err,
            "warning: the revocation secret travels unencrypted over http://; prefer https://"
        )
        .context("writing output")?;
    }
    let invalidity_date = args
        .invalidity_date
        .map(|t| GeneralizedTime::from_system_time(t.to_system_time()))
        .transpose()
        .map_err(|e| anyhow!("--invalidity-date: {e}"))?;
    let request = RevokeRequest {
        issuer_name: target.tbs_certificate().issuer().clone(),
        serial_number: target.tbs_certificate().serial_number().clone(),
        // crl_reason leaves unspecified out (it is the CRL's default); a
        // revokeRequest names it.
        reason: cmc_ca::crl_reason(args.reason.into()).unwrap_or(CrlReason::Unspecified),
        invalidity_date,
        passphrase: secret
            .as_ref()
            .map(|s| OctetString::new(s.as_bytes()))
            .transpose()
            .map_err(|e| anyhow!("the secret: {e}"))?,
        comment: args.comment.clone(),
    };
    let (mut builder, nonce) = nonce_builder()?;
    builder.control(REVOKE_ID, &request)?;
    let (der, signer_key, signer_chain) = match signer {
        Some((key, chain)) => (
            sign_with_certificate(&builder, &key, &chain)?,
            Some(key),
            chain,
        ),
        None => (builder.unsigned()?, None, Vec::new()),
    };
    let built = Built {
        der,
        nonce,
        signer_key,
        signer_chain,
        new_key: None,
        transaction_id: None,
    };
    let tls = if url.tls {
        Some(tls::client_config(&trusted, None)?)
    } else {
        None
    };
    let endpoint = Endpoint {
        text: &args.url,
        url,
        timeout: args.timeout,
    };
    let answer = exchange(&endpoint, &built, &trusted, tls.as_ref(), io)?;
    if !answer.failures.is_empty() {
        bail!("the CA answered {}", answer.failures.join(", "));
    }
    writeln!(
        io.out,
        "revoked: serial {} ({:?})",
        summarize(&target.to_der().map_err(|e| anyhow!("{e}"))?)?.serial,
        args.reason
    )
    .context("writing output")?;
    Ok(())
}

/// Sends the request and checks the response: the certificates issued by
/// the response signer, and the other certificates of the response.
fn exchange(
    endpoint: &Endpoint<'_>,
    built: &Built,
    trusted: &[Certificate],
    tls: Option<&Arc<rustls::ClientConfig>>,
    io: &mut Io<'_>,
) -> Result<Answer> {
    let reply = http::post(
        &endpoint.url,
        CMC_REQUEST_CONTENT_TYPE,
        &built.der,
        Duration::from_secs(endpoint.timeout.max(1)),
        tls,
    )
    .with_context(|| format!("POST {}", endpoint.text))?;
    if reply.status != 200 {
        let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(512)])
            .trim()
            .to_owned();
        bail!(
            "the server answered HTTP {} {}{}",
            reply.status,
            reply.reason,
            if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            }
        );
    }
    match reply.content_type.as_deref() {
        Some(ct)
            if ct
                .to_ascii_lowercase()
                .starts_with("application/pkcs7-mime") => {}
        other => bail!(
            "the server answered HTTP 200 with Content-Type {}, not application/pkcs7-mime",
            other.unwrap_or("(none)")
        ),
    }
    let response = decode_response(
        &reply.body,
        &ResponseVerifyOptions::new(SystemTime::now(), trusted),
    )
    .map_err(|e| anyhow!("the response does not verify: {e}"))?;
    let echoed: Vec<RecipientNonce> = response
        .pki_response
        .controls_of::<RecipientNonce>()
        .map_err(|e| anyhow!("recipientNonce does not decode: {e}"))?
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    match echoed.as_slice() {
        [n] if n.0.as_bytes() == built.nonce => {}
        [] => bail!("the response has no recipientNonce"),
        [_] => bail!("the response's recipientNonce is not the senderNonce we sent"),
        _ => bail!("the response has more than one recipientNonce"),
    }
    let mut pending = Vec::new();
    let mut failures = report(&response, "", &mut pending, io)?;
    let Some(ca) = response.signer.certificate() else {
        bail!("the response signer has no certificate");
    };
    let mut issued: Vec<Certificate> = response.issued_by(ca).into_iter().cloned().collect();
    // Answers to nested requests (RFC 5272 §7.1), each a signed PKIResponse
    // in the cmsSequence.
    for item in &response.pki_response.cms_sequence {
        let der = item
            .content_info
            .to_der()
            .map_err(|e| anyhow!("re-encoding a nested response: {e}"))?;
        let nested = decode_response(
            &der,
            &ResponseVerifyOptions::new(SystemTime::now(), trusted),
        )
        .map_err(|e| anyhow!("nested response {} does not verify: {e}", item.body_part_id))?;
        let prefix = format!("nested {}: ", item.body_part_id);
        failures.extend(report(&nested, &prefix, &mut pending, io)?);
        if let Some(signer) = nested.signer.certificate() {
            issued.extend(nested.issued_by(signer).into_iter().cloned());
        }
    }
    let challenges: Vec<EncryptedPop> = response
        .pki_response
        .controls_of::<EncryptedPop>()
        .map_err(|e| anyhow!("encryptedPOP does not decode: {e}"))?
        .into_iter()
        .map(|(_, c)| c)
        .collect();

    let others = response
        .certificates
        .iter()
        .filter(|c| !issued.contains(c))
        .cloned()
        .collect();
    Ok(Answer {
        issued,
        others,
        failures,
        challenges,
        pending,
    })
}

/// Prints every status of `response` (after `prefix`); returns the ones
/// that are neither success nor pending, as `prefix + status (failInfo)`,
/// and adds the pendTokens of pending ones to `pending`.
fn report(
    response: &VerifiedResponse,
    prefix: &str,
    pending: &mut Vec<String>,
    io: &mut Io<'_>,
) -> Result<Vec<String>> {
    let statuses = response
        .statuses()
        .map_err(|e| anyhow!("the response's status does not decode: {e}"))?;
    if statuses.is_empty() {
        bail!("{prefix}the response carries no status");
    }
    let mut failures = Vec::new();
    for s in &statuses {
        writeln!(io.out, "{prefix}{}", status_line(s)).context("writing output")?;
        if let (cmc_asn1::CmcStatus::Pending, Some(info)) = (s.status, &s.pend_info) {
            pending.push(String::from_utf8_lossy(info.pend_token.as_bytes()).into_owned());
            continue;
        }
        if s.status != cmc_asn1::CmcStatus::Success {
            failures.push(match s.fail_info {
                Some(f) => format!("{prefix}{} ({})", s.status.name(), f.name()),
                None => format!("{prefix}{}", s.status.name()),
            });
        }
    }
    Ok(failures)
}

/// One status, for a person: `status: failed, failInfo: badIdentity, bodyList: 3`.
pub(crate) fn status_line(s: &ResponseStatus) -> String {
    let mut line = format!("status: {}", s.status.name());
    if let Some(f) = s.fail_info {
        line.push_str(&format!(", failInfo: {}", f.name()));
    }
    line.push_str(&format!(", bodyList: [{}]", body_list(&s.body_list)));
    if let Some(text) = &s.status_string {
        line.push_str(&format!(", statusString: {text:?}"));
    }
    line
}

/// A bodyList as `1, 2, 3/4`.
pub(crate) fn body_list(list: &[BodyPartReference]) -> String {
    list.iter()
        .map(|r| match r {
            BodyPartReference::BodyPartId(id) => id.to_string(),
            BodyPartReference::BodyPartPath(p) => {
                p.0.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn read_cert_file(path: &Path, what: &str) -> Result<Vec<Certificate>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    read_certificates(&bytes)
        .with_context(|| format!("{what} {}", path.display()))?
        .iter()
        .map(|der| decode_cert(der))
        .collect()
}

pub(crate) fn signer_key(path: &Path, p: &PassphraseArgs) -> Result<FileKey> {
    let key = match (&p.passphrase_env, &p.passphrase_file, p.unencrypted_key) {
        (Some(var), None, false) => FileKey::load(path, &SecretSource::Env(var.clone())),
        (None, Some(file), false) => FileKey::load(path, &SecretSource::File(file.clone())),
        (None, None, true) => FileKey::load_unencrypted(path),
        (None, None, false) => bail!(
            "the signer key's passphrase: give --passphrase-env VAR or --passphrase-file PATH, \
             or --unencrypted-key"
        ),
        _ => bail!("give only one of --passphrase-env, --passphrase-file and --unencrypted-key"),
    };
    key.with_context(|| format!("loading the signer key {}", path.display()))
}

fn new_key_source(p: &NewKeyPassphraseArgs) -> Result<Option<SecretSource>> {
    match (
        &p.new_key_passphrase_env,
        &p.new_key_passphrase_file,
        p.new_key_unencrypted,
    ) {
        (Some(var), None, false) => Ok(Some(SecretSource::Env(var.clone()))),
        (None, Some(file), false) => Ok(Some(SecretSource::File(file.clone()))),
        (None, None, true) => Ok(None),
        (None, None, false) => bail!(
            "refusing to write the new key without encryption: name where its passphrase is \
             with --new-key-passphrase-env VAR or --new-key-passphrase-file PATH, or say \
             --new-key-unencrypted"
        ),
        _ => bail!(
            "give only one of --new-key-passphrase-env, --new-key-passphrase-file and \
             --new-key-unencrypted"
        ),
    }
}

fn read_csr(path: &Path) -> Result<CertReq> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let csr = if bytes.starts_with(b"-----BEGIN") {
        CertReq::from_pem(&bytes)
    } else {
        CertReq::from_der(&bytes)
    };
    csr.map_err(|e| anyhow!("{}: not a PKCS #10 request: {e}", path.display()))
}

fn parse_transaction_id(text: &str) -> Result<Int> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.is_empty() || digits.len() > 32 || digits.len() % 2 != 0 {
        bail!("--transaction-id {text:?}: give 1 to 16 bytes as an even number of hex digits");
    }
    let bytes = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| anyhow!("--transaction-id {text:?}: not hex"))?;
    // A positive INTEGER in minimal two's complement: no redundant leading
    // zero octets, and one zero octet where the top bit would read as a sign.
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut minimal = Vec::with_capacity(bytes.len() + 1);
    if bytes[first] & 0x80 != 0 {
        minimal.push(0);
    }
    minimal.extend_from_slice(&bytes[first..]);
    Int::new(&minimal).map_err(|e| anyhow!("--transaction-id: {e}"))
}

/// A RequestBuilder holding a fresh 16-byte senderNonce (body part 1),
/// and that nonce, to check the recipientNonce against.
pub(crate) fn nonce_builder() -> Result<(RequestBuilder, [u8; 16])> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| anyhow!("no randomness for the nonce: {e}"))?;
    let mut builder = RequestBuilder::new();
    builder.control(
        NONCE_ID,
        &SenderNonce(OctetString::new(nonce).map_err(|e| anyhow!("nonce: {e}"))?),
    )?;
    Ok((builder, nonce))
}

/// Signs the PKIData now with `key` and `chain` (the signer certificate
/// first, then its issuers).
fn sign_with_certificate(
    builder: &RequestBuilder,
    key: &FileKey,
    chain: &[Certificate],
) -> Result<Vec<u8>> {
    let (cert, rest) = chain
        .split_first()
        .ok_or_else(|| anyhow!("--signer-cert: no certificate"))?;
    let signer = CmsSigner::new(key, cert, rest)?;
    Ok(builder.sign(&signer, SystemTime::now())?)
}

/// Who signs the request.
enum Auth {
    /// A certificate and its key.
    Certificate {
        key: Arc<FileKey>,
        chain: Vec<Certificate>,
    },
    /// The new key itself, proving nothing more (for an RA to wrap).
    SelfSigned,
    /// The new key itself, with an enrollment secret.
    Secret {
        identification: String,
        secret: Zeroizing<String>,
        hash: ProofHash,
    },
}

fn auth(args: &BuildArgs) -> Result<Auth> {
    let secret = given_secret(&args.secret)?;
    if args.self_signed {
        return Ok(Auth::SelfSigned);
    }
    match (
        &args.identification,
        secret,
        &args.signer_cert,
        &args.signer_key,
    ) {
        (Some(identification), Some(secret), None, None) => Ok(Auth::Secret {
            identification: identification.clone(),
            secret,
            hash: args.proof_hash.into(),
        }),
        (Some(_), None, _, _) => {
            bail!("--identification needs the secret: --secret-file PATH or --secret-env VAR")
        }
        (None, Some(_), _, _) => bail!("--secret-file/--secret-env need --identification"),
        (None, None, Some(cert), Some(key_path)) => {
            let chain = read_cert_file(cert, "--signer-cert")?;
            let key = signer_key(key_path, &args.passphrase)?;
            Ok(Auth::Certificate {
                key: Arc::new(key),
                chain,
            })
        }
        _ => bail!(
            "sign the request with --signer-cert and --signer-key, or prove identity with \
             --identification and --secret-file/--secret-env"
        ),
    }
}

fn build(args: &BuildArgs) -> Result<Built> {
    let transaction_id = args
        .transaction_id
        .as_deref()
        .map(parse_transaction_id)
        .transpose()?;
    let auth = auth(args)?;
    if let Auth::Certificate { key, chain } = &auth {
        let (cert, rest) = chain
            .split_first()
            .ok_or_else(|| anyhow!("--signer-cert: no certificate"))?;
        CmsSigner::new(key.as_ref(), cert, rest)
            .map_err(|e| anyhow!("--signer-key does not belong to --signer-cert: {e}"))?;
    }

    let (mut builder, nonce) = nonce_builder()?;
    if let Some(id) = &transaction_id {
        builder.control(TRANSACTION_ID, &TransactionId(id.clone()))?;
    }
    // popLinkRandom and the witness over it: every request a secret
    // authenticates links the new key to it (RFC 5272 §6.3.1). A
    // queryPending has no new key to link.
    let link = match &auth {
        Auth::Secret { secret, hash, .. } if args.new_key.is_some() => {
            let mut random = [0u8; 64];
            getrandom::fill(&mut random).map_err(|e| anyhow!("no randomness: {e}"))?;
            let witness = pop_link_witness_v2(*hash, &link_key(*hash, secret.as_bytes()), &random)?;
            builder.control(
                LINK_RANDOM_ID,
                &PopLinkRandom(OctetString::new(random).map_err(|e| anyhow!("{e}"))?),
            )?;
            Some(witness)
        }
        _ => None,
    };

    let nested_ids = add_nested(&mut builder, &args.nested)?;
    if args.batch {
        builder.control(BATCH_ID, &BatchRequests(nested_ids))?;
    }
    if let Some(token) = &args.query_pending {
        builder.control(
            QUERY_ID,
            &QueryPending(OctetString::new(token.as_bytes()).map_err(|e| anyhow!("{e}"))?),
        )?;
    }
    let new_key = match (&args.csr, &args.new_key) {
        (None, None) if !args.nested.is_empty() || args.query_pending.is_some() => None,
        (Some(path), None) => {
            builder.pkcs10(REQUEST_ID, read_csr(path)?)?;
            None
        }
        (None, Some(out_key)) => {
            let Some(subject) = &args.subject else {
                bail!("--new-key needs --subject");
            };
            let subject = cmc_ca::x509::parse_name(subject)?;
            let source = new_key_source(&args.new_key_passphrase)?;
            if out_key.exists() {
                bail!("{} exists: refusing to overwrite a key", out_key.display());
            }
            let new_key = FileKey::generate(args.key_type.unwrap_or(KeySpec::P256))?;
            if args.encryption_only {
                if matches!(new_key.spec(), KeySpec::P521) {
                    bail!(
                        "--encryption-only needs an RSA, P-256 or P-384 --key-type (P-521 keys \
                         cannot be sent an encryptedPOP here)"
                    );
                }
                let template = CertTemplate {
                    subject: Some(subject),
                    ..CertTemplate::default()
                };
                builder.crmf(build_crmf_for_decryption(
                    new_key.public_key(),
                    REQUEST_ID,
                    template,
                )?)?;
            } else if args.crmf {
                let template = CertTemplate {
                    subject: Some(subject),
                    ..CertTemplate::default()
                };
                let controls = match &link {
                    Some(w) => vec![pop_link_witness_control(w)?],
                    None => Vec::new(),
                };
                builder.crmf(build_crmf_with_controls(
                    &new_key, REQUEST_ID, template, controls,
                )?)?;
            } else {
                let attributes = match &link {
                    Some(w) => vec![pop_link_witness_attribute(w)?],
                    None => Vec::new(),
                };
                builder.pkcs10(
                    REQUEST_ID,
                    build_csr_with_attributes(&new_key, subject, Vec::new(), attributes)?,
                )?;
            }
            match &source {
                Some(s) => new_key.store(out_key, s),
                None => new_key.store_unencrypted(out_key),
            }
            .with_context(|| format!("writing the new key {}", out_key.display()))?;
            Some(new_key)
        }
        _ => bail!("give either --csr FILE or --new-key OUT_KEY --subject DN"),
    };
    let (der, signer_key, signer_chain) = match auth {
        Auth::Certificate { key, chain } => (
            sign_with_certificate(&builder, &key, &chain)?,
            Some(key),
            chain,
        ),
        Auth::SelfSigned => {
            let Some(new_key) = &new_key else {
                bail!("--self-signed needs --new-key: the new key signs the request");
            };
            let der = builder.sign(&CmsSigner::self_signed(new_key)?, SystemTime::now())?;
            (der, None, Vec::new())
        }
        Auth::Secret {
            identification,
            secret,
            hash,
            ..
        } => {
            // The identity proof covers the reqSequence, so it comes last;
            // the new key signs (sid = its subjectKeyIdentifier), or, for a
            // queryPending, the key of the held request.
            let held = args
                .held_key
                .as_deref()
                .map(|path| signer_key(path, &args.passphrase))
                .transpose()?;
            let Some(signing_key) = new_key.as_ref().or(held.as_ref()) else {
                bail!(
                    "--identification needs --new-key (the new key signs the request), or with \
                     --query-pending the --held-key of the held request"
                );
            };
            builder.control(IDENTIFICATION_ID, &Identification(identification.clone()))?;
            let key = identity_key(hash, secret.as_bytes(), Some(&identification));
            builder.identity_proof_v2(IDENTITY_PROOF_ID, hash, &key)?;
            let der = builder.sign(&CmsSigner::self_signed(signing_key)?, SystemTime::now())?;
            (der, None, Vec::new())
        }
    };
    Ok(Built {
        der,
        nonce,
        signer_key,
        signer_chain,
        new_key,
        transaction_id,
    })
}

/// The second round of RFC 5272 §6.7 for the encryptedPOP `challenges`:
/// each challenge opened with the new key (and its witness checked), the
/// same requests again with a decryptedPOP each, a fresh senderNonce and
/// the same transactionId, signed by the same signer.
fn second_round(built: &Built, challenges: &[EncryptedPop]) -> Result<Built> {
    let Some(key) = &built.new_key else {
        bail!(
            "the CA asks for an encryptedPOP round, but this request has no new key to answer with"
        );
    };
    let (Some(signer_key), false) = (&built.signer_key, built.signer_chain.is_empty()) else {
        bail!("the CA asks for an encryptedPOP round, which needs a signer certificate");
    };
    let (mut builder, nonce) = nonce_builder()?;
    if let Some(id) = &built.transaction_id {
        builder.control(TRANSACTION_ID, &TransactionId(id.clone()))?;
    }
    for (challenge, control_id) in challenges.iter().zip(FIRST_DECRYPTED_POP_ID..) {
        let TaggedRequest::Crm(crm) = &challenge.request else {
            bail!("the encryptedPOP names a request that is not CRMF");
        };
        if crm.cert_req.cert_template.public_key.as_ref() != Some(key.public_key()) {
            bail!("the encryptedPOP is for a request with another key");
        }
        let id = crm
            .cert_req
            .body_part_id()
            .map_err(|e| anyhow!("the encryptedPOP's request: {e}"))?;
        if ProofHash::from_hmac_oid(&challenge.the_pop_alg_id.oid) != Some(ProofHash::Sha256) {
            bail!(
                "the encryptedPOP asks for thePOPAlgID {}, not hmacWithSHA256",
                challenge.the_pop_alg_id.oid
            );
        }
        let opened = open_challenge(
            &challenge.cms,
            id,
            key,
            &challenge.witness_alg_id,
            challenge.witness.as_bytes(),
        )
        .context("opening the encryptedPOP challenge")?;
        let the_pop = the_pop(&opened, &crm.to_der().map_err(|e| anyhow!("{e}"))?)?;
        builder.crmf(crm.as_ref().clone())?;
        builder.control(
            control_id,
            &DecryptedPop {
                body_part_id: id,
                the_pop_alg_id: challenge.the_pop_alg_id.clone(),
                the_pop: OctetString::new(the_pop).map_err(|e| anyhow!("{e}"))?,
            },
        )?;
    }
    let der = sign_with_certificate(&builder, signer_key, &built.signer_chain)?;
    Ok(Built {
        der,
        nonce,
        signer_key: built.signer_key.clone(),
        signer_chain: built.signer_chain.clone(),
        new_key: None,
        transaction_id: built.transaction_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_encode_as_minimal_positive_integers() {
        for (text, der) in [
            ("0badcafe", &[0x02, 0x04, 0x0b, 0xad, 0xca, 0xfe][..]),
            ("ff", &[0x02, 0x02, 0x00, 0xff][..]),
            ("0x000001", &[0x02, 0x01, 0x01][..]),
            ("00", &[0x02, 0x01, 0x00][..]),
        ] {
            let id = TransactionId(parse_transaction_id(text).unwrap());
            let encoded = id.to_der().unwrap();
            assert_eq!(&encoded[..], der, "{text}");
            assert_eq!(TransactionId::from_der(&encoded).unwrap(), id, "{text}");
        }
        for bad in ["", "abc", "zz", &"00".repeat(17)] {
            assert!(parse_transaction_id(bad).is_err(), "{bad:?}");
        }
    }
}
