//! The names that profiles and decisions use for key usages, extended key
//! usages, subject attributes, GeneralName types and extensions.

use std::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280;
use der::asn1::{Ia5String, PrintableString, Utf8StringRef};
use der::flagset::FlagSet;
use der::{Any, Tag, Tagged};
use serde::{Deserialize, Serialize};
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::ext::pkix::name::GeneralName;

/// One bit of the keyUsage extension (RFC 5280 §4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyUsageBit {
    /// `digitalSignature` (0)
    #[serde(rename = "digitalSignature")]
    DigitalSignature,
    /// `nonRepudiation` / `contentCommitment` (1)
    #[serde(rename = "nonRepudiation")]
    NonRepudiation,
    /// `keyEncipherment` (2): RSA keys only.
    #[serde(rename = "keyEncipherment")]
    KeyEncipherment,
    /// `dataEncipherment` (3): RSA keys only.
    #[serde(rename = "dataEncipherment")]
    DataEncipherment,
    /// `keyAgreement` (4): EC keys only.
    #[serde(rename = "keyAgreement")]
    KeyAgreement,
    /// `keyCertSign` (5): CA certificates only.
    #[serde(rename = "keyCertSign")]
    KeyCertSign,
    /// `cRLSign` (6): CA certificates only.
    #[serde(rename = "cRLSign")]
    CrlSign,
    /// `encipherOnly` (7): with keyAgreement only.
    #[serde(rename = "encipherOnly")]
    EncipherOnly,
    /// `decipherOnly` (8): with keyAgreement only.
    #[serde(rename = "decipherOnly")]
    DecipherOnly,
}

impl KeyUsageBit {
    /// Every bit, in bit order.
    pub const ALL: [Self; 9] = [
        Self::DigitalSignature,
        Self::NonRepudiation,
        Self::KeyEncipherment,
        Self::DataEncipherment,
        Self::KeyAgreement,
        Self::KeyCertSign,
        Self::CrlSign,
        Self::EncipherOnly,
        Self::DecipherOnly,
    ];

    /// The RFC 5280 name (`digitalSignature`, `keyCertSign`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::NonRepudiation => "nonRepudiation",
            Self::KeyEncipherment => "keyEncipherment",
            Self::DataEncipherment => "dataEncipherment",
            Self::KeyAgreement => "keyAgreement",
            Self::KeyCertSign => "keyCertSign",
            Self::CrlSign => "cRLSign",
            Self::EncipherOnly => "encipherOnly",
            Self::DecipherOnly => "decipherOnly",
        }
    }

    /// Parse a name, ignoring case; `contentCommitment` is accepted for bit 1.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("contentCommitment") {
            return Some(Self::NonRepudiation);
        }
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(name))
    }

    /// The flag in x509-cert's [`KeyUsages`].
    #[must_use]
    pub const fn flag(self) -> KeyUsages {
        match self {
            Self::DigitalSignature => KeyUsages::DigitalSignature,
            Self::NonRepudiation => KeyUsages::NonRepudiation,
            Self::KeyEncipherment => KeyUsages::KeyEncipherment,
            Self::DataEncipherment => KeyUsages::DataEncipherment,
            Self::KeyAgreement => KeyUsages::KeyAgreement,
            Self::KeyCertSign => KeyUsages::KeyCertSign,
            Self::CrlSign => KeyUsages::CRLSign,
            Self::EncipherOnly => KeyUsages::EncipherOnly,
            Self::DecipherOnly => KeyUsages::DecipherOnly,
        }
    }

    /// The bits set in a flag set, in bit order.
    #[must_use]
    pub fn from_flags(flags: FlagSet<KeyUsages>) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|b| flags.contains(b.flag()))
            .collect()
    }
}

impl fmt::Display for KeyUsageBit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `id-kp-cmcCA` (RFC 6402 §2.10).
pub const ID_KP_CMC_CA: ObjectIdentifier = cmc_asn1::oid::ID_KP_CMC_CA;
/// `id-kp-cmcRA` (RFC 6402 §2.10).
pub const ID_KP_CMC_RA: ObjectIdentifier = cmc_asn1::oid::ID_KP_CMC_RA;
/// `id-kp-cmcArchive` (RFC 6402 §2.10).
pub const ID_KP_CMC_ARCHIVE: ObjectIdentifier = cmc_asn1::oid::ID_KP_CMC_ARCHIVE;

/// Extended key usages known by name, with the names profiles use.
pub const EXTENDED_KEY_USAGES: &[(&str, ObjectIdentifier)] = &[
    ("serverAuth", rfc5280::ID_KP_SERVER_AUTH),
    ("clientAuth", rfc5280::ID_KP_CLIENT_AUTH),
    ("codeSigning", rfc5280::ID_KP_CODE_SIGNING),
    ("emailProtection", rfc5280::ID_KP_EMAIL_PROTECTION),
    ("timeStamping", rfc5280::ID_KP_TIME_STAMPING),
    ("OCSPSigning", rfc5280::ID_KP_OCSP_SIGNING),
    ("id-kp-cmcCA", ID_KP_CMC_CA),
    ("id-kp-cmcRA", ID_KP_CMC_RA),
    ("id-kp-cmcArchive", ID_KP_CMC_ARCHIVE),
];

/// Parse an extended key usage: a name from [`EXTENDED_KEY_USAGES`] (ignoring
/// case and an `id-kp-` prefix) or a dotted OID.
#[must_use]
pub fn eku_from_name(name: &str) -> Option<ObjectIdentifier> {
    let bare = |s: &str| {
        let lower = s.to_ascii_lowercase();
        lower
            .strip_prefix("id-kp-")
            .map(str::to_owned)
            .unwrap_or(lower)
    };
    let wanted = bare(name);
    EXTENDED_KEY_USAGES
        .iter()
        .find(|(n, _)| bare(n) == wanted)
        .map(|(_, oid)| *oid)
        .or_else(|| ObjectIdentifier::new(name).ok())
}

/// The name of an extended key usage, or its dotted OID.
#[must_use]
pub fn eku_name(oid: &ObjectIdentifier) -> String {
    EXTENDED_KEY_USAGES
        .iter()
        .find(|(_, o)| o == oid)
        .map_or_else(|| oid.to_string(), |(n, _)| (*n).to_owned())
}

/// Which ASN.1 string types a subject attribute may be encoded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttrSyntax {
    /// DirectoryString: UTF8String or PrintableString (we write UTF8String).
    Directory,
    /// PrintableString only (countryName, serialNumber).
    Printable,
    /// IA5String only (emailAddress, domainComponent).
    Ia5,
}

/// A subject attribute type a profile can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AttrType {
    /// Short name used in profiles and RFC 4514 strings.
    pub name: &'static str,
    /// The attribute type.
    pub oid: ObjectIdentifier,
    /// Upper bound on the length in characters (RFC 5280 Appendix A.1).
    pub max_len: usize,
    /// Allowed encodings.
    pub syntax: AttrSyntax,
}

const fn attr(name: &'static str, oid: &str, max_len: usize, syntax: AttrSyntax) -> AttrType {
    AttrType {
        name,
        oid: ObjectIdentifier::new_unwrap(oid),
        max_len,
        syntax,
    }
}

/// The subject attribute types profiles may name, in the order an issued
/// subject lists them (most general first, as RFC 4514 strings read in
/// reverse).
pub(crate) const ATTRIBUTE_TYPES: &[AttrType] = &[
    attr("DC", "0.9.2342.19200300.100.1.25", 63, AttrSyntax::Ia5),
    attr("C", "2.5.4.6", 2, AttrSyntax::Printable),
    attr("ST", "2.5.4.8", 128, AttrSyntax::Directory),
    attr("L", "2.5.4.7", 128, AttrSyntax::Directory),
    attr("street", "2.5.4.9", 128, AttrSyntax::Directory),
    attr("O", "2.5.4.10", 64, AttrSyntax::Directory),
    attr(
        "organizationIdentifier",
        "2.5.4.97",
        64,
        AttrSyntax::Directory,
    ),
    attr("OU", "2.5.4.11", 64, AttrSyntax::Directory),
    attr("title", "2.5.4.12", 64, AttrSyntax::Directory),
    attr("surname", "2.5.4.4", 64, AttrSyntax::Directory),
    attr("givenName", "2.5.4.42", 64, AttrSyntax::Directory),
    attr("CN", "2.5.4.3", 64, AttrSyntax::Directory),
    attr("serialNumber", "2.5.4.5", 64, AttrSyntax::Printable),
    attr(
        "UID",
        "0.9.2342.19200300.100.1.1",
        256,
        AttrSyntax::Directory,
    ),
    attr("emailAddress", "1.2.840.113549.1.9.1", 255, AttrSyntax::Ia5),
];

/// `id-at-commonName`.
pub const ID_AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Find an attribute type by name (ignoring case; `commonName`,
/// `countryName`, `organizationName`, `organizationalUnitName`, `email`, `SN`,
/// `GN` are accepted too).
pub(crate) fn attr_by_name(name: &str) -> Option<&'static AttrType> {
    let alias = match name.to_ascii_lowercase().as_str() {
        "commonname" => "CN",
        "countryname" => "C",
        "organizationname" => "O",
        "organizationalunitname" => "OU",
        "localityname" => "L",
        "stateorprovincename" => "ST",
        "email" => "emailAddress",
        "domaincomponent" => "DC",
        // The short names x509-cert's `Name` display prints.
        "sn" => "surname",
        "gn" => "givenName",
        _ => name,
    };
    ATTRIBUTE_TYPES
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(alias))
}

/// Find an attribute type by OID.
pub(crate) fn attr_by_oid(oid: &ObjectIdentifier) -> Option<&'static AttrType> {
    ATTRIBUTE_TYPES.iter().find(|a| a.oid == *oid)
}

/// The short name of an attribute type, or its dotted OID.
#[must_use]
pub fn attribute_name(oid: &ObjectIdentifier) -> String {
    attr_by_oid(oid).map_or_else(|| oid.to_string(), |a| a.name.to_owned())
}

/// A readable value of a subject attribute.
pub(crate) fn attribute_text(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String => value
            .decode_as::<Utf8StringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        Tag::PrintableString => value
            .decode_as::<PrintableString>()
            .ok()
            .map(|s| s.to_string()),
        Tag::Ia5String => value.decode_as::<Ia5String>().ok().map(|s| s.to_string()),
        _ => None,
    }
}

/// The rank of an attribute type in an issued subject (unknown types last).
pub(crate) fn attribute_rank(oid: &ObjectIdentifier) -> usize {
    ATTRIBUTE_TYPES
        .iter()
        .position(|a| a.oid == *oid)
        .unwrap_or(usize::MAX)
}

/// A GeneralName alternative (RFC 5280 §4.2.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum NameType {
    /// `otherName` (tag 0)
    #[serde(rename = "otherName")]
    OtherName,
    /// `rfc822Name` (tag 1), an e-mail address.
    #[serde(rename = "rfc822Name")]
    Rfc822Name,
    /// `dNSName` (tag 2)
    #[serde(rename = "dNSName")]
    DnsName,
    /// `directoryName` (tag 4)
    #[serde(rename = "directoryName")]
    DirectoryName,
    /// `ediPartyName` (tag 5)
    #[serde(rename = "ediPartyName")]
    EdiPartyName,
    /// `uniformResourceIdentifier` (tag 6)
    #[serde(rename = "uniformResourceIdentifier")]
    Uri,
    /// `iPAddress` (tag 7)
    #[serde(rename = "iPAddress")]
    IpAddress,
    /// `registeredID` (tag 8)
    #[serde(rename = "registeredID")]
    RegisteredId,
}

impl NameType {
    /// Every alternative, in tag order.
    pub const ALL: [Self; 8] = [
        Self::OtherName,
        Self::Rfc822Name,
        Self::DnsName,
        Self::DirectoryName,
        Self::EdiPartyName,
        Self::Uri,
        Self::IpAddress,
        Self::RegisteredId,
    ];

    /// The RFC 5280 name (`dNSName`, `rfc822Name`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::OtherName => "otherName",
            Self::Rfc822Name => "rfc822Name",
            Self::DnsName => "dNSName",
            Self::DirectoryName => "directoryName",
            Self::EdiPartyName => "ediPartyName",
            Self::Uri => "uniformResourceIdentifier",
            Self::IpAddress => "iPAddress",
            Self::RegisteredId => "registeredID",
        }
    }

    /// Parse a name, ignoring case: the RFC 5280 names and the short forms
    /// `dns`, `email`, `ip`, `uri`, `dirname`, `rid`, `othername`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let short = match name.to_ascii_lowercase().as_str() {
            "dns" => Some(Self::DnsName),
            "email" => Some(Self::Rfc822Name),
            "ip" => Some(Self::IpAddress),
            "uri" | "url" => Some(Self::Uri),
            "dirname" => Some(Self::DirectoryName),
            "rid" => Some(Self::RegisteredId),
            _ => None,
        };
        short.or_else(|| {
            Self::ALL
                .into_iter()
                .find(|t| t.name().eq_ignore_ascii_case(name))
        })
    }

    /// The alternative a GeneralName is.
    #[must_use]
    pub fn of(name: &GeneralName) -> Self {
        match name {
            GeneralName::OtherName(_) => Self::OtherName,
            GeneralName::Rfc822Name(_) => Self::Rfc822Name,
            GeneralName::DnsName(_) => Self::DnsName,
            GeneralName::DirectoryName(_) => Self::DirectoryName,
            GeneralName::EdiPartyName(_) => Self::EdiPartyName,
            GeneralName::UniformResourceIdentifier(_) => Self::Uri,
            GeneralName::IpAddress(_) => Self::IpAddress,
            GeneralName::RegisteredId(_) => Self::RegisteredId,
        }
    }
}

impl fmt::Display for NameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A readable form of a GeneralName for decisions and logs
/// (`dNSName:example.com`, `iPAddress:192.0.2.1`, ...).
#[must_use]
pub fn general_name_text(name: &GeneralName) -> String {
    let value = match name {
        GeneralName::Rfc822Name(s) | GeneralName::DnsName(s) => s.to_string(),
        GeneralName::UniformResourceIdentifier(s) => s.to_string(),
        GeneralName::IpAddress(o) => ip_text(o.as_bytes()),
        GeneralName::DirectoryName(n) => n.to_string(),
        GeneralName::RegisteredId(oid) => oid.to_string(),
        GeneralName::OtherName(o) => o.type_id.to_string(),
        GeneralName::EdiPartyName(_) => String::from("(ediPartyName)"),
    };
    format!("{}:{value}", NameType::of(name).name())
}

fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        std::net::Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        std::net::Ipv6Addr::from(v6).to_string()
    } else {
        base16ct::lower::encode_string(bytes)
    }
}

/// Extensions known by name.
const EXTENSIONS: &[(&str, ObjectIdentifier)] = &[
    ("basicConstraints", rfc5280::ID_CE_BASIC_CONSTRAINTS),
    ("keyUsage", rfc5280::ID_CE_KEY_USAGE),
    ("extKeyUsage", rfc5280::ID_CE_EXT_KEY_USAGE),
    ("subjectAltName", rfc5280::ID_CE_SUBJECT_ALT_NAME),
    ("issuerAltName", rfc5280::ID_CE_ISSUER_ALT_NAME),
    (
        "subjectKeyIdentifier",
        rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    ),
    (
        "authorityKeyIdentifier",
        rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    ),
    (
        "cRLDistributionPoints",
        rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
    ),
    ("freshestCRL", rfc5280::ID_CE_FRESHEST_CRL),
    ("authorityInfoAccess", rfc5280::ID_PE_AUTHORITY_INFO_ACCESS),
    ("certificatePolicies", rfc5280::ID_CE_CERTIFICATE_POLICIES),
    ("nameConstraints", rfc5280::ID_CE_NAME_CONSTRAINTS),
    ("policyConstraints", rfc5280::ID_CE_POLICY_CONSTRAINTS),
    ("policyMappings", rfc5280::ID_CE_POLICY_MAPPINGS),
    ("inhibitAnyPolicy", rfc5280::ID_CE_INHIBIT_ANY_POLICY),
    (
        "subjectDirectoryAttributes",
        rfc5280::ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES,
    ),
    (
        "privateKeyUsagePeriod",
        rfc5280::ID_CE_PRIVATE_KEY_USAGE_PERIOD,
    ),
];

/// The name of an extension, or its dotted OID.
#[must_use]
pub fn extension_name(oid: &ObjectIdentifier) -> String {
    EXTENSIONS
        .iter()
        .find(|(_, o)| o == oid)
        .map_or_else(|| oid.to_string(), |(n, _)| (*n).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_names_round_trip() {
        for bit in KeyUsageBit::ALL {
            assert_eq!(KeyUsageBit::from_name(bit.name()), Some(bit));
            assert_eq!(
                KeyUsageBit::from_name(&bit.name().to_uppercase()),
                Some(bit)
            );
        }
        assert_eq!(
            KeyUsageBit::from_name("contentCommitment"),
            Some(KeyUsageBit::NonRepudiation)
        );
        assert_eq!(KeyUsageBit::from_name("signEverything"), None);
        let flags = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign;
        assert_eq!(
            KeyUsageBit::from_flags(flags),
            vec![KeyUsageBit::DigitalSignature, KeyUsageBit::KeyCertSign]
        );
    }

    #[test]
    fn eku_names() {
        assert_eq!(
            eku_from_name("serverAuth"),
            Some(rfc5280::ID_KP_SERVER_AUTH)
        );
        assert_eq!(eku_from_name("id-kp-cmcRA"), Some(ID_KP_CMC_RA));
        assert_eq!(eku_from_name("cmcra"), Some(ID_KP_CMC_RA));
        assert_eq!(
            eku_from_name("1.3.6.1.5.5.7.3.2"),
            Some(rfc5280::ID_KP_CLIENT_AUTH)
        );
        assert_eq!(eku_from_name("frobnicate"), None);
        assert_eq!(eku_name(&ID_KP_CMC_RA), "id-kp-cmcRA");
        assert_eq!(
            eku_name(&ObjectIdentifier::new_unwrap("1.2.3.4")),
            "1.2.3.4"
        );
    }

    #[test]
    fn attribute_and_name_type_names() {
        assert_eq!(attr_by_name("cn").map(|a| a.oid), Some(ID_AT_COMMON_NAME));
        assert_eq!(attr_by_name("commonName").map(|a| a.name), Some("CN"));
        assert_eq!(
            attr_by_name("serialnumber").map(|a| a.name),
            Some("serialNumber")
        );
        assert!(attr_by_name("favouriteColour").is_none());
        assert_eq!(NameType::from_name("dns"), Some(NameType::DnsName));
        assert_eq!(NameType::from_name("dNSName"), Some(NameType::DnsName));
        assert_eq!(NameType::from_name("URI"), Some(NameType::Uri));
        assert_eq!(NameType::from_name("iPAddress"), Some(NameType::IpAddress));
        assert_eq!(NameType::from_name("x400Address"), None);
        assert_eq!(
            extension_name(&rfc5280::ID_CE_NAME_CONSTRAINTS),
            "nameConstraints"
        );
    }
}
