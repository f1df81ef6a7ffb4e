//! The command line, as clap derives it.
//!
//! Secrets (key passphrases, PINs) have no flag of their own: only the name
//! of an environment variable or the path of a file that holds them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cmc_keys::{KeySpec, SignatureScheme};
use cmc_store::{CertStatus, ClientRole, RevocationReason, UnixTime};

use crate::time::parse_rfc3339;

/// Administer a CMC certificate authority (CAs, clients, profiles,
/// certificates and CRLs), and enroll with one as a CMC client.
#[derive(Debug, Parser)]
#[command(name = "cmc-tool", version, propagate_version = true)]
pub struct Cli {
    /// The configuration file shared with cmc-server (default: ./cmc.toml
    /// if it exists, otherwise the built-in defaults).
    #[arg(long, global = true, env = "CMC_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Certificate authorities: create, list, show, export.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Registered CMC clients (end entities, RAs, agents).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Issuance profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Issued certificates: list, show, revoke.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCommand),
    /// One-time enrollment secrets (first certificates with identityProofV2).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Requests waiting for approval (profiles with require_approval).
    #[command(subcommand)]
    Pending(PendingCommand),
    /// CMC client: build a signed Full PKI Request and write it (DER).
    Request(Box<RequestArgs>),
    /// CMC client: build a signed Full PKI Request, POST it to a CMC server,
    /// verify the response and write the issued certificate.
    Enroll(Box<EnrollArgs>),
    /// CMC client: ask a CMC server to revoke a certificate (revokeRequest,
    /// RFC 5272 §6.11), signed by an RA, agent or the holder, or unsigned
    /// with the certificate's revocation secret.
    Revoke(Box<RevokeArgs>),
    /// Decode a CMC request or response and print what it holds.
    Show(ShowArgs),
    /// CMC client: a load generator for a server on this host (loopback
    /// only): N pre-built enrollments over C connections, latency and
    /// throughput, and the server's signature cost per enrollment.
    Bench(Box<BenchArgs>),
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
    /// Add a transactionId control with this value (hex, at most 16 bytes).
    #[arg(long, value_name = "HEX")]
    pub transaction_id: Option<String>,
}

/// A hash family of shared-secret proofs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProofHashArg {
    /// SHA-1 / HMAC-SHA1 (only where the CA allows it).
    Sha1,
    /// SHA-256 / HMAC-SHA256.
    Sha256,
    /// SHA-384 / HMAC-SHA384.
    Sha384,
    /// SHA-512 / HMAC-SHA512.
    Sha512,
}

impl From<ProofHashArg> for cmc_codec::identity::ProofHash {
    fn from(h: ProofHashArg) -> Self {
        match h {
            ProofHashArg::Sha1 => Self::Sha1,
            ProofHashArg::Sha256 => Self::Sha256,
            ProofHashArg::Sha384 => Self::Sha384,
            ProofHashArg::Sha512 => Self::Sha512,
        }
    }
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

/// `enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The CMC server's URL, e.g. `http://ca.example:8080/cmc/root` or
    /// `https://ca.example/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The certificate(s) the response signer must be or chain to (PEM or DER).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: PathBuf,
    /// What the request is built from.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Write the issued certificate (PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out_cert: PathBuf,
    /// Write the other certificates of the response (the CA chain, PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out_chain: Option<PathBuf>,
    /// For an https:// URL: the certificate(s) that the server's TLS
    /// certificate must chain to (PEM or DER); default: --ca-cert.
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// For an https:// URL: present the signer certificate (and its chain)
    /// as the TLS client certificate, signing with the signer key, for
    /// servers that require the TLS client to be the CMS signer.
    #[arg(long)]
    pub tls_client_auth: bool,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// `revoke` (the CMC client one; `cert revoke` works on the store).
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The CMC server's URL, e.g. `http://ca.example:8080/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The certificate(s) the response signer must be or chain to (PEM or DER).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: PathBuf,
    /// The certificate to revoke (PEM or DER): its issuer and serial go
    /// into the revokeRequest.
    #[arg(long, value_name = "PEM")]
    pub cert: PathBuf,
    /// The CRLReason.
    #[arg(long, value_enum)]
    pub reason: ReasonArg,
    /// When the key was (or may have been) compromised, RFC 3339.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub invalidity_date: Option<UnixTime>,
    /// A comment for the CA's records.
    #[arg(long)]
    pub comment: Option<String>,
    /// The certificate that signs the request (an RA's, an agent's, or the
    /// holder's); leave out to send an unsigned request with the
    /// revocation secret.
    #[arg(long, value_name = "PEM", requires = "signer_key")]
    pub signer_cert: Option<PathBuf>,
    /// The signer's key file.
    #[arg(long, value_name = "KEY", requires = "signer_cert")]
    pub signer_key: Option<PathBuf>,
    /// Where the signer key's passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The certificate's revocation secret (`cmc-tool secret
    /// add-revocation`), for an unsigned request.
    #[command(flatten)]
    pub secret: GivenSecretArgs,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The CMC server's URL on this host, e.g. `http://127.0.0.1:8080/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The CA certificate(s) the responses must verify against (PEM or DER);
    /// the first one's key type is the CA's for the crypto figures.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: PathBuf,
    /// The certificate that signs the requests (an RA's, PEM or DER).
    #[arg(long, value_name = "PEM")]
    pub signer_cert: PathBuf,
    /// The signer's key file.
    #[arg(long, value_name = "KEY")]
    pub signer_key: PathBuf,
    /// Where the signer key's passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// How many enrollments to send.
    #[arg(
        short = 'n',
        long = "requests",
        value_name = "N",
        default_value_t = 2000
    )]
    pub requests: usize,
    /// How many concurrent connections (threads) send them.
    #[arg(short = 'c', long, value_name = "C", default_value_t = 8)]
    pub concurrency: usize,
    /// The requested keys' type (default p256).
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<KeySpec>,
    /// How many times each signature operation is timed.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub crypto_iterations: usize,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The CMC request or response (DER, BER or PEM).
    pub file: PathBuf,
    /// Verify signatures at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub at: Option<UnixTime>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a self-signed root CA, or an intermediate under a stored CA.
    Init(Box<CaInitArgs>),
    /// List the CAs.
    List(JsonFlag),
    /// End a CA's bootstrap auto-approvals now (see `ca init --auto-approve`).
    LockAutoApprove {
        /// The CA's name.
        name: String,
    },
    /// Show one CA: subject, serial, validity, key and where the key is.
    Show {
        /// The CA's name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a CA certificate (PEM unless --der), optionally with its chain.
    Export {
        /// The CA's name.
        name: String,
        /// DER instead of PEM (one certificate; not with --chain).
        #[arg(long, conflicts_with = "chain")]
        der: bool,
        /// Append the issuer certificates up to the root.
        #[arg(long)]
        chain: bool,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ca init`.
#[derive(Debug, Args)]
pub struct CaInitArgs {
    /// The new CA's name (1-64 of A-Z a-z 0-9 - _ .).
    pub name: String,
    /// The subject, as in RFC 4514, most specific first: "CN=Example Root CA,O=Example,C=SE".
    #[arg(long)]
    pub subject: String,
    /// Key type: p256, p384, p521, rsa2048, rsa3072, rsa4096 (default p384;
    /// for --existing-key, the key's own type).
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<KeySpec>,
    /// Signature scheme, e.g. ecdsa-sha384, rsa-pss-sha256 (default: the
    /// one that fits the key type).
    #[arg(long)]
    pub scheme: Option<SignatureScheme>,
    /// Days of validity (an intermediate's is cut at its parent's notAfter).
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// The stored CA that signs this one (omit for a self-signed root).
    #[arg(long, value_name = "CA")]
    pub parent: Option<String>,
    /// The pathLenConstraint (default: none for a root, one less than the
    /// parent's for an intermediate).
    #[arg(long, value_name = "N")]
    pub path_len: Option<u8>,
    /// Issue the CA's first N requests that a profile holds for approval
    /// without an agent (the bootstrap of the first administrators, as
    /// caucase does). Fixed now; `ca lock-auto-approve` ends it early.
    #[arg(long, value_name = "N")]
    pub auto_approve: Option<u32>,
    /// Use a key that already exists (file or token) instead of generating one.
    #[arg(long)]
    pub existing_key: bool,
    /// The key file (default DATA_DIR/keys/NAME.key, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Where the key file's passphrase is.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// A key on a PKCS#11 token.
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

/// Where a file key's passphrase comes from; at most one.
#[derive(Debug, Default, Args)]
#[group(multiple = false)]
pub struct PassphraseArgs {
    /// Read the key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Read the key passphrase from this file (less one trailing newline).
    #[arg(long, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
    /// Write (or read) the key file without encryption.
    #[arg(long)]
    pub unencrypted_key: bool,
}

/// A key on a PKCS#11 token.
#[derive(Debug, Default, Args)]
pub struct Pkcs11Args {
    /// The PKCS#11 module (shared library).
    #[arg(
        long,
        value_name = "PATH",
        requires = "token",
        conflicts_with_all = ["key_file", "passphrase_env", "passphrase_file", "unencrypted_key"]
    )]
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub token: Option<String>,
    /// The key's label (CKA_LABEL).
    #[arg(long, value_name = "L", requires = "pkcs11_module")]
    pub key_label: Option<String>,
    /// The key's id (CKA_ID), in hex.
    #[arg(long, value_name = "HEX", requires = "pkcs11_module")]
    pub key_id: Option<String>,
    /// Read the user PIN from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "pkcs11_module",
        conflicts_with = "pin_file"
    )]
    pub pin_env: Option<String>,
    /// Read the user PIN from this file (less one trailing newline).
    #[arg(long, value_name = "PATH", requires = "pkcs11_module")]
    pub pin_file: Option<PathBuf>,
}

/// `pending ...`
#[derive(Debug, Subcommand)]
pub enum PendingCommand {
    /// List requests (all, or the undecided ones with --waiting).
    List {
        /// Only this CA's.
        #[arg(long)]
        ca: Option<String>,
        /// Only the requests still waiting for a decision.
        #[arg(long)]
        waiting: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one request: who asked, what, and the decision.
    Show {
        /// The request's id (its pendToken).
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve: issue the certificate now (the client fetches it with
    /// queryPending).
    Approve {
        /// The request's id.
        id: String,
        /// Issue with this subject (RFC 4514) instead of the requested one;
        /// the profile still decides what goes in.
        #[arg(long, value_name = "DN")]
        subject: Option<String>,
        /// Issue with these DNS names in the subjectAltName instead of the
        /// requested ones (repeat for several).
        #[arg(long, value_name = "NAME")]
        dns: Vec<String>,
    },
    /// Reject, with a reason the client sees.
    Reject {
        /// The request's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `secret ...`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Register a one-time enrollment secret for a person or device. A new
    /// random secret is printed once (or the secret is taken from
    /// --secret-file/--secret-env); the store keeps only the keys derived
    /// from it (RFC 5272 §6.2.1).
    Add(Box<SecretAddArgs>),
    /// Register the secret with which the holder of one certificate may
    /// revoke it by an unsigned revokeRequest (RFC 5272 §6.11). A new
    /// random secret is printed once (or taken from --secret-file or
    /// --secret-env); only its SHA-256 is stored.
    AddRevocation {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The certificate's serial number, in hex.
        #[arg(long, value_name = "HEX")]
        serial: String,
        /// When it stops working: a duration from now (`30m`, `12h`,
        /// `365d`) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN", default_value = "365d")]
        expires: String,
        /// Where to take the secret from instead of generating one.
        #[command(flatten)]
        secret: GivenSecretArgs,
    },
    /// Unlock a secret that failed identity proofs locked (and clear its
    /// count of failures).
    Unlock {
        /// The CA of the secret.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Its identification.
        #[arg(long, value_name = "ID")]
        identification: String,
    },
    /// List the enrollment and revocation secrets (never the secrets).
    List {
        /// Only this CA's.
        #[arg(long)]
        ca: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `secret add`.
#[derive(Debug, Args)]
pub struct SecretAddArgs {
    /// The CA the secret enrolls with.
    #[arg(long)]
    pub ca: String,
    /// The identification the client sends with it (unique per CA).
    #[arg(long, value_name = "ID")]
    pub identification: String,
    /// The profile its certificate gets (default: the CA's default).
    #[arg(long)]
    pub profile: Option<String>,
    /// When it stops working: a duration from now (`30m`, `12h`, `7d`) or
    /// an RFC 3339 time.
    #[arg(long, value_name = "WHEN", default_value = "7d")]
    pub expires: String,
    /// The hash family of its proofs.
    #[arg(long, value_name = "HASH", default_value = "sha256")]
    pub hash: ProofHashArg,
    /// Where to take the secret from instead of generating one.
    #[command(flatten)]
    pub secret: GivenSecretArgs,
    /// The only subject its holder may be issued, as in RFC 4514 (default:
    /// what the profile's name rules allow).
    #[arg(long, value_name = "DN")]
    pub subject: Option<String>,
    /// The names its holder may be issued.
    #[command(flatten)]
    pub names: NameArgs,
}

/// The subjectAltNames a registered client or secret may be issued: with
/// none of them and no subject, only what the profile's name rules allow.
#[derive(Debug, Args, Default)]
pub struct NameArgs {
    /// A DNS name it may be issued (repeat); `*.example.com` or
    /// `.example.com` for every name under example.com.
    #[arg(long = "dns", value_name = "NAME")]
    pub dns: Vec<String>,
    /// An e-mail address it may be issued (repeat).
    #[arg(long = "email", value_name = "ADDRESS")]
    pub email: Vec<String>,
    /// An IP address or CIDR range it may be issued (repeat).
    #[arg(long = "ip", value_name = "ADDR[/LEN]")]
    pub ip: Vec<String>,
}

impl NameArgs {
    /// The registered name space (`None` when nothing is registered).
    ///
    /// # Errors
    /// A name that does not parse.
    pub fn name_space(
        &self,
        subject: Option<&str>,
    ) -> anyhow::Result<Option<cmc_policy::NameSpace>> {
        let space = cmc_policy::NameSpace::from_args(subject, &self.dns, &self.email, &self.ip)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((!space.is_empty()).then_some(space))
    }

    /// Whether any name was given.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.email.is_empty() && self.ip.is_empty()
    }
}

/// A secret given to `secret add` (never on the command line).
#[derive(Debug, Default, Args)]
#[group(multiple = false)]
pub struct GivenSecretArgs {
    /// Read the secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Read the secret from this file (less one trailing newline).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// `client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client: an existing certificate (--cert), or a new
    /// credential issued by a CA (--issue).
    Add(Box<ClientAddArgs>),
    /// List the clients.
    List(JsonFlag),
    /// Show one client.
    Show {
        /// The client's id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Disable a client: its requests are refused from now on.
    Disable {
        /// The client's id.
        id: String,
    },
}

/// The role of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// An end entity requesting for itself.
    Client,
    /// A registration authority (its credential gets id-kp-cmcRA).
    Ra,
    /// An agent, deciding pending requests.
    Agent,
}

impl From<RoleArg> for ClientRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Client => Self::Client,
            RoleArg::Ra => Self::Ra,
            RoleArg::Agent => Self::Agent,
        }
    }
}

/// `client add`.
#[derive(Debug, Args)]
pub struct ClientAddArgs {
    /// The client's id (unique; with --issue also the base of the file names).
    pub id: String,
    /// What the client may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// A CA the client may use (repeat; default: any CA).
    #[arg(long = "ca", value_name = "NAME")]
    pub cas: Vec<String>,
    /// A profile the client may use (repeat; default: any profile).
    #[arg(long = "profile", value_name = "P")]
    pub profiles: Vec<String>,
    /// When the registration expires, RFC 3339 (e.g. 2027-01-31T00:00:00Z).
    /// With --issue the credential lives whole days, so this is rounded
    /// down to a whole number of days from now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339, conflicts_with = "days")]
    pub expires: Option<UnixTime>,
    /// Days until the registration expires (with --issue: the credential's
    /// validity, default 365; with --cert: default the certificate's notAfter).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Register this existing certificate (PEM or DER).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "issue",
        required_unless_present = "issue"
    )]
    pub cert: Option<PathBuf>,
    /// Issue a new credential (key pair and certificate) from a CA.
    #[arg(long, requires_all = ["subject", "out_dir"])]
    pub issue: bool,
    /// The CA that signs the credential (default: the one --ca given).
    #[arg(long, value_name = "NAME", requires = "issue")]
    pub issuing_ca: Option<String>,
    /// The credential's subject, as in RFC 4514. An end-entity client
    /// (`--role client`) may be issued this subject (or, with --cert, the
    /// certificate's) and nothing else.
    #[arg(long, requires = "issue")]
    pub subject: Option<String>,
    /// Where to write ID.key (mode 0600), ID.pem and ID-chain.pem.
    #[arg(long, value_name = "DIR", requires = "issue")]
    pub out_dir: Option<PathBuf>,
    /// The credential's key type (default p256).
    #[arg(long, value_name = "TYPE", requires = "issue")]
    pub key_type: Option<KeySpec>,
    /// Where the new key file's passphrase is (with --issue).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The names an end-entity client may be issued besides its subject
    /// (RAs and agents ask for others: the profiles' name rules bind them).
    #[command(flatten)]
    pub names: NameArgs,
}

/// `profile ...`
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the profiles (from the config's profiles file, or the built-in set).
    List(JsonFlag),
    /// Show one profile.
    Show {
        /// The profile's name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The status of a serial, as a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Reserved, never signed.
    Reserved,
    /// Issued and not revoked.
    Issued,
    /// Issuance failed.
    Failed,
    /// Revoked (including on hold).
    Revoked,
}

impl From<StatusArg> for CertStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Reserved => Self::Reserved,
            StatusArg::Issued => Self::Issued,
            StatusArg::Failed => Self::Failed,
            StatusArg::Revoked => Self::Revoked,
        }
    }
}

/// A CRLReason, by its RFC 5280 name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReasonArg {
    /// unspecified (0).
    #[value(name = "unspecified")]
    Unspecified,
    /// keyCompromise (1).
    #[value(name = "keyCompromise")]
    KeyCompromise,
    /// cACompromise (2).
    #[value(name = "cACompromise")]
    CaCompromise,
    /// affiliationChanged (3).
    #[value(name = "affiliationChanged")]
    AffiliationChanged,
    /// superseded (4).
    #[value(name = "superseded")]
    Superseded,
    /// cessationOfOperation (5).
    #[value(name = "cessationOfOperation")]
    CessationOfOperation,
    /// certificateHold (6): lift it again with `cert unrevoke`.
    #[value(name = "certificateHold")]
    CertificateHold,
    /// privilegeWithdrawn (9).
    #[value(name = "privilegeWithdrawn")]
    PrivilegeWithdrawn,
    /// aACompromise (10).
    #[value(name = "aACompromise")]
    AaCompromise,
}

impl From<ReasonArg> for RevocationReason {
    fn from(r: ReasonArg) -> Self {
        match r {
            ReasonArg::Unspecified => Self::Unspecified,
            ReasonArg::KeyCompromise => Self::KeyCompromise,
            ReasonArg::CaCompromise => Self::CaCompromise,
            ReasonArg::AffiliationChanged => Self::AffiliationChanged,
            ReasonArg::Superseded => Self::Superseded,
            ReasonArg::CessationOfOperation => Self::CessationOfOperation,
            ReasonArg::CertificateHold => Self::CertificateHold,
            ReasonArg::PrivilegeWithdrawn => Self::PrivilegeWithdrawn,
            ReasonArg::AaCompromise => Self::AaCompromise,
        }
    }
}

/// `cert ...`
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// List certificates (serials) of all CAs or one.
    List {
        /// Only this CA.
        #[arg(long, value_name = "NAME")]
        ca: Option<String>,
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one certificate.
    Show {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The serial number, in hex.
        serial: String,
        /// Print the certificate as PEM.
        #[arg(long, conflicts_with = "json")]
        pem: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a certificate.
    Revoke {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The serial number, in hex.
        serial: String,
        /// The CRLReason.
        #[arg(long, value_enum)]
        reason: ReasonArg,
        /// When the key was (or may have been) compromised, RFC 3339.
        #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
        invalidity_date: Option<UnixTime>,
    },
    /// Lift a certificateHold.
    Unrevoke {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// The serial number, in hex.
        serial: String,
    },
}

/// `crl ...`
#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    /// Issue a new CRL now (always), DER unless --pem.
    Generate {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        /// PEM instead of DER.
        #[arg(long)]
        pem: bool,
    },
    /// Show the current CRL (a new one is issued if it is due).
    Show {
        /// The issuing CA.
        #[arg(long, value_name = "NAME")]
        ca: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_flag_takes_a_secret_value() {
        for (args, bad) in [
            (
                &[
                    "cmc-tool",
                    "ca",
                    "init",
                    "r",
                    "--subject",
                    "CN=r",
                    "--passphrase",
                    "x",
                ][..],
                "--passphrase",
            ),
            (
                &[
                    "cmc-tool",
                    "ca",
                    "init",
                    "r",
                    "--subject",
                    "CN=r",
                    "--pin",
                    "1234",
                ][..],
                "--pin",
            ),
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{bad}");
        }
    }

    #[test]
    fn passphrase_sources_exclude_each_other() {
        let err = Cli::try_parse_from([
            "cmc-tool",
            "ca",
            "init",
            "r",
            "--subject",
            "CN=r",
            "--passphrase-env",
            "P",
            "--unencrypted-key",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let err = Cli::try_parse_from([
            "cmc-tool",
            "ca",
            "init",
            "r",
            "--subject",
            "CN=r",
            "--pkcs11-module",
            "/m.so",
            "--token",
            "t",
            "--passphrase-env",
            "P",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn reasons_use_rfc5280_names() {
        let cli = Cli::try_parse_from([
            "cmc-tool",
            "cert",
            "revoke",
            "--ca",
            "root",
            "01ab",
            "--reason",
            "keyCompromise",
            "--invalidity-date",
            "2026-01-02T03:04:05Z",
        ])
        .unwrap();
        let Command::Cert(CertCommand::Revoke {
            reason,
            invalidity_date,
            ..
        }) = cli.command
        else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(
            RevocationReason::from(reason),
            RevocationReason::KeyCompromise
        );
        assert_eq!(invalidity_date, Some(UnixTime::from_secs(1_767_323_045)));
    }

    #[test]
    fn client_add_needs_a_certificate_or_issue() {
        let err = Cli::try_parse_from(["cmc-tool", "client", "add", "c", "--role", "client"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let err = Cli::try_parse_from([
            "cmc-tool",
            "client",
            "add",
            "c",
            "--role",
            "ra",
            "--issue",
            "--subject",
            "CN=c",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn cmc_request_needs_one_key_source() {
        let base = [
            "cmc-tool",
            "request",
            "--signer-cert",
            "s.pem",
            "--signer-key",
            "s.key",
            "--unencrypted-key",
            "-o",
            "r.der",
        ];
        let err = Cli::try_parse_from(base).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let with = |extra: &[&'static str]| {
            Cli::try_parse_from(base.iter().copied().chain(extra.iter().copied()))
        };
        assert!(with(&["--csr", "c.pem"]).is_ok());
        assert!(with(&["--new-key", "k", "--subject", "CN=x", "--crmf"]).is_ok());
        for (extra, kind) in [
            (
                &["--csr", "c.pem", "--new-key", "k", "--subject", "CN=x"][..],
                clap::error::ErrorKind::ArgumentConflict,
            ),
            (
                &["--csr", "c.pem", "--crmf"][..],
                clap::error::ErrorKind::ArgumentConflict,
            ),
            (
                &["--new-key", "k"][..],
                clap::error::ErrorKind::MissingRequiredArgument,
            ),
            (
                &["--csr", "c.pem", "--new-key-unencrypted"][..],
                clap::error::ErrorKind::MissingRequiredArgument,
            ),
            (
                &[
                    "--new-key",
                    "k",
                    "--subject",
                    "CN=x",
                    "--new-key-unencrypted",
                    "--new-key-passphrase-env",
                    "P",
                ][..],
                clap::error::ErrorKind::ArgumentConflict,
            ),
        ] {
            assert_eq!(with(extra).unwrap_err().kind(), kind, "{extra:?}");
        }
    }
}
