//! Certificate profiles: read from TOML into a raw form that refuses unknown
//! fields, then checked into the runtime [`Profile`] with hard caps.
//!
//! [`raw`] reads the TOML and checks it; this file holds the checked
//! [`Profile`] and its hard caps; [`set`] holds the [`ProfileSet`] of one
//! CA.

mod raw;
mod set;

use std::collections::BTreeSet;

use const_oid::ObjectIdentifier;
use serde::{Deserialize, Serialize};

use crate::internal::CertificateKind;
use crate::keys::{Curve, KeyKind};
use crate::name_rules::NameRules;
use crate::names::{self, AttrSyntax, KeyUsageBit, NameType};
pub use set::ProfileSet;

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
    pub(crate) require_acceptance: bool,
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
            require_acceptance: false,
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

    /// Whether a certificate of this profile counts as published only once its holder
    /// accepts it (CMC confirmCertAcceptance, RFC 5272 §6.14; a CMP certConf that
    /// accepts it): until then the OCSP responder answers "unknown" for it. EST and CMP
    /// with implicitConfirm have no acceptance message, so their certificates count as
    /// accepted when delivered.
    #[must_use]
    pub const fn requires_acceptance(&self) -> bool {
        self.require_acceptance
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

#[cfg(test)]
mod tests {
    use super::*;

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
