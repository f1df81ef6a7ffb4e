//! The command line, as clap derives it: the global options and the
//! command groups. Each command's own arguments live next to its code, in
//! [`crate::commands`].
//!
//! Secrets (key passphrases, PINs) have no flag of their own: only the name
//! of an environment variable or the path of a file that holds them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::audit::AuditArgs;
use crate::commands::backup::BackupCommand;
use crate::commands::bench::BenchArgs;
use crate::commands::bench_load::BenchLoadArgs;
use crate::commands::ca::CaCommand;
use crate::commands::cert::CertCommand;
use crate::commands::client::ClientCommand;
use crate::commands::cmp::CmpCommand;
use crate::commands::console::ConsoleCommand;
use crate::commands::crl::CrlCommand;
use crate::commands::enroll::EnrollArgs;
use crate::commands::pending::PendingCommand;
use crate::commands::profile::ProfileCommand;
use crate::commands::renew::RenewArgs;
use crate::commands::request::RequestArgs;
use crate::commands::revoke::RevokeArgs;
use crate::commands::secret::SecretCommand;
use crate::commands::show::ShowArgs;

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
    /// The operator web console of cmc-server: set an operator's password.
    #[command(subcommand)]
    Console(ConsoleCommand),
    /// CMC client: build a signed Full PKI Request and write it (DER).
    Request(Box<RequestArgs>),
    /// CMC client: build a signed Full PKI Request, POST it to a CMC server,
    /// verify the response and write the issued certificate.
    Enroll(Box<EnrollArgs>),
    /// CMC client: ask a CMC server to revoke a certificate (revokeRequest,
    /// RFC 5272 §6.11), signed by an RA, agent or the holder, or unsigned
    /// with the certificate's revocation secret.
    Revoke(Box<RevokeArgs>),
    /// CMC client: renew a certificate signed by itself when it is due,
    /// once (`--once`, for cron: exit 0 renewed, 3 not due, 1 failed) or
    /// as a daemon (`--watch`), writing the new key and certificate
    /// atomically and running an `--on-renew` command.
    Renew(Box<RenewArgs>),
    /// CMP client (RFC 4210/9480, Lightweight CMP Profile RFC 9483): ir,
    /// cr, kur, p10cr, rr and genm against a CMP server, with signature or
    /// MAC protection, certConf, implicit confirmation and polling.
    #[command(subcommand)]
    Cmp(CmpCommand),
    /// Encrypted backups any one of several administrators can open:
    /// create, restore, verify.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Decode a CMC request or response and print what it holds.
    Show(ShowArgs),
    /// CMC client: a load generator for a server on this host (loopback
    /// only): N pre-built enrollments over C connections, latency and
    /// throughput, and the server's signature cost per enrollment.
    Bench(Box<BenchArgs>),
    /// Scale benchmarks: add N synthetic certificates (some revoked) to the
    /// store, and time a CRL over them.
    BenchLoad(BenchLoadArgs),
    /// The audit log, newest first: who did what, filtered by requester,
    /// kind, CA, serial, detail text and time.
    Audit(AuditArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use cmc_ca::types::{RevocationReason, UnixTime};

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
    fn cmp_takes_openssl_popo_numbers_and_no_secret_on_the_command_line() {
        use crate::commands::cmp::{CmpCommand, PopoArg};
        let base = [
            "cmc-tool",
            "cmp",
            "ir",
            "--server",
            "http://ca.example/pkix/",
            "--ref",
            "1234",
            "--newkey",
            "k.pem",
            "--subject",
            "/CN=x",
            "--certout",
            "c.pem",
        ];
        let with = |extra: &[&'static str]| {
            Cli::try_parse_from(base.iter().copied().chain(extra.iter().copied()))
        };
        for (popo, expected) in [("0", PopoArg::Raverified), ("1", PopoArg::Signature)] {
            let cli = with(&["--secret-file", "s", "--popo", popo]).unwrap();
            let Command::Cmp(CmpCommand::Ir(args)) = cli.command else {
                panic!("parsed as {:?}", cli.command);
            };
            assert_eq!(args.popo, expected);
        }
        let err = with(&["--secret", "pass:x"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        let err = with(&["--secret-file", "s", "--secret-env", "V"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
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
