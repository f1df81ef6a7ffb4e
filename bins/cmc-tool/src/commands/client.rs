//! `client add`, `client list`, `client show`, `client disable` (and
//! `client reissue`, in its own module).

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use cmc_ca::types::{ClientRecord, ClientRole, Grant, MacCredential, NewClient, Scope, UnixTime};
use cmc_ca::{ClientCredentialRequest, Clock, Records, SystemClock};
use cmc_keys::KeySpec;
use serde::Serialize;

use crate::Io;
use crate::commands::args::{
    GivenSecretArgs, JsonFlag, MacCredentialArgs, NameArgs, PassphraseArgs,
};
use crate::commands::ca::passphrase_ref;
use crate::commands::client_credential as credential;
use crate::commands::secret::given_secret;
use crate::context::{Context, requester};
use crate::inspect::{cert_serial, decode_cert, not_after, read_certificates, summarize};
use crate::output::{Fields, Table, hex, json};
use crate::time::format_rfc3339;
use crate::time::parse_rfc3339;

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
    /// Issue a registered client a new credential (a new key, or a
    /// renewal): same subject, role and grants; the current certificate no
    /// longer identifies it (--revoke-previous also revokes it).
    Reissue(Box<super::client_reissue::ClientReissueArgs>),
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
    /// An operator: an agent that may also administer clients and secrets
    /// in the operator console (certificate login).
    Operator,
}

impl From<RoleArg> for ClientRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Client => Self::Client,
            RoleArg::Ra => Self::Ra,
            RoleArg::Agent => Self::Agent,
            RoleArg::Operator => Self::Operator,
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
    #[arg(long, requires = "out_dir")]
    pub issue: bool,
    /// With --issue: issue the credential for the key of this PKCS #10
    /// request (PEM or DER) that the client made, instead of generating a
    /// key here (the key never leaves the client). Its signature must
    /// verify, and the names it asks for must be within the client's
    /// (--subject, default the request's subject, and --dns/--email/--ip).
    #[arg(long, value_name = "FILE", requires = "issue", conflicts_with_all = ["key_type", "passphrase_env", "passphrase_file", "unencrypted_key"])]
    pub csr: Option<PathBuf>,
    /// The CA that signs the credential (default: the one --ca given).
    #[arg(long, value_name = "NAME", requires = "issue")]
    pub issuing_ca: Option<String>,
    /// The credential's subject, as in RFC 4514 (required with --issue
    /// unless --csr gives it). An end-entity client (`--role client`) may be
    /// issued this subject (or, with --cert, the certificate's) and nothing
    /// else.
    #[arg(long, requires = "issue")]
    pub subject: Option<String>,
    /// Where to write ID.key (mode 0600; not with --csr), ID.pem and
    /// ID-chain.pem.
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
    /// A MAC credential for CMP.
    #[command(flatten)]
    pub mac: MacCredentialArgs,
}

/// Validity of an issued client credential when none is asked for.
const DEFAULT_CREDENTIAL_DAYS: u32 = 365;
/// Key type of an issued client credential when none is asked for.
const DEFAULT_CLIENT_KEY: KeySpec = KeySpec::P256;
const SECS_PER_DAY: i64 = 86_400;

pub(crate) fn run(ctx: &Context, cmd: &ClientCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        ClientCommand::Add(args) => add(ctx, args, io),
        ClientCommand::List(flag) => list(ctx, flag.json, io),
        ClientCommand::Show { id, json } => show(ctx, id, *json, io),
        ClientCommand::Disable { id } => disable(ctx, id, io),
        ClientCommand::Reissue(args) => super::client_reissue::run(ctx, args, io),
    }
}

fn check_grants(ctx: &Context, records: &Records, args: &ClientAddArgs) -> Result<Vec<Grant>> {
    for ca in &args.cas {
        if records.ca(ca)?.is_none() {
            bail!("--ca {ca:?}: there is no such CA (see `cmc-tool ca list`)");
        }
    }
    if !args.profiles.is_empty() {
        let set = ctx.profiles()?;
        for p in &args.profiles {
            if set.get(p).is_err() {
                let known: Vec<&str> = set.names().collect();
                bail!(
                    "--profile {p:?}: there is no such profile (known: {})",
                    known.join(", ")
                );
            }
        }
    }
    Ok(cmc_ca::client_grants(&args.cas, &args.profiles))
}

/// A client id that is also safe as a file name.
pub(crate) fn check_file_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if ok {
        Ok(())
    } else {
        bail!(
            "client id {id:?} names the credential files, so it must be 1-128 of \
             A-Z a-z 0-9 - _ . @ and not start with a dot"
        )
    }
}

fn add(ctx: &Context, args: &ClientAddArgs, io: &mut Io<'_>) -> Result<()> {
    if args.id.trim().is_empty() {
        bail!("the client id must not be empty");
    }
    let now = SystemClock.now();
    if let Some(e) = args.expires {
        if e <= now {
            bail!("--expires {} is not in the future", format_rfc3339(e));
        }
    }
    if args.days == Some(0) {
        bail!("--days must be at least 1");
    }
    if args.issue {
        issue(ctx, args, now, io)
    } else {
        register(ctx, args, now, io)
    }
}

/// `client add --cert FILE`.
fn register(ctx: &Context, args: &ClientAddArgs, now: UnixTime, io: &mut Io<'_>) -> Result<()> {
    let p = &args.passphrase;
    if p.passphrase_env.is_some() || p.passphrase_file.is_some() || p.unencrypted_key {
        bail!("--passphrase-env, --passphrase-file and --unencrypted-key only apply with --issue");
    }
    let Some(path) = &args.cert else {
        bail!("give --cert FILE or --issue");
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let certs = read_certificates(&bytes).with_context(|| path.display().to_string())?;
    let Some(cert_der) = certs.into_iter().next() else {
        bail!("{}: no certificate", path.display());
    };
    let cert = decode_cert(&cert_der)?;
    let cert_end = not_after(&cert);
    if cert_end <= now {
        bail!(
            "{}: the certificate expired at {}",
            path.display(),
            format_rfc3339(cert_end)
        );
    }
    let expires_at = match (args.expires, args.days) {
        (Some(e), _) => e,
        (None, Some(d)) => now.plus_secs(i64::from(d) * SECS_PER_DAY),
        (None, None) => cert_end,
    };
    let records = ctx.records()?;
    let grants = check_grants(ctx, &records, args)?;
    let mac = mac_credential(ctx, &records, &args.mac)?;
    let role: ClientRole = args.role.into();
    let detail = format!(
        "client {:?}, role {role}, existing certificate {}",
        args.id,
        cert.tbs_certificate().subject()
    );
    let client = records
        .register_client(
            &NewClient {
                id: args.id.clone(),
                subject: cmc_ca::x509::client_subject(&cert_der)?,
                names: names_json(&client_names(
                    args,
                    &cert.tbs_certificate().subject().to_string(),
                )?)?,
                cert_der,
                role,
                grants,
                expires_at: Some(expires_at),
                mac,
            },
            Some(cert_serial(&cert)?),
            &requester(),
            &detail,
            now,
        )
        .with_context(|| format!("registering client {:?}", args.id))?;
    writeln!(io.out, "registered client {:?}", client.id)?;
    ClientInfo::of(&client, now)?.print(io)
}

/// The MAC credential `args` ask for, its secret sealed with the secrets
/// key of the configuration: the reference must be free (no client has it,
/// and no one-time secret is identified by it, which would make it
/// ambiguous).
fn mac_credential(
    ctx: &Context,
    records: &Records,
    args: &MacCredentialArgs,
) -> Result<Option<MacCredential>> {
    let Some(reference) = &args.reference else {
        return Ok(None);
    };
    cmc_ca::check_reference(reference)?;
    let secret = given_secret(&GivenSecretArgs {
        secret_env: args.mac_secret_env.clone(),
        secret_file: args.mac_secret_file.clone(),
    })?
    .ok_or_else(|| anyhow::anyhow!("--reference needs --mac-secret-file or --mac-secret-env"))?;
    if records.client_by_mac_reference(reference)?.is_some() {
        bail!("another client already has the MAC reference {reference:?}");
    }
    if records
        .secrets(None)?
        .iter()
        .any(|s| &s.identification == reference)
    {
        bail!("a one-time secret is identified by {reference:?}; choose another reference");
    }
    Ok(Some(cmc_ca::seal_client_mac(
        &ctx.config,
        reference,
        &secret,
    )?))
}

/// `client add --issue`.
fn issue(ctx: &Context, args: &ClientAddArgs, now: UnixTime, io: &mut Io<'_>) -> Result<()> {
    check_file_id(&args.id)?;
    let issuing_ca = match (&args.issuing_ca, args.cas.as_slice()) {
        (Some(ca), _) => ca.clone(),
        (None, [ca]) => ca.clone(),
        (None, []) => bail!("--issue needs the CA that signs: --ca NAME (or --issuing-ca NAME)"),
        (None, _) => {
            bail!("several --ca given: name the one that signs the credential with --issuing-ca")
        }
    };
    let Some(out_dir) = &args.out_dir else {
        bail!("--issue needs --out-dir");
    };
    // Checked before any file is written: the request's signature and names.
    let csr = match &args.csr {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(cmc_ca::ClientCsr::parse(&bytes).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let subject = match (&args.subject, &csr) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => c.subject(),
        (None, None) => bail!("--issue needs --subject (or --csr, whose subject is then used)"),
    };
    let names = client_names(args, &subject)?;
    if let Some(c) = &csr {
        c.check_names(&subject, names.as_ref())
            .with_context(|| format!("--csr for client {:?}", args.id))?;
    }
    let passphrase = match csr {
        Some(_) => None,
        None => passphrase_ref(&args.passphrase, "the client key")?,
    };
    let validity_days = match (args.expires, args.days) {
        (Some(e), _) => {
            let days = (e.secs() - now.secs()) / SECS_PER_DAY;
            if days < 1 {
                bail!(
                    "--expires {}: an issued credential lives whole days, and this is less \
                     than one day from now",
                    format_rfc3339(e)
                );
            }
            u32::try_from(days).unwrap_or(u32::MAX)
        }
        (None, Some(d)) => d,
        (None, None) => DEFAULT_CREDENTIAL_DAYS,
    };
    let engine = ctx.engine()?;
    let records = engine.records();
    let grants = check_grants(ctx, &records, args)?;
    if records.client(&args.id)?.is_some() {
        bail!("client {:?} already exists", args.id);
    }
    let mac = mac_credential(ctx, &records, &args.mac)?;
    let (files, public_key) = credential::prepare_key(
        out_dir,
        &args.id,
        csr.as_ref(),
        args.key_type.unwrap_or(DEFAULT_CLIENT_KEY),
        passphrase.as_ref(),
    )?;
    let request = ClientCredentialRequest {
        ca: issuing_ca.clone(),
        client_id: args.id.clone(),
        subject,
        public_key,
        role: args.role.into(),
        grants,
        validity_days,
        requester: requester(),
        names,
        mac,
    };
    let credential = engine.issue_client_credential(&request);
    let credential = files
        .finish(&engine, credential)
        .with_context(|| format!("CA {issuing_ca:?}"))?;
    writeln!(
        io.out,
        "issued and registered client {:?} (serial {} of CA {issuing_ca:?})",
        credential.client.id, credential.serial
    )?;
    files.print(io)?;
    ClientInfo::of(&credential.client, now)?.print(io)
}

/// What `client show` and `client list --json` print.
#[derive(Debug, Serialize)]
struct ClientInfo {
    id: String,
    role: String,
    status: &'static str,
    subject: String,
    issuer: String,
    serial: String,
    certificate_not_after: String,
    sha256_fingerprint: String,
    grants: Vec<GrantInfo>,
    /// The names an end entity may be issued (`None`: the profile's rules).
    names: Option<cmc_policy::NameSpace>,
    expires_at: Option<String>,
    disabled_at: Option<String>,
    created_at: String,
    /// The reference of its CMP MAC credential, if it has one.
    mac_reference: Option<String>,
}

/// One grant; `*` for any.
#[derive(Debug, Serialize)]
struct GrantInfo {
    ca: String,
    profile: String,
}

fn scope_text(s: &Scope) -> String {
    match s {
        Scope::Any => "*".to_owned(),
        Scope::Named(n) => n.clone(),
    }
}

impl ClientInfo {
    fn of(c: &ClientRecord, now: UnixTime) -> Result<Self> {
        let cert = summarize(&c.cert_der).with_context(|| format!("client {:?}", c.id))?;
        let status = if c.disabled_at.is_some() {
            "disabled"
        } else if c.is_active(now) {
            "active"
        } else {
            "expired"
        };
        Ok(Self {
            id: c.id.clone(),
            role: c.role.to_string(),
            status,
            subject: cert.subject,
            issuer: cert.issuer,
            serial: cert.serial,
            certificate_not_after: cert.not_after,
            sha256_fingerprint: hex(&c.fingerprint),
            grants: c
                .grants
                .iter()
                .map(|g| GrantInfo {
                    ca: scope_text(&g.ca),
                    profile: scope_text(&g.profile),
                })
                .collect(),
            names: registered_names(c.names.as_deref())
                .with_context(|| format!("client {:?}", c.id))?,
            expires_at: c.expires_at.map(format_rfc3339),
            disabled_at: c.disabled_at.map(format_rfc3339),
            created_at: format_rfc3339(c.created_at),
            mac_reference: c.mac_reference.clone(),
        })
    }

    fn grants_text(&self) -> String {
        self.grants
            .iter()
            .map(|g| format!("ca={} profile={}", g.ca, g.profile))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn print(&self, io: &mut Io<'_>) -> Result<()> {
        let mut f = Fields::new();
        f.add("id", &self.id);
        f.add("role", &self.role);
        let status = match &self.disabled_at {
            Some(at) => format!("disabled (since {at})"),
            None => self.status.to_owned(),
        };
        f.add("status", status);
        f.add("subject", &self.subject);
        f.add(
            "may be issued",
            self.names.as_ref().map_or_else(
                || "what the profiles' name rules allow".to_owned(),
                ToString::to_string,
            ),
        );
        f.add("issuer", &self.issuer);
        f.add("serial", &self.serial);
        f.add("certificate not after", &self.certificate_not_after);
        f.add("sha256 fingerprint", &self.sha256_fingerprint);
        f.add("grants", self.grants_text());
        if let Some(reference) = &self.mac_reference {
            f.add("MAC reference (CMP)", reference);
        }
        f.add(
            "expires",
            self.expires_at.as_deref().unwrap_or("never").to_owned(),
        );
        f.add("registered", &self.created_at);
        f.print(io.out)
    }
}

fn list(ctx: &Context, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let now = SystemClock.now();
    let infos = ctx
        .records()?
        .clients()?
        .iter()
        .map(|c| ClientInfo::of(c, now))
        .collect::<Result<Vec<_>>>()?;
    if as_json {
        return json(io.out, &infos);
    }
    let mut t = Table::new(&["ID", "ROLE", "STATUS", "EXPIRES", "GRANTS", "SUBJECT"]);
    for i in &infos {
        t.row(vec![
            i.id.clone(),
            i.role.clone(),
            i.status.to_owned(),
            i.expires_at.clone().unwrap_or_else(|| "never".into()),
            i.grants_text(),
            i.subject.clone(),
        ]);
    }
    t.print(
        io.out,
        "no clients (register one with `cmc-tool client add`)",
    )
}

fn get_client(records: &Records, id: &str) -> Result<ClientRecord> {
    match records.client(id)? {
        Some(c) => Ok(c),
        None => bail!("there is no client {id:?} (see `cmc-tool client list`)"),
    }
}

fn show(ctx: &Context, id: &str, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let info = ClientInfo::of(&get_client(&ctx.records()?, id)?, SystemClock.now())?;
    if as_json {
        json(io.out, &info)
    } else {
        info.print(io)
    }
}

fn disable(ctx: &Context, id: &str, io: &mut Io<'_>) -> Result<()> {
    let records = ctx.records()?;
    let before = get_client(&records, id)?;
    let now = SystemClock.now();
    if let Some(at) = before.disabled_at {
        writeln!(
            io.out,
            "client {id:?} was already disabled at {}",
            format_rfc3339(at)
        )?;
        return Ok(());
    }
    records.disable_client(id, &requester(), now)?;
    writeln!(io.out, "client {id:?} disabled at {}", format_rfc3339(now))?;
    Ok(())
}

/// The names a client is registered for (the engine's rule: an end entity
/// its subject and the --dns/--email/--ip names, an RA or agent none).
fn client_names(args: &ClientAddArgs, subject: &str) -> Result<Option<cmc_policy::NameSpace>> {
    let n = &args.names;
    cmc_ca::client_name_space(args.role.into(), subject, &n.dns, &n.email, &n.ip)
        .map_err(|e| anyhow::anyhow!("--subject/--dns/--email/--ip: {e}"))
}

/// The store's JSON form of a name registration.
fn names_json(names: &Option<cmc_policy::NameSpace>) -> Result<Option<String>> {
    names
        .as_ref()
        .map(|n| serde_json::to_string(n).context("encoding the name registration"))
        .transpose()
}

/// A stored name registration (JSON), decoded.
pub(crate) fn registered_names(json: Option<&str>) -> Result<Option<cmc_policy::NameSpace>> {
    json.map(|j| serde_json::from_str(j).context("the stored name registration does not decode"))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids() {
        for ok in ["ra-1", "alice@example.com", "A.b_c"] {
            check_file_id(ok).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", &"x".repeat(129)] {
            assert!(check_file_id(bad).is_err(), "{bad}");
        }
    }
}
