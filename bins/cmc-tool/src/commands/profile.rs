//! `profile list`, `profile show`.

use anyhow::{Result, anyhow};
use clap::Subcommand;
use cmc_policy::{Profile, ProfileSet};
use serde::Serialize;

use crate::Io;
use crate::commands::args::JsonFlag;
use crate::context::Context;
use crate::inspect::oid_name;
use crate::output::{Fields, Table, json};

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

pub(crate) fn run(ctx: &Context, cmd: &ProfileCommand, io: &mut Io<'_>) -> Result<()> {
    let set = ctx.profiles()?;
    let source = match &ctx.config.profiles {
        Some(p) => p.display().to_string(),
        None => "built-in".to_owned(),
    };
    match cmd {
        ProfileCommand::List(flag) => list(&set, &source, flag.json, io),
        ProfileCommand::Show { name, json } => show(&set, name, *json, io),
    }
}

/// What `profile show` and `profile list --json` print.
#[derive(Debug, Serialize)]
struct ProfileInfo {
    name: String,
    default: bool,
    validity_days: u32,
    backdate_seconds: u32,
    honours_requested_validity: bool,
    on_refused_extension: serde_json::Value,
    on_issuer_expiry: serde_json::Value,
    ski_method: serde_json::Value,
    basic_constraints: bool,
    key_usage: Vec<String>,
    extended_key_usage: Vec<String>,
    certificate_policies: Vec<String>,
    ec_curves: Vec<String>,
    rsa_sizes: Vec<u32>,
    subject_from_request: Vec<String>,
    fixed_subject: Vec<String>,
    requires_common_name: bool,
    san_types: Vec<String>,
    requires_subject_alt_name: bool,
}

impl ProfileInfo {
    fn of(p: &Profile, set: &ProfileSet) -> Self {
        let value = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
        Self {
            name: p.name().to_owned(),
            default: set.default_profile().name() == p.name(),
            validity_days: p.validity_days(),
            backdate_seconds: p.backdate_seconds(),
            honours_requested_validity: p.honours_requested_validity(),
            on_refused_extension: value(serde_json::to_value(p.on_refused_extension())),
            on_issuer_expiry: value(serde_json::to_value(p.on_issuer_expiry())),
            ski_method: value(serde_json::to_value(p.ski_method())),
            basic_constraints: p.adds_basic_constraints(),
            key_usage: p.key_usage().iter().map(ToString::to_string).collect(),
            extended_key_usage: p
                .extended_key_usage()
                .iter()
                .map(cmc_policy::names::eku_name)
                .collect(),
            certificate_policies: p
                .certificate_policies()
                .iter()
                .map(ToString::to_string)
                .collect(),
            ec_curves: p.allowed_curves().iter().map(ToString::to_string).collect(),
            rsa_sizes: p.allowed_rsa_sizes().iter().copied().collect(),
            subject_from_request: p
                .subject_from_request()
                .iter()
                .map(cmc_policy::names::attribute_name)
                .collect(),
            fixed_subject: p
                .fixed_subject()
                .iter()
                .map(|a| format!("{}={}", cmc_policy::names::attribute_name(&a.oid), a.value))
                .collect(),
            requires_common_name: p.requires_common_name(),
            san_types: p
                .allowed_name_types()
                .iter()
                .map(ToString::to_string)
                .collect(),
            requires_subject_alt_name: p.requires_subject_alt_name(),
        }
    }

    fn keys_text(&self) -> String {
        let mut parts: Vec<String> = self.ec_curves.clone();
        parts.extend(self.rsa_sizes.iter().map(|b| format!("RSA-{b}")));
        parts.join(", ")
    }
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_owned()
    } else {
        v.join(", ")
    }
}

fn list(set: &ProfileSet, source: &str, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let infos: Vec<ProfileInfo> = set
        .names()
        .filter_map(|n| set.get(n).ok())
        .map(|p| ProfileInfo::of(p, set))
        .collect();
    if as_json {
        return json(io.out, &infos);
    }
    writeln!(io.out, "profiles from {source}:")?;
    let mut t = Table::new(&["NAME", "DEFAULT", "DAYS", "KEYS", "EXTENDED KEY USAGE"]);
    for i in &infos {
        t.row(vec![
            i.name.clone(),
            if i.default { "yes" } else { "" }.to_owned(),
            i.validity_days.to_string(),
            i.keys_text(),
            list_or_none(&i.extended_key_usage),
        ]);
    }
    t.print(io.out, "no profiles")
}

fn show(set: &ProfileSet, name: &str, as_json: bool, io: &mut Io<'_>) -> Result<()> {
    let p = set.get(name).map_err(|_| {
        let known: Vec<&str> = set.names().collect();
        anyhow!("there is no profile {name:?} (known: {})", known.join(", "))
    })?;
    let i = ProfileInfo::of(p, set);
    if as_json {
        return json(io.out, &i);
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let mut f = Fields::new();
    f.add("name", &i.name);
    f.add("default", yes_no(i.default));
    f.add("validity days", i.validity_days.to_string());
    f.add("backdate seconds", i.backdate_seconds.to_string());
    f.add(
        "honours requested validity",
        yes_no(i.honours_requested_validity),
    );
    f.add("on issuer expiry", text(&i.on_issuer_expiry));
    f.add("on refused extension", text(&i.on_refused_extension));
    f.add("basicConstraints CA:FALSE", yes_no(i.basic_constraints));
    f.add("key usage", list_or_none(&i.key_usage));
    f.add("extended key usage", list_or_none(&i.extended_key_usage));
    f.add(
        "certificate policies",
        list_or_none(
            &p.certificate_policies()
                .iter()
                .map(oid_name)
                .collect::<Vec<_>>(),
        ),
    );
    f.add("subject key identifier", text(&i.ski_method));
    f.add("keys", i.keys_text());
    f.add(
        "subject from request",
        list_or_none(&i.subject_from_request),
    );
    f.add("fixed subject", list_or_none(&i.fixed_subject));
    f.add("requires CN", yes_no(i.requires_common_name));
    f.add("SAN types", list_or_none(&i.san_types));
    f.add("requires SAN", yes_no(i.requires_subject_alt_name));
    f.print(io.out)
}
