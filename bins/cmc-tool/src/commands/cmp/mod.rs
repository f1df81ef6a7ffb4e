//! `cmp`: a CMP client (RFC 4210/9480, Lightweight CMP Profile RFC 9483,
//! HTTP transfer RFC 6712) for operators who want one tool: `ir`, `cr`,
//! `kur`, `p10cr`, `rr` and `genm`, with options close to `openssl cmp`'s.
//!
//! Requests are protected with a certificate and its key (signature) or a
//! reference number and shared secret (PBM, or PBMAC1 with `--mac
//! pbmac1`); secrets come from a file or an environment variable, never
//! from the command line. Every answer must carry our transactionID and
//! our senderNonce as its recipNonce, and its protection must verify: the
//! same secret, or a signature by a certificate that is, or chains to, one
//! of `--trusted`. Certificates are confirmed with certConf (certHash of
//! RFC 4210 §5.3.18 / RFC 9480 §2.10) unless the server granted implicit
//! confirmation; a request the CA holds is polled (pollReq, checkAfter)
//! until `--timeout`.

mod enroll;
mod request;
mod session;
mod status;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use cmc_keys::KeySpec;

use crate::Io;
use crate::commands::args::{GivenSecretArgs, PassphraseArgs, ReasonArg};
use crate::commands::request::NewKeyPassphraseArgs;

/// The CMP messages the client sends.
#[derive(Debug, Subcommand)]
pub enum CmpCommand {
    /// Initialization request (ir → ip, certConf → pkiConf): a first
    /// certificate.
    Ir(Box<EnrollArgs>),
    /// Certification request (cr → cp, certConf → pkiConf): a further
    /// certificate.
    Cr(Box<EnrollArgs>),
    /// Key update request (kur → kup, certConf → pkiConf): renew
    /// `--oldcert` (default `--cert`) for a new key, protected by the old
    /// certificate's key.
    Kur(Box<KurArgs>),
    /// PKCS #10 request (p10cr → cp, certConf → pkiConf).
    P10cr(Box<P10crArgs>),
    /// Revocation request (rr → rp) for `--oldcert`.
    Rr(Box<RrArgs>),
    /// General message (genm → genp), e.g. asking for the CA certificates.
    Genm(Box<GenmArgs>),
}

/// What every CMP command needs: where the server is, how requests are
/// protected and how answers are checked.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The CMP server: `http[s]://HOST[:PORT][/PATH]`; without a path,
    /// `/.well-known/cmp`.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The recipient (the CA), RFC 4514 (`CN=CA,O=Org`) or OpenSSL's
    /// `/O=Org/CN=CA`; default: the issuer of --oldcert or --cert, else the
    /// NULL-DN.
    #[arg(long, value_name = "DN")]
    pub recipient: Option<String>,
    /// Signature protection: the protecting certificate (PEM; further
    /// certificates in the file go into extraCerts as its chain). With
    /// --ref it is only sent along in extraCerts.
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// The key of --cert, which signs the requests.
    #[arg(long, value_name = "KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Where the passphrase of --key (and of a private --newkey) is, or
    /// --unencrypted-key.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// More certificates to send in extraCerts (PEM).
    #[arg(long, value_name = "PEM")]
    pub extra_certs: Option<PathBuf>,
    /// MAC protection: the reference number (senderKID) the secret is
    /// registered under; the secret comes from --secret-file or
    /// --secret-env.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<String>,
    /// Where the shared secret of --ref is.
    #[command(flatten)]
    pub secret: GivenSecretArgs,
    /// The MAC algorithm with --ref: PasswordBasedMac (RFC 4210) or
    /// PBMAC1 (RFC 9481).
    #[arg(long, value_enum, default_value = "pbm")]
    pub mac: MacArg,
    /// The certificates that sign answers must be, or chain to (PEM).
    /// Needed for signature-protected answers; MAC-protected answers are
    /// checked with the secret.
    #[arg(long, value_name = "PEM")]
    pub trusted: Option<PathBuf>,
    /// For an https:// server: the certificates its TLS certificate must
    /// chain to (PEM); default: --trusted.
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// Write the extraCerts of the last answer here (PEM).
    #[arg(long, value_name = "FILE")]
    pub extracertsout: Option<PathBuf>,
    /// Seconds for each HTTP exchange, and for the whole transaction
    /// including polling.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
}

/// The MAC protection algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MacArg {
    /// PasswordBasedMac (RFC 4210 §5.1.3.1), SHA-256 and HMAC-SHA256.
    Pbm,
    /// PBMAC1 (RFC 9481 §6.1.2), PBKDF2-HMAC-SHA256 and HMAC-SHA256.
    Pbmac1,
}

/// How the request proves possession of the new key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PopoArg {
    /// The new key signs the request (POPOSigningKey); `1` as in
    /// `openssl cmp -popo 1`.
    #[value(alias = "1")]
    Signature,
    /// An RA vouches for the key (raVerified): for an RA, e.g. with a
    /// public key taken from an end entity's CSR; `0` as in `openssl cmp
    /// -popo 0`.
    #[value(alias = "0")]
    Raverified,
}

/// The key to be certified.
#[derive(Debug, Args)]
pub struct NewKeyArgs {
    /// The key to certify: a private key (PEM, read with the passphrase
    /// options of --key), or with `--popo raverified` a public key (PEM).
    #[arg(long, value_name = "KEY", conflicts_with = "new_key")]
    pub newkey: Option<PathBuf>,
    /// Generate the key to certify and write it here (mode 0600).
    #[arg(long, value_name = "OUT_KEY")]
    pub new_key: Option<PathBuf>,
    /// The generated key's type (default p256).
    #[arg(long, value_name = "TYPE", requires = "new_key")]
    pub key_type: Option<KeySpec>,
    /// Where the generated key file's passphrase is.
    #[command(flatten)]
    pub new_key_passphrase: NewKeyPassphraseArgs,
}

/// Where the certificates of an enrollment go.
#[derive(Debug, Args)]
pub struct CertOutArgs {
    /// Write the issued certificate here (PEM).
    #[arg(long, value_name = "FILE")]
    pub certout: PathBuf,
    /// Write the issued certificate's chain (its issuers found in the
    /// answer's extraCerts and caPubs, and --trusted) here (PEM).
    #[arg(long, value_name = "FILE")]
    pub chainout: Option<PathBuf>,
    /// Write the caPubs of the answer here (PEM).
    #[arg(long, value_name = "FILE")]
    pub cacertsout: Option<PathBuf>,
    /// Ask for implicit confirmation: if the server grants it, no certConf
    /// is sent.
    #[arg(long)]
    pub implicit_confirm: bool,
}

/// `cmp ir` and `cmp cr`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Server, protection and trust.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The key to certify.
    #[command(flatten)]
    pub key: NewKeyArgs,
    /// The subject, RFC 4514 (`CN=x,O=y`) or OpenSSL's `/O=y/CN=x`
    /// (required for ir and cr; kur defaults to the old certificate's).
    #[arg(long, value_name = "DN")]
    pub subject: Option<String>,
    /// A subjectAltName: a DNS name, an IP address or an e-mail address
    /// (with `@`); repeat for several.
    #[arg(long, value_name = "NAME")]
    pub san: Vec<String>,
    /// How possession of the new key is proven.
    #[arg(long, value_enum, default_value = "signature")]
    pub popo: PopoArg,
    /// Where the results go.
    #[command(flatten)]
    pub out: CertOutArgs,
}

/// `cmp kur`.
#[derive(Debug, Args)]
pub struct KurArgs {
    /// As for ir and cr.
    #[command(flatten)]
    pub enroll: EnrollArgs,
    /// The certificate to renew (PEM); default: --cert.
    #[arg(long, value_name = "PEM")]
    pub oldcert: Option<PathBuf>,
}

/// `cmp p10cr`.
#[derive(Debug, Args)]
pub struct P10crArgs {
    /// Server, protection and trust.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The PKCS #10 request to send (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,
    /// Where the results go.
    #[command(flatten)]
    pub out: CertOutArgs,
}

/// `cmp rr`.
#[derive(Debug, Args)]
pub struct RrArgs {
    /// Server, protection and trust.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The certificate to revoke (PEM or DER).
    #[arg(long, value_name = "PEM")]
    pub oldcert: PathBuf,
    /// The CRLReason to ask for (RFC 5280 name); default: none.
    #[arg(long, value_name = "REASON")]
    pub revreason: Option<ReasonArg>,
}

/// `cmp genm`.
#[derive(Debug, Args)]
pub struct GenmArgs {
    /// Server, protection and trust.
    #[command(flatten)]
    pub common: CommonArgs,
    /// What to ask for: caCerts, rootCaKeyUpdate, certReqTemplate, crls,
    /// or a dotted OID; repeat for several (default caCerts).
    #[arg(long, value_name = "TYPE")]
    pub infotype: Vec<String>,
    /// Write the CA certificates of a caCerts answer here (PEM).
    #[arg(long, value_name = "FILE")]
    pub cacertsout: Option<PathBuf>,
}

/// `cmp`.
pub(crate) fn run(cmd: &CmpCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        CmpCommand::Ir(args) => enroll::run_crmf(enroll::Kind::Ir, args, None, io),
        CmpCommand::Cr(args) => enroll::run_crmf(enroll::Kind::Cr, args, None, io),
        CmpCommand::Kur(args) => {
            enroll::run_crmf(enroll::Kind::Kur, &args.enroll, args.oldcert.as_deref(), io)
        }
        CmpCommand::P10cr(args) => enroll::run_p10cr(args, io),
        CmpCommand::Rr(args) => enroll::run_rr(args, io),
        CmpCommand::Genm(args) => enroll::run_genm(args, io),
    }
}
