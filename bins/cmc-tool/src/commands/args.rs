//! Argument groups that several commands share: `--json`, where a key's
//! passphrase or a secret comes from, the names a client or secret may be
//! issued, the hash family of shared-secret proofs, a CRLReason.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use cmc_ca::types::RevocationReason;

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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

/// A client's MAC credential for CMP (`client add --reference`): the secret
/// is read from a file or an environment variable, never the command line.
#[derive(Debug, Default, Args)]
pub struct MacCredentialArgs {
    /// Give the client a MAC credential for CMP (PBM/PBMAC1 protection):
    /// the reference number it sends in senderKID (e.g. `openssl cmp -ref`).
    #[arg(long, value_name = "REF")]
    pub reference: Option<String>,
    /// Read the credential's secret from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "reference",
        conflicts_with = "mac_secret_file"
    )]
    pub mac_secret_env: Option<String>,
    /// Read the credential's secret from this file (less one trailing
    /// newline).
    #[arg(long, value_name = "PATH", requires = "reference")]
    pub mac_secret_file: Option<PathBuf>,
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
