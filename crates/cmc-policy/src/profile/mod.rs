//! Certificate profiles: read from TOML into a raw form that refuses unknown
//! fields, then checked into the runtime [`Profile`] with hard caps.

use std::collections::{BTreeMap, BTreeSet};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ANY_EXTENDED_KEY_USAGE;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::internal::{CertificateKind, reserved_profile_name};
use crate::keys::{Curve, KeyKind};
use crate::name_rules::{NameRules, RawNameRules};
use crate::names::{self, AttrSyntax, KeyUsageBit, NameType};

/// Longest validity any profile may grant, in days (the old CA/Browser Forum
/// ceiling for subscriber certificates).
pub const MAX_VALIDITY_DAYS: u32 = 825;
/// Validity of the built-in profile, and of any profile that does not say.
pub const DEFAULT_VALIDITY_DAYS: u32 = 93;
/// The furthest back `notBefore` may be set, in seconds (one hour).
pub const MAX_BACKDATE_SECONDS: u32 = 3600;
/// Smallest RSA modulus any profile may allow.
pub const MIN_RSA_BITS: u32 = 2048;
/// Largest RSA modulus any profile may allow.
pub const MAX_RSA_BITS: u32 = 16384;
/// Name of the built-in profile.
pub const DEFAULT_PROFILE_NAME: &str = "default";

/// What to do when a request asks for an extension the profile refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OnRefusedExtension {
    /// Leave it out and say so in the [`Decision`](crate::Decision).
    #[default]
    Drop,
    /// Refuse the whole request.
    Refuse,
}

/// What to do when the validity would outlive the issuing CA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OnIssuerExpiry {
    /// End the certificate when the issuer ends.
    #[default]
    Clamp,
    /// Refuse the request.
    Refuse,
}

/// How the subjectKeyIdentifier is derived from the subject public key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SkiMethod {
    /// SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 (1)).
    #[default]
    Sha1,
    /// The leftmost 160 bits of SHA-256 of the same (RFC 7093 §2 method 1).
    Rfc7093,
}

impl SkiMethod {
    /// The key identifier of a subjectPublicKey (the BIT STRING contents).
    #[must_use]
    pub fn key_identifier(self, subject_public_key: &[u8]) -> Vec<u8> {
        use sha1::Digest as _;
        match self {
            Self::Sha1 => sha1::Sha1::digest(subject_public_key).to_vec(),
            Self::Rfc7093 => sha2::Sha256::digest(subject_public_key)[..20].to_vec(),
        }
    }
}

// ---------------------------------------------------------------------------
// The raw, parsed form.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default_profile: Option<String>,
    #[serde(default)]
    profile: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    validity_days: Option<u32>,
    backdate_seconds: Option<u32>,
    honour_requested_validity: Option<bool>,
    require_pop_link_witness: Option<bool>,
    allow_key_reuse: Option<bool>,
    require_approval: Option<bool>,
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

// ---------------------------------------------------------------------------
// The checked runtime form.

/// A subject attribute the profile writes into every certificate, replacing
/// any value of that type from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedAttribute {
    /// The attribute type.
    pub oid: ObjectIdentifier,
    /// Its value (written as UTF8String, or PrintableString for `C` and
    /// `serialNumber`, IA5String for `emailAddress` and `DC`).
    pub value: String,
}

/// A checked certificate profile.
///
/// Made by [`ProfileSet::from_toml`] or [`Profile::builtin`] (end-entity
/// profiles for requests; every value within the hard caps of this module),
/// or by [`Profile::ca_certificate`], [`Profile::client_credential`] and
/// [`Profile::ocsp_responder`] (the engine's own certificates, see
/// [`CertificateKind`]), which no profiles file can define or change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub(crate) name: String,
    pub(crate) validity_days: u32,
    pub(crate) backdate_seconds: u32,
    pub(crate) honour_requested_validity: bool,
    pub(crate) allow_key_reuse: bool,
    pub(crate) require_approval: bool,
    pub(crate) server_key_generation: bool,
    pub(crate) on_refused_extension: OnRefusedExtension,
    pub(crate) on_issuer_expiry: OnIssuerExpiry,
    pub(crate) basic_constraints: bool,
    pub(crate) key_usage: Vec<KeyUsageBit>,
    pub(crate) extended_key_usage: Vec<ObjectIdentifier>,
    pub(crate) certificate_policies: Vec<ObjectIdentifier>,
    pub(crate) ski_method: SkiMethod,
    pub(crate) ec_curves: BTreeSet<Curve>,
    pub(crate) rsa_sizes: BTreeSet<u32>,
    pub(crate) subject_from_request: Vec<ObjectIdentifier>,
    pub(crate) subject_fixed: Vec<FixedAttribute>,
    pub(crate) require_cn: bool,
    pub(crate) san_allowed: BTreeSet<NameType>,
    pub(crate) san_required: bool,
    pub(crate) name_rules: NameRules,
    pub(crate) kind: CertificateKind,
    pub(crate) issuer_urls: bool,
}

impl Profile {
    /// The built-in end-entity profile, named `default`: 93 days, no
    /// backdating, EC P-256/P-384/P-521 and RSA 2048/3072/4096,
    /// digitalSignature (+ keyEncipherment for RSA keys), serverAuth +
    /// clientAuth, CN/O/OU/C/serialNumber from the request, DNS, e-mail and
    /// IP SANs, basicConstraints CA:FALSE, refused extensions dropped,
    /// validity clamped to the issuer.
    #[must_use]
    pub fn builtin() -> Self {
        Self {
            name: DEFAULT_PROFILE_NAME.to_owned(),
            validity_days: DEFAULT_VALIDITY_DAYS,
            backdate_seconds: 0,
            honour_requested_validity: true,
            allow_key_reuse: false,
            require_approval: false,
            server_key_generation: false,
            on_refused_extension: OnRefusedExtension::Drop,
            on_issuer_expiry: OnIssuerExpiry::Clamp,
            basic_constraints: true,
            key_usage: vec![KeyUsageBit::DigitalSignature, KeyUsageBit::KeyEncipherment],
            extended_key_usage: vec![
                const_oid::db::rfc5280::ID_KP_SERVER_AUTH,
                const_oid::db::rfc5280::ID_KP_CLIENT_AUTH,
            ],
            certificate_policies: Vec::new(),
            ski_method: SkiMethod::Sha1,
            ec_curves: Curve::ALL.into_iter().collect(),
            rsa_sizes: [2048, 3072, 4096].into_iter().collect(),
            subject_from_request: ["CN", "O", "OU", "C", "serialNumber"]
                .iter()
                .filter_map(|n| names::attr_by_name(n).map(|a| a.oid))
                .collect(),
            subject_fixed: Vec::new(),
            require_cn: false,
            san_allowed: [NameType::DnsName, NameType::Rfc822Name, NameType::IpAddress]
                .into_iter()
                .collect(),
            san_required: false,
            name_rules: NameRules::default(),
            kind: CertificateKind::EndEntity,
            issuer_urls: true,
        }
    }

    /// The profile's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Validity granted, in days.
    #[must_use]
    pub const fn validity_days(&self) -> u32 {
        self.validity_days
    }

    /// Seconds `notBefore` is set back from the issuance time.
    #[must_use]
    pub const fn backdate_seconds(&self) -> u32 {
        self.backdate_seconds
    }

    /// What happens to a refused extension.
    #[must_use]
    pub const fn on_refused_extension(&self) -> OnRefusedExtension {
        self.on_refused_extension
    }

    /// What happens when the validity would outlive the issuer.
    #[must_use]
    pub const fn on_issuer_expiry(&self) -> OnIssuerExpiry {
        self.on_issuer_expiry
    }

    /// How the subjectKeyIdentifier is computed.
    #[must_use]
    pub const fn ski_method(&self) -> SkiMethod {
        self.ski_method
    }

    /// Whether basicConstraints CA:FALSE (critical) is added.
    #[must_use]
    pub const fn adds_basic_constraints(&self) -> bool {
        self.basic_constraints
    }

    /// The key usages the profile grants (before removing those that do not
    /// fit the key type; see [`Profile::key_usage_for`]).
    #[must_use]
    pub fn key_usage(&self) -> &[KeyUsageBit] {
        &self.key_usage
    }

    /// The extended key usages the profile grants.
    #[must_use]
    pub fn extended_key_usage(&self) -> &[ObjectIdentifier] {
        &self.extended_key_usage
    }

    /// The certificate policies the profile asserts.
    #[must_use]
    pub fn certificate_policies(&self) -> &[ObjectIdentifier] {
        &self.certificate_policies
    }

    /// The SubjectAltName types that may pass.
    #[must_use]
    pub fn allowed_name_types(&self) -> &BTreeSet<NameType> {
        &self.san_allowed
    }

    /// Whether a CRMF requested validity is honoured (within the profile's
    /// limits) rather than ignored.
    #[must_use]
    pub const fn honours_requested_validity(&self) -> bool {
        self.honour_requested_validity
    }

    /// Whether a request waits for an agent's approval (`cmc-tool pending
    /// approve`) before it is issued: the client gets status pending and
    /// asks again with queryPending (RFC 5272 §6.13).
    #[must_use]
    pub const fn requires_approval(&self) -> bool {
        self.require_approval
    }

    /// Whether the CA may generate the subject's key pair and hand it out
    /// with the certificate (EST serverkeygen, RFC 7030 §4.4). Off unless
    /// the profile says so: a key the CA made is a key the CA saw.
    #[must_use]
    pub const fn allows_server_key_generation(&self) -> bool {
        self.server_key_generation
    }

    /// Whether a renewal may keep the public key of the certificate that
    /// signs it (otherwise noKeyReuse).
    #[must_use]
    pub const fn allows_key_reuse(&self) -> bool {
        self.allow_key_reuse
    }

    /// The EC curves allowed for subject keys.
    #[must_use]
    pub fn allowed_curves(&self) -> &BTreeSet<Curve> {
        &self.ec_curves
    }

    /// The RSA modulus sizes allowed for subject keys.
    #[must_use]
    pub fn allowed_rsa_sizes(&self) -> &BTreeSet<u32> {
        &self.rsa_sizes
    }

    /// The subject attribute types taken from requests.
    #[must_use]
    pub fn subject_from_request(&self) -> &[ObjectIdentifier] {
        &self.subject_from_request
    }

    /// The subject attributes the profile adds or overrides.
    #[must_use]
    pub fn fixed_subject(&self) -> &[FixedAttribute] {
        &self.subject_fixed
    }

    /// Whether a commonName is required.
    #[must_use]
    pub const fn requires_common_name(&self) -> bool {
        self.require_cn
    }

    /// The rules on the names certificates of this profile may carry
    /// (`[profile.NAME.names]`).
    #[must_use]
    pub const fn name_rules(&self) -> &NameRules {
        &self.name_rules
    }

    /// Whether a subjectAltName is required.
    #[must_use]
    pub const fn requires_subject_alt_name(&self) -> bool {
        self.san_required
    }

    /// What the profile's certificates are: end entities for requests, or
    /// one of the engine's own kinds.
    #[must_use]
    pub const fn kind(&self) -> CertificateKind {
        self.kind
    }

    /// Whether the certificates carry the issuer's cRLDistributionPoints and
    /// authorityInfoAccess URLs ([`IssuerInfo`](crate::IssuerInfo)).
    #[must_use]
    pub const fn carries_issuer_urls(&self) -> bool {
        self.issuer_urls
    }

    /// Whether the key is of a type and size the profile allows.
    #[must_use]
    pub fn allows_key(&self, key: &KeyKind) -> bool {
        match key {
            KeyKind::Ec(c) => self.ec_curves.contains(c),
            KeyKind::Rsa(bits) => self.rsa_sizes.contains(bits),
            KeyKind::OtherEc(_) | KeyKind::Other(_) => false,
        }
    }

    /// The key usages granted to a key of this kind: keyEncipherment and
    /// dataEncipherment only for RSA; keyAgreement, encipherOnly and
    /// decipherOnly only for EC (RFC 5480 §3, RFC 4055 §1.2).
    #[must_use]
    pub fn key_usage_for(&self, key: &KeyKind) -> Vec<KeyUsageBit> {
        self.key_usage
            .iter()
            .copied()
            .filter(|b| key_usage_fits(*b, key))
            .collect()
    }

    fn from_raw(name: &str, raw: RawProfile) -> Result<Self, Error> {
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

/// Whether a key usage bit makes sense for a key of this kind.
pub(crate) fn key_usage_fits(bit: KeyUsageBit, key: &KeyKind) -> bool {
    match bit {
        KeyUsageBit::KeyEncipherment | KeyUsageBit::DataEncipherment => key.is_rsa(),
        KeyUsageBit::KeyAgreement | KeyUsageBit::EncipherOnly | KeyUsageBit::DecipherOnly => {
            key.is_ec()
        }
        KeyUsageBit::DigitalSignature
        | KeyUsageBit::NonRepudiation
        | KeyUsageBit::KeyCertSign
        | KeyUsageBit::CrlSign => true,
    }
}

/// Check a textual attribute value against its type's length and character set.
pub(crate) fn check_attribute_text(a: &names::AttrType, value: &str) -> Result<(), String> {
    let len = value.chars().count();
    if len == 0 {
        return Err(format!("{} is empty", a.name));
    }
    if len > a.max_len {
        return Err(format!(
            "{} is longer than {} characters",
            a.name, a.max_len
        ));
    }
    if a.name == "C" && (len != 2 || !value.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err("C is two upper-case letters (ISO 3166)".into());
    }
    match a.syntax {
        AttrSyntax::Printable if !value.chars().all(is_printable) => {
            Err(format!("{} has characters outside PrintableString", a.name))
        }
        AttrSyntax::Ia5 if !value.is_ascii() => Err(format!("{} is not ASCII", a.name)),
        _ => Ok(()),
    }
}

/// The PrintableString character set (X.680 §41.4).
pub(crate) fn is_printable(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

/// The profiles of one CA, read from one TOML file.
///
/// ```toml
/// default_profile = "server"      # optional; else "default"
///
/// [profile.server]
/// validity_days = 90
/// key_usage = ["digitalSignature", "keyEncipherment"]
/// extended_key_usage = ["serverAuth"]
/// [profile.server.san]
/// allowed = ["dNSName"]
/// required = true
/// ```
///
/// Fields a profile leaves out take the values of [`Profile::builtin`]. The
/// built-in profile is present as `default` unless the file defines its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
    default: String,
}

impl ProfileSet {
    /// Just the built-in `default` profile.
    #[must_use]
    pub fn builtin() -> Self {
        let mut profiles = BTreeMap::new();
        profiles.insert(DEFAULT_PROFILE_NAME.to_owned(), Profile::builtin());
        Self {
            profiles,
            default: DEFAULT_PROFILE_NAME.to_owned(),
        }
    }

    /// Read and check a profile file.
    ///
    /// # Errors
    /// [`Error::ConfigSyntax`] when the TOML does not parse or has an unknown
    /// field (the message names it), [`Error::Config`] with the field path
    /// when a value is refused.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let raw: RawFile = toml::from_str(text).map_err(|e| Error::ConfigSyntax {
            message: e.to_string(),
        })?;
        let mut set = Self::builtin();
        for (name, p) in raw.profile {
            // The engine's own profiles are built in: a file may neither
            // replace nor shadow one (their names are recorded with every
            // certificate of theirs, and a request naming one must find
            // nothing).
            if let Some(what) = reserved_profile_name(&name) {
                return Err(Error::config(
                    format!("profile.{name}"),
                    format!("the name is reserved for the engine's built-in {what} profile"),
                ));
            }
            let profile = Profile::from_raw(&name, p)?;
            set.profiles.insert(name, profile);
        }
        if let Some(default) = raw.default_profile {
            if !set.profiles.contains_key(&default) {
                return Err(Error::config(
                    "default_profile",
                    format!("no profile named `{default}` is defined"),
                ));
            }
            set.default = default;
        }
        Ok(set)
    }

    /// The profile called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownProfile`] if there is none.
    pub fn get(&self, name: &str) -> Result<&Profile, Error> {
        self.profiles
            .get(name)
            .ok_or_else(|| Error::UnknownProfile(name.to_owned()))
    }

    /// The profile used when a request names none.
    #[must_use]
    pub fn default_profile(&self) -> &Profile {
        // `default` always names a profile in the map (`builtin` inserts it
        // and `from_toml` only replaces it with a name it checked); the
        // fallback only keeps this free of a panic path.
        self.profiles
            .get(&self.default)
            .unwrap_or_else(|| builtin_static())
    }

    /// The names of all profiles, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }
}

fn builtin_static() -> &'static Profile {
    static BUILTIN: std::sync::OnceLock<Profile> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(Profile::builtin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_err(toml: &str) -> (String, String) {
        match ProfileSet::from_toml(toml) {
            Err(Error::Config { field, reason }) => (field, reason),
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn builtin_default_profile() {
        let set = ProfileSet::builtin();
        let p = set.default_profile();
        assert_eq!(p.name(), "default");
        assert_eq!(p.validity_days(), 93);
        assert!(p.allows_key(&KeyKind::Ec(Curve::P256)));
        assert!(p.allows_key(&KeyKind::Rsa(3072)));
        assert!(!p.allows_key(&KeyKind::Rsa(1024)));
        assert!(!p.allows_key(&KeyKind::Rsa(2049)));
        assert_eq!(
            p.key_usage_for(&KeyKind::Rsa(2048)),
            vec![KeyUsageBit::DigitalSignature, KeyUsageBit::KeyEncipherment]
        );
        assert_eq!(
            p.key_usage_for(&KeyKind::Ec(Curve::P384)),
            vec![KeyUsageBit::DigitalSignature]
        );
        assert_eq!(p.extended_key_usage().len(), 2);
        assert!(p.allowed_name_types().contains(&NameType::DnsName));
        assert!(!p.allowed_name_types().contains(&NameType::Uri));
        // An empty file is the built-in set.
        assert_eq!(ProfileSet::from_toml("").unwrap(), set);
    }

    #[test]
    fn several_profiles_from_one_file() {
        let set = ProfileSet::from_toml(
            r#"
            default_profile = "server"
            [profile.server]
            validity_days = 90
            extended_key_usage = ["serverAuth"]
            certificate_policies = ["2.23.140.1.2.1"]
            [profile.server.san]
            allowed = ["dNSName", "ip"]
            required = true
            [profile.client]
            extended_key_usage = ["clientAuth"]
            on_refused_extension = "refuse"
            [profile.client.keys]
            ec_curves = ["P-384"]
            rsa_sizes = [3072]
            [profile.ra]
            validity_days = 365
            extended_key_usage = ["id-kp-cmcRA"]
            on_issuer_expiry = "refuse"
            subject_key_identifier = "rfc7093"
            [profile.ra.subject]
            from_request = ["CN"]
            require_cn = true
            fixed = { O = "Example AB", C = "SE" }
            "#,
        )
        .unwrap();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["client", "default", "ra", "server"]
        );
        assert_eq!(set.default_profile().name(), "server");
        let server = set.get("server").unwrap();
        assert_eq!(server.validity_days(), 90);
        assert!(server.san_required);
        assert_eq!(server.certificate_policies().len(), 1);
        let client = set.get("client").unwrap();
        assert_eq!(client.validity_days(), DEFAULT_VALIDITY_DAYS);
        assert_eq!(client.on_refused_extension(), OnRefusedExtension::Refuse);
        assert!(!client.allows_key(&KeyKind::Ec(Curve::P256)));
        assert!(client.allows_key(&KeyKind::Ec(Curve::P384)));
        assert!(!client.allows_key(&KeyKind::Rsa(2048)));
        let ra = set.get("ra").unwrap();
        assert_eq!(ra.extended_key_usage(), &[names::ID_KP_CMC_RA]);
        assert_eq!(ra.on_issuer_expiry(), OnIssuerExpiry::Refuse);
        assert_eq!(ra.ski_method(), SkiMethod::Rfc7093);
        assert_eq!(ra.subject_fixed.len(), 2);
        assert!(ra.require_cn);
        assert!(matches!(set.get("nope"), Err(Error::UnknownProfile(n)) if n == "nope"));
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

    #[test]
    fn ski_methods() {
        let spk = b"\x04 some public key";
        let sha1 = SkiMethod::Sha1.key_identifier(spk);
        let sha256 = SkiMethod::Rfc7093.key_identifier(spk);
        assert_eq!(sha1.len(), 20);
        assert_eq!(sha256.len(), 20);
        assert_ne!(sha1, sha256);
        // SHA-1("abc") and the first 20 octets of SHA-256("abc").
        assert_eq!(
            SkiMethod::Sha1.key_identifier(b"abc")[..4],
            [0xa9, 0x99, 0x3e, 0x36]
        );
        assert_eq!(
            SkiMethod::Rfc7093.key_identifier(b"abc")[..4],
            [0xba, 0x78, 0x16, 0xbf]
        );
    }
}
