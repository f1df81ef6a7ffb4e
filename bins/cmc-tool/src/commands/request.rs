//! `request`: build a Full PKI Request (PKCS #10 or CRMF, with a fresh
//! senderNonce; or a queryPending, or nested requests for an RA), sign it
//! with the signer's certificate and key (or the new key, with a one-time
//! secret) and write it. `enroll` sends what this builds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_asn1::{
    BatchRequests, BodyPartId, CertTemplate, Identification, PopLinkRandom, QueryPending,
    SenderNonce, TaggedContentInfo, TransactionId,
};
use cmc_codec::authenticated::{authenticate, password};
use cmc_codec::identity::{
    ProofHash, identity_key, link_key, pop_link_witness_attribute, pop_link_witness_control,
    pop_link_witness_v2,
};
use cmc_codec::{
    CmsSigner, RequestBuilder, build_crmf_for_decryption, build_crmf_with_controls,
    build_csr_with_attributes,
};
use cmc_keys::{FileKey, KeySpec, SecretSource, SigningKey};
use cms::content_info::ContentInfo;
use der::asn1::{Int, OctetString};
use der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

use crate::Io;
use crate::commands::args::{GivenSecretArgs, PassphraseArgs, ProofHashArg};
use crate::commands::secret::given_secret;
use crate::inspect::{decode_cert, read_certificates};

/// `request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// What the request is built from.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Write the DER request here.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: PathBuf,
}

/// What the Full PKI Request is built from (`request` and `enroll`).
///
/// It is signed either by a certificate and its key (`--signer-cert`,
/// `--signer-key`: a registered client, or the holder of a certificate of
/// the CA renewing it), or, for a first certificate, by the new key itself
/// with a one-time enrollment secret as proof of identity
/// (`--identification` and `--secret-file`/`--secret-env`).
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The certificate that signs the request (PEM or DER; further PEM
    /// certificates in the file are sent along as its chain).
    #[arg(
        long,
        value_name = "PEM",
        required_unless_present_any = ["identification", "self_signed"],
        requires = "signer_key"
    )]
    pub signer_cert: Option<PathBuf>,
    /// The signer's key file.
    #[arg(long, value_name = "KEY", requires = "signer_cert")]
    pub signer_key: Option<PathBuf>,
    /// Prove identity with the enrollment secret registered under this
    /// identification (`cmc-tool secret add`): identityProofV2 over the
    /// request, which the new key signs (RFC 5272 §6.2).
    #[arg(
        long,
        value_name = "ID",
        conflicts_with_all = ["signer_cert", "csr"]
    )]
    pub identification: Option<String>,
    /// With --query-pending and --identification: the key the held request
    /// was made with (the one `enroll` kept), which signs the query. Its
    /// passphrase as for a signer key (--passphrase-file, --passphrase-env,
    /// --unencrypted-key).
    #[arg(long, value_name = "KEY", requires_all = ["query_pending", "identification"])]
    pub held_key: Option<PathBuf>,
    /// Where the enrollment secret is (with --identification).
    #[command(flatten)]
    pub secret: GivenSecretArgs,
    /// With --identification: wrap the PKIData in an AuthenticatedData
    /// keyed by the secret (RFC 5272 §3.2: PBKDF2-HMAC-SHA256 over the
    /// identification and the secret, aes256-wrap, HMAC-SHA256) instead of
    /// signing it with the new key and adding identityProofV2.
    #[arg(long, requires = "identification")]
    pub authenticated_data: bool,
    /// Sign with the new key and prove nothing more: an end entity's
    /// request for an RA to wrap (`enroll --nested`).
    #[arg(
        long,
        conflicts_with_all = ["signer_cert", "identification", "csr"],
        requires = "new_key"
    )]
    pub self_signed: bool,
    /// Wrap this end entity's Full PKI Request (DER, from `cmc-tool
    /// request`) in the cmsSequence (RFC 5272 §7.1); repeat for several.
    /// For an RA.
    #[arg(long, value_name = "FILE")]
    pub nested: Vec<PathBuf>,
    /// Name the --nested requests in a batchRequests control, so that the
    /// answers come back in batchResponses.
    #[arg(long, requires = "nested")]
    pub batch: bool,
    /// Ask about a request the CA holds for approval (the pendToken it
    /// answered with) instead of sending a new one.
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["csr", "new_key", "nested"])]
    pub query_pending: Option<String>,
    /// The hash family of the proofs (as registered with the secret).
    #[arg(
        long,
        value_name = "HASH",
        default_value = "sha256",
        requires = "identification"
    )]
    pub proof_hash: ProofHashArg,
    /// Where the signer key's passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Encrypt the signed request to this certificate (PEM or DER), the
    /// CA's encryption certificate (RFC 5272 §5: an EnvelopedData around
    /// the SignedData). An answer that comes back encrypted is opened with
    /// the signer key.
    #[arg(long, value_name = "PEM")]
    pub encrypt_to: Option<PathBuf>,
    /// Send this PKCS #10 request (PEM or DER) as it is.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["new_key", "crmf"],
        required_unless_present_any = ["new_key", "nested", "query_pending"]
    )]
    pub csr: Option<PathBuf>,
    /// Generate a new key, write it here (mode 0600) and request a
    /// certificate for it.
    #[arg(long, value_name = "OUT_KEY", requires = "subject")]
    pub new_key: Option<PathBuf>,
    /// The subject of the new key's request, as in RFC 4514.
    #[arg(long, value_name = "DN", requires = "new_key")]
    pub subject: Option<String>,
    /// The new key's type (default p256).
    #[arg(long, value_name = "TYPE", requires = "new_key")]
    pub key_type: Option<KeySpec>,
    /// Where the new key file's passphrase is.
    #[command(flatten)]
    pub new_key_passphrase: NewKeyPassphraseArgs,
    /// Send a CRMF request (crm, POPOSigningKey) instead of PKCS #10 (tcr).
    #[arg(long, requires = "new_key")]
    pub crmf: bool,
    /// The new key is for encryption (RSA) or key agreement (P-256,
    /// P-384) only: send CRMF with POPO keyEncipherment or keyAgreement,
    /// and prove possession by decrypting the CA's encryptedPOP challenge
    /// in a second round (RFC 5272 §6.7).
    #[arg(
        long,
        requires = "new_key",
        conflicts_with_all = ["identification", "self_signed"]
    )]
    pub encryption_only: bool,
    /// The new key is for key agreement (P-256, P-384): prove possession in
    /// the PKCS #10 request with a MAC under the key agreed with this ECDH
    /// certificate of the CA (its `[ca.NAME.encryption]` certificate; RFC
    /// 6955 §6, DH-POP), in one round.
    #[arg(
        long,
        value_name = "CERT",
        requires = "new_key",
        conflicts_with_all = ["crmf", "encryption_only", "self_signed"]
    )]
    pub dh_pop_to: Option<PathBuf>,
    /// Add a transactionId control with this value (hex, at most 16 bytes).
    #[arg(long, value_name = "HEX")]
    pub transaction_id: Option<String>,
}

/// Where the new key file's passphrase comes from; at most one.
#[derive(Debug, Default, Args)]
#[group(multiple = false)]
pub struct NewKeyPassphraseArgs {
    /// Read the new key's passphrase from this environment variable.
    #[arg(long, value_name = "VAR", requires = "new_key")]
    pub new_key_passphrase_env: Option<String>,
    /// Read the new key's passphrase from this file (less one trailing newline).
    #[arg(long, value_name = "PATH", requires = "new_key")]
    pub new_key_passphrase_file: Option<PathBuf>,
    /// Write the new key file without encryption.
    #[arg(long, requires = "new_key")]
    pub new_key_unencrypted: bool,
}

/// The body part identifiers of what we put into PKIData.
const NONCE_ID: BodyPartId = 1;
pub(crate) const TRANSACTION_ID: BodyPartId = 2;
const REQUEST_ID: BodyPartId = 3;
const IDENTIFICATION_ID: BodyPartId = 4;
const IDENTITY_PROOF_ID: BodyPartId = 5;
const LINK_RANDOM_ID: BodyPartId = 6;
const BATCH_ID: BodyPartId = 7;
pub(crate) const REVOKE_ID: BodyPartId = 4;
const QUERY_ID: BodyPartId = 9;
/// The first decryptedPOP control id of a second round (then 9, 10, ...).
pub(crate) const FIRST_DECRYPTED_POP_ID: BodyPartId = 8;
/// The first cmsSequence id of `--nested` requests (then 101, 102, ...).
const FIRST_NESTED_ID: BodyPartId = 100;

/// Adds each `--nested` file (a DER Full PKI Request) to the cmsSequence;
/// returns their body part ids.
fn add_nested(builder: &mut RequestBuilder, files: &[PathBuf]) -> Result<Vec<BodyPartId>> {
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

/// A signed request and the senderNonce in it.
pub(crate) struct Built {
    pub(crate) der: Vec<u8>,
    pub(crate) nonce: [u8; 16],
    /// The signer's key and certificate chain (leaf first), for TLS client
    /// authentication; none for a request signed with the new key.
    pub(crate) signer_key: Option<Arc<FileKey>>,
    pub(crate) signer_chain: Vec<Certificate>,
    /// The key generated for the request (--new-key), for an encryptedPOP
    /// round.
    pub(crate) new_key: Option<FileKey>,
    /// The transactionId sent, for a second round.
    pub(crate) transaction_id: Option<Int>,
    /// The certificate the request is encrypted to (--encrypt-to).
    pub(crate) encrypt_to: Option<Certificate>,
    /// The shared secret's PBKDF2 password (identification ‖ secret), to
    /// check the authData control of the answer with.
    pub(crate) password: Option<Zeroizing<Vec<u8>>>,
}

/// `request`.
pub(crate) fn run(args: &RequestArgs, io: &mut Io<'_>) -> Result<()> {
    let built = build(&args.build)?;
    let der = built.wire()?;
    std::fs::write(&args.out, &der).with_context(|| format!("writing {}", args.out.display()))?;
    writeln!(
        io.err,
        "wrote a Full PKI Request ({} bytes{}) to {}",
        der.len(),
        if built.encrypt_to.is_some() {
            ", encrypted"
        } else {
            ""
        },
        args.out.display()
    )
    .context("writing output")?;
    Ok(())
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

pub(crate) fn new_key_source(p: &NewKeyPassphraseArgs) -> Result<Option<SecretSource>> {
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

pub(crate) fn read_csr(path: &Path) -> Result<CertReq> {
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
pub(crate) fn sign_with_certificate(
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

pub(crate) fn build(args: &BuildArgs) -> Result<Built> {
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
                let csr = match &args.dh_pop_to {
                    Some(cert) => dh_pop_csr(&new_key, subject, attributes, cert)?,
                    None => build_csr_with_attributes(&new_key, subject, Vec::new(), attributes)?,
                };
                builder.pkcs10(REQUEST_ID, csr)?;
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
    let (der, signer_key, signer_chain, password) = match auth {
        Auth::Certificate { key, chain } => (
            sign_with_certificate(&builder, &key, &chain)?,
            Some(key),
            chain,
            None,
        ),
        Auth::SelfSigned => {
            let Some(new_key) = &new_key else {
                bail!("--self-signed needs --new-key: the new key signs the request");
            };
            let der = builder.sign(&CmsSigner::self_signed(new_key)?, SystemTime::now())?;
            (der, None, Vec::new(), None)
        }
        Auth::Secret {
            identification,
            secret,
            ..
        } if args.authenticated_data => {
            // The identification names the secret; the MAC covers the
            // whole PKIData (RFC 5272 §3.2), so no key signs it.
            builder.control(IDENTIFICATION_ID, &Identification(identification.clone()))?;
            let password = password(&identification, secret.as_bytes());
            let der = authenticate(
                cmc_asn1::oid::ID_CCT_PKI_DATA,
                &builder
                    .pki_data()
                    .to_der()
                    .map_err(|e| anyhow!("PKIData: {e}"))?,
                &password,
                SystemTime::now(),
            )?;
            (der, None, Vec::new(), Some(password))
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
            (
                der,
                None,
                Vec::new(),
                Some(password(&identification, secret.as_bytes())),
            )
        }
    };
    let encrypt_to = match &args.encrypt_to {
        Some(path) => {
            let mut certs = read_cert_file(path, "--encrypt-to")?;
            if certs.len() != 1 {
                bail!("--encrypt-to {}: give one certificate", path.display());
            }
            certs.pop()
        }
        None => None,
    };
    Ok(Built {
        der,
        nonce,
        signer_key,
        signer_chain,
        new_key,
        transaction_id,
        encrypt_to,
        password,
    })
}

/// A PKCS #10 request for `key` whose proof of possession is a static-ECDH MAC for the CA's
/// ECDH certificate in the file `recipient` (RFC 6955 §6), the hash matched to the curve.
fn dh_pop_csr(
    key: &FileKey,
    subject: x509_cert::name::Name,
    extra: Vec<x509_cert::attr::Attribute>,
    recipient: &Path,
) -> Result<CertReq> {
    let hash = match key.spec() {
        KeySpec::P256 => ProofHash::Sha256,
        KeySpec::P384 => ProofHash::Sha384,
        other => bail!("--dh-pop-to needs a P-256 or P-384 --key-type, not {other}"),
    };
    let bytes =
        std::fs::read(recipient).with_context(|| format!("reading {}", recipient.display()))?;
    let der = read_certificates(&bytes)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{}: no certificate", recipient.display()))?;
    let cert = Certificate::from_der(&der)?;
    let point = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let zz = key.ecdh_shared_secret(point).with_context(|| {
        format!(
            "no key agreement with the certificate in {} (another curve?)",
            recipient.display()
        )
    })?;
    let mut attributes = x509_cert::attr::Attributes::new();
    for attr in extra {
        attributes.insert(attr)?;
    }
    let info = x509_cert::request::CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject,
        public_key: key.public_key().clone(),
        attributes,
    };
    Ok(cmc_codec::dhpop::sign_dh_pop(info, hash, &cert, &zz)?)
}

#[cfg(test)]
mod tests {
    use der::Encode;

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
