//! A profiles file as TOML gives it: raw structs that refuse unknown fields,
//! then [`Profile::from_raw`] checks each profile against the hard caps into
//! the runtime [`Profile`].

use std::collections::{BTreeMap, BTreeSet};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ANY_EXTENDED_KEY_USAGE;
use serde::Deserialize;

use super::{
    FixedAttribute, MAX_BACKDATE_SECONDS, MAX_RSA_BITS, MAX_VALIDITY_DAYS, MIN_RSA_BITS,
    OnIssuerExpiry, OnRefusedExtension, Profile, SkiMethod, check_attribute_text,
};
use crate::Error;
use crate::internal::CertificateKind;
use crate::keys::Curve;
use crate::name_rules::{NameRules, RawNameRules};
use crate::names::{self, KeyUsageBit, NameType};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) default_profile: Option<String>,
    #[serde(default)]
    pub(super) profile: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    validity_days: Option<u32>,
    backdate_seconds: Option<u32>,
    honour_requested_validity: Option<bool>,
    require_pop_link_witness: Option<bool>,
    allow_key_reuse: Option<bool>,
    require_approval: Option<bool>,
    require_acceptance: Option<bool>,
    server_key_generation: Option<bool>,
    on_refused_extension: Option<OnRefusedExtension>,
    on_issuer_expiry: Option<OnIssuerExpiry>,
    basic_constraints: Option<bool>,
    key_usage: Option<Vec<String>>,
    extended_key_usage: Option<Vec<String>>,
    certificate_policies: Option<Vec<String>>,
    subject_key_identifier: Option<SkiMethod>,
    keys: Option<RawKeys>,
    subject: Option<RawSubject>,
    san: Option<RawSan>,
    names: Option<RawNameRules>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    ec_curves: Option<Vec<String>>,
    rsa_sizes: Option<Vec<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    from_request: Option<Vec<String>>,
    require_cn: Option<bool>,
    fixed: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSan {
    allowed: Option<Vec<String>>,
    required: Option<bool>,
}

impl Profile {
    pub(super) fn from_raw(name: &str, raw: RawProfile) -> Result<Self, Error> {
        // Every request a shared secret authenticates carries a
        // popLinkWitnessV2 (RFC 5272 §6.3.1: the server MUST check it); the
        // old switch may say so, never turn it off.
        if raw.require_pop_link_witness == Some(false) {
            return Err(Error::config(
                format!("profile.{name}.require_pop_link_witness"),
                "popLinkWitnessV2 is required in every shared-secret request and cannot be turned off; remove this key",
            ));
        }
        let base = Self::builtin();
        let path = |field: &str| format!("profile.{name}.{field}");
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::config(
                format!("profile.{name}"),
                "a profile name is 1 to 64 letters, digits, '-' or '_'",
            ));
        }

        let validity_days = raw.validity_days.unwrap_or(base.validity_days);
        if validity_days == 0 || validity_days > MAX_VALIDITY_DAYS {
            return Err(Error::config(
                path("validity_days"),
                format!("{validity_days} is outside 1..={MAX_VALIDITY_DAYS}"),
            ));
        }
        let backdate_seconds = raw.backdate_seconds.unwrap_or(base.backdate_seconds);
        if backdate_seconds > MAX_BACKDATE_SECONDS {
            return Err(Error::config(
                path("backdate_seconds"),
                format!(
                    "{backdate_seconds} is more than the maximum of {MAX_BACKDATE_SECONDS} (one hour)"
                ),
            ));
        }

        let key_usage = match raw.key_usage {
            None => base.key_usage,
            Some(list) => {
                let mut out = Vec::new();
                for n in &list {
                    let bit = KeyUsageBit::from_name(n).ok_or_else(|| {
                        Error::config(path("key_usage"), format!("unknown key usage `{n}`"))
                    })?;
                    if matches!(bit, KeyUsageBit::KeyCertSign | KeyUsageBit::CrlSign) {
                        return Err(Error::config(
                            path("key_usage"),
                            format!(
                                "`{n}` is for CA certificates; profiles issue end-entity certificates"
                            ),
                        ));
                    }
                    if !out.contains(&bit) {
                        out.push(bit);
                    }
                }
                out.sort();
                out
            }
        };

        let extended_key_usage = match raw.extended_key_usage {
            None => base.extended_key_usage,
            Some(list) => {
                let mut out = Vec::new();
                for n in &list {
                    let oid = names::eku_from_name(n).ok_or_else(|| {
                        Error::config(
                            path("extended_key_usage"),
                            format!("`{n}` is neither a known extended key usage nor an OID"),
                        )
                    })?;
                    if oid == ANY_EXTENDED_KEY_USAGE {
                        return Err(Error::config(
                            path("extended_key_usage"),
                            "anyExtendedKeyUsage is not granted",
                        ));
                    }
                    if !out.contains(&oid) {
                        out.push(oid);
                    }
                }
                out
            }
        };

        let mut certificate_policies = Vec::new();
        for p in raw.certificate_policies.unwrap_or_default() {
            let oid = ObjectIdentifier::new(&p).map_err(|_| {
                Error::config(
                    path("certificate_policies"),
                    format!("`{p}` is not a dotted OID"),
                )
            })?;
            if !certificate_policies.contains(&oid) {
                certificate_policies.push(oid);
            }
        }

        let keys = raw.keys.unwrap_or_default();
        let ec_curves = match keys.ec_curves {
            None => base.ec_curves,
            Some(list) => list
                .iter()
                .map(|c| {
                    Curve::from_name(c).ok_or_else(|| {
                        Error::config(
                            path("keys.ec_curves"),
                            format!("`{c}` is not one of P-256, P-384, P-521"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let rsa_sizes: BTreeSet<u32> = match keys.rsa_sizes {
            None => base.rsa_sizes,
            Some(list) => list.into_iter().collect(),
        };
        for bits in &rsa_sizes {
            if *bits < MIN_RSA_BITS || *bits > MAX_RSA_BITS || bits % 8 != 0 {
                return Err(Error::config(
                    path("keys.rsa_sizes"),
                    format!(
                        "RSA-{bits} is refused: sizes are multiples of 8 from {MIN_RSA_BITS} to {MAX_RSA_BITS}"
                    ),
                ));
            }
        }
        if ec_curves.is_empty() && rsa_sizes.is_empty() {
            return Err(Error::config(path("keys"), "no key type is allowed"));
        }

        let subject = raw.subject.unwrap_or_default();
        let subject_from_request = match subject.from_request {
            None => base.subject_from_request,
            Some(list) => {
                let mut out = Vec::new();
                for n in &list {
                    let a = names::attr_by_name(n).ok_or_else(|| {
                        Error::config(
                            path("subject.from_request"),
                            format!("unknown attribute type `{n}`"),
                        )
                    })?;
                    if !out.contains(&a.oid) {
                        out.push(a.oid);
                    }
                }
                out
            }
        };
        let mut subject_fixed = Vec::new();
        for (n, value) in subject.fixed.unwrap_or_default() {
            let field = path(&format!("subject.fixed.{n}"));
            let a = names::attr_by_name(&n)
                .ok_or_else(|| Error::config(&field, format!("unknown attribute type `{n}`")))?;
            check_attribute_text(a, &value).map_err(|why| Error::config(&field, why))?;
            subject_fixed.push(FixedAttribute { oid: a.oid, value });
        }
        let require_cn = subject.require_cn.unwrap_or(base.require_cn);

        let san = raw.san.unwrap_or_default();
        let san_allowed = match san.allowed {
            None => base.san_allowed,
            Some(list) => list
                .iter()
                .map(|n| {
                    NameType::from_name(n).ok_or_else(|| {
                        Error::config(
                            path("san.allowed"),
                            format!("unknown GeneralName type `{n}`"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let san_required = san.required.unwrap_or(base.san_required);
        if san_required && san_allowed.is_empty() {
            return Err(Error::config(
                path("san.required"),
                "a SAN is required but no name type is allowed",
            ));
        }

        Ok(Self {
            name: name.to_owned(),
            validity_days,
            backdate_seconds,
            honour_requested_validity: raw
                .honour_requested_validity
                .unwrap_or(base.honour_requested_validity),
            allow_key_reuse: raw.allow_key_reuse.unwrap_or(base.allow_key_reuse),
            require_approval: raw.require_approval.unwrap_or(base.require_approval),
            require_acceptance: raw.require_acceptance.unwrap_or(base.require_acceptance),
            server_key_generation: raw
                .server_key_generation
                .unwrap_or(base.server_key_generation),
            on_refused_extension: raw.on_refused_extension.unwrap_or_default(),
            on_issuer_expiry: raw.on_issuer_expiry.unwrap_or_default(),
            basic_constraints: raw.basic_constraints.unwrap_or(base.basic_constraints),
            key_usage,
            extended_key_usage,
            certificate_policies,
            ski_method: raw.subject_key_identifier.unwrap_or_default(),
            ec_curves,
            rsa_sizes,
            subject_from_request,
            subject_fixed,
            require_cn,
            san_allowed,
            san_required,
            name_rules: NameRules::from_raw(name, raw.names.unwrap_or_default())?,
            kind: CertificateKind::EndEntity,
            issuer_urls: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileSet;

    fn config_err(toml: &str) -> (String, String) {
        match ProfileSet::from_toml(toml) {
            Err(Error::Config { field, reason }) => (field, reason),
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        for (toml, field) in [
            ("[profile.a]\nvalidity_dayz = 3\n", "validity_dayz"),
            ("[profile.a.keys]\nrsa_bits = [2048]\n", "rsa_bits"),
            ("[profile.a.subject]\nrequire_o = true\n", "require_o"),
            ("[profile.a.san]\nallow = [\"dns\"]\n", "allow"),
            ("colour = \"blue\"\n", "colour"),
        ] {
            match ProfileSet::from_toml(toml) {
                Err(e @ Error::ConfigSyntax { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(field), "{msg}");
                    assert!(msg.contains("unknown field"), "{msg}");
                }
                other => panic!("{toml}: {other:?}"),
            }
        }
        let e =
            ProfileSet::from_toml("[profile.a]\non_refused_extension = \"ignore\"\n").unwrap_err();
        assert!(e.to_string().contains("ignore"), "{e}");
    }

    #[test]
    fn hard_caps() {
        let (f, r) = config_err("[profile.a]\nvalidity_days = 826\n");
        assert_eq!(f, "profile.a.validity_days");
        assert!(r.contains("826"), "{r}");
        assert_eq!(
            config_err("[profile.a]\nvalidity_days = 0\n").0,
            "profile.a.validity_days"
        );
        let (f, r) = config_err("[profile.a]\nbackdate_seconds = 3601\n");
        assert_eq!(f, "profile.a.backdate_seconds");
        assert!(r.contains("one hour"), "{r}");
        assert!(ProfileSet::from_toml("[profile.a]\nbackdate_seconds = 3600\n").is_ok());
        let (f, r) = config_err("[profile.a.keys]\nrsa_sizes = [1024, 2048]\n");
        assert_eq!(f, "profile.a.keys.rsa_sizes");
        assert!(r.contains("RSA-1024"), "{r}");
        assert_eq!(
            config_err("[profile.a.keys]\nec_curves = [\"P-224\"]\n").0,
            "profile.a.keys.ec_curves"
        );
        assert_eq!(
            config_err("[profile.a.keys]\nec_curves = []\nrsa_sizes = []\n").0,
            "profile.a.keys"
        );
        let (f, r) = config_err("[profile.a]\nkey_usage = [\"keyCertSign\"]\n");
        assert_eq!(f, "profile.a.key_usage");
        assert!(r.contains("CA certificates"), "{r}");
        assert_eq!(
            config_err("[profile.a]\nkey_usage = [\"cRLSign\"]\n").0,
            "profile.a.key_usage"
        );
        assert_eq!(
            config_err("[profile.a]\nkey_usage = [\"signAll\"]\n").0,
            "profile.a.key_usage"
        );
        assert_eq!(
            config_err("[profile.a]\nextended_key_usage = [\"2.5.29.37.0\"]\n").0,
            "profile.a.extended_key_usage"
        );
        assert_eq!(
            config_err("[profile.a]\nextended_key_usage = [\"nonsense\"]\n").0,
            "profile.a.extended_key_usage"
        );
        assert_eq!(
            config_err("[profile.a]\ncertificate_policies = [\"x.y\"]\n").0,
            "profile.a.certificate_policies"
        );
        assert_eq!(
            config_err("[profile.a.subject]\nfrom_request = [\"shoeSize\"]\n").0,
            "profile.a.subject.from_request"
        );
        assert_eq!(
            config_err("[profile.a.subject.fixed]\nC = \"Sweden\"\n").0,
            "profile.a.subject.fixed.C"
        );
        assert_eq!(
            config_err("[profile.a.subject.fixed]\nCN = \"\"\n").0,
            "profile.a.subject.fixed.CN"
        );
        assert_eq!(
            config_err("[profile.a.san]\nallowed = [\"x400Address\"]\n").0,
            "profile.a.san.allowed"
        );
        assert_eq!(
            config_err("[profile.a.san]\nallowed = []\nrequired = true\n").0,
            "profile.a.san.required"
        );
        assert_eq!(config_err("[profile.\"a b\"]\n").0, "profile.a b");
        assert_eq!(
            config_err("default_profile = \"missing\"\n").0,
            "default_profile"
        );
    }
}
