//! Matching names, shared by a profile's name rules ([`NameRules`]) and a
//! principal's name space ([`NameSpace`]): DNS names against suffixes, e-mail
//! addresses against domains, IP addresses against ranges, distinguished
//! names read from RFC 4514 strings, and the [`NameViolation`] both report.
//!
//! [`NameRules`]: crate::NameRules
//! [`NameSpace`]: crate::NameSpace

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use x509_cert::name::Name;

use crate::Error;
use crate::names;
use crate::prepare::dns_name_ok;

/// A name the certificate would carry that a rule does not allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameViolation {
    /// The offending name: `dNSName:www.evil.test`, `iPAddress:10.0.0.1`,
    /// `subject CN=www.evil.test`, or `subject CN=x,O=y` for the whole
    /// subject (RFC 4514).
    pub name: String,
    /// The rule it breaks.
    pub rule: NameRule,
}

impl NameViolation {
    pub(crate) fn new(name: impl Into<String>, rule: NameRule) -> Self {
        Self {
            name: name.into(),
            rule,
        }
    }
}

impl fmt::Display for NameViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.rule)
    }
}

/// Which rule a name breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NameRule {
    /// Within none of the entries of a permitted list of the profile.
    NotPermitted {
        /// The list: `permitted_dns_suffixes`, `permitted_email_domains` or
        /// `permitted_ip_ranges`.
        list: String,
    },
    /// Within an entry of an excluded list of the profile.
    Excluded {
        /// The list: `excluded_dns_suffixes`, `excluded_email_domains` or
        /// `excluded_ip_ranges`.
        list: String,
        /// The entry it falls in.
        entry: String,
    },
    /// Not well formed, so it cannot be checked: a commonName with a dot that
    /// is not a DNS name, an e-mail address without a domain, an iPAddress of
    /// the wrong length.
    Malformed {
        /// What it should have been (`a DNS name`, ...).
        expected: String,
    },
    /// The subject matches none of the profile's `subject_patterns`.
    NoSubjectPattern,
    /// Outside the names the requester is registered for.
    OutsideNameSpace,
    /// A renewal asks for a subjectAltName the certificate being renewed
    /// does not carry.
    NotInRenewedCertificate,
    /// A renewal asks for another subject than the certificate being renewed.
    SubjectChanged {
        /// The subject of the certificate being renewed (RFC 4514).
        renewed: String,
    },
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPermitted { list } => write!(f, "not within any of {list}"),
            Self::Excluded { list, entry } => write!(f, "within `{entry}` of {list}"),
            Self::Malformed { expected } => {
                write!(f, "not {expected}, so the name rules cannot be checked")
            }
            Self::NoSubjectPattern => f.write_str("matches none of subject_patterns"),
            Self::OutsideNameSpace => {
                f.write_str("outside the names the requester is registered for")
            }
            Self::NotInRenewedCertificate => f.write_str("not in the certificate being renewed"),
            Self::SubjectChanged { renewed } => write!(
                f,
                "differs from the subject of the certificate being renewed ({renewed})"
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// IP ranges

/// An IPv4 or IPv6 range in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`),
/// or one address (`192.0.2.7`, the same as `/32`).
///
/// An IPv4 address and its IPv4-mapped IPv6 form (`::ffff:192.0.2.7`) are the
/// same address: [`IpRange::contains`] matches either form against either
/// kind of range, so a mapped address cannot slip past an IPv4 rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// The range holding exactly `addr`.
    #[must_use]
    pub const fn host(addr: IpAddr) -> Self {
        let prefix = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Self {
            network: addr,
            prefix,
        }
    }

    /// The first address of the range.
    #[must_use]
    pub const fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    #[must_use]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `addr`, or its other form (IPv4 ↔ IPv4-mapped IPv6), lies in
    /// this range.
    #[must_use]
    pub fn contains(&self, addr: IpAddr) -> bool {
        let other = match addr {
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        };
        self.contains_exact(addr) || other.is_some_and(|a| self.contains_exact(a))
    }

    fn contains_exact(&self, addr: IpAddr) -> bool {
        match (self.network, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(n)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(n)
            }
            _ => false,
        }
    }

    /// Parse `a.b.c.d/n`, `x::y/n` or a bare address; the reason when not.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network = IpAddr::from_str(addr)
            .map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
        let max = Self::host(network).prefix;
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("the prefix length `{p}` is not in 0..={max}"))?,
        };
        let range = Self { network, prefix };
        let masked = match network {
            IpAddr::V4(n) => IpAddr::V4(Ipv4Addr::from(
                u32::from(n) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0),
            )),
            IpAddr::V6(n) => IpAddr::V6(Ipv6Addr::from(
                u128::from(n) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0),
            )),
        };
        if masked != network {
            return Err(format!(
                "host bits are set after the prefix (the range is {masked}/{prefix})"
            ));
        }
        Ok(range)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == Self::host(self.network).prefix {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

impl FromStr for IpRange {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s).map_err(|reason| Error::invalid_name("IP range", s, reason))
    }
}

impl Serialize for IpRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The address in an iPAddress GeneralName (4 or 16 octets).
pub(crate) fn ip_from_octets(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// DNS names and e-mail domains

/// A DNS name as compared: ASCII lower case, without one trailing dot.
pub(crate) fn normalize_dns(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.strip_suffix('.') {
        Some(s) => s.to_owned(),
        None => lower,
    }
}

/// Whether `name` is `suffix` or ends with `.suffix` (a label boundary).
/// Both are normalised already.
pub(crate) fn dns_within(name: &str, suffix: &str) -> bool {
    name == suffix
        || name
            .strip_suffix(suffix)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
}

/// Read a DNS suffix of a profile: a host name without wildcard, leading or
/// trailing dot, returned in lower case.
pub(crate) fn parse_dns_suffix(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with('.') || lower.contains('*') {
        return Err(format!(
            "`{text}`: write the domain itself (a suffix covers the name and every name under it)"
        ));
    }
    if !dns_name_ok(&lower) {
        return Err(format!("`{text}` is not a DNS name{DNS_HINT}"));
    }
    Ok(lower)
}

/// What a DNS name must look like, for refusals.
pub(crate) const DNS_HINT: &str = " (labels of letters, digits and '-', at most 63 characters, \
     no trailing dot; internationalised names in their xn-- form)";

/// The domain of an e-mail address (after the last `@`), normalised, when
/// the address has a non-empty local part and a well-formed domain.
pub(crate) fn email_domain(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let domain = normalize_dns(domain);
    (!local.is_empty() && !domain.starts_with('*') && dns_name_ok(&domain)).then_some(domain)
}

/// RFC 5280 §4.2.1.10 for rfc822Name: `host` matches that host only,
/// `.domain` every host under the domain but not the domain itself.
pub(crate) fn email_domain_matches(domain: &str, constraint: &str) -> bool {
    match constraint.strip_prefix('.') {
        Some(parent) => domain != parent && dns_within(domain, parent),
        None => domain == constraint,
    }
}

/// Read an e-mail domain of a profile: `host` or `.domain`, in lower case.
pub(crate) fn parse_email_domain(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if lower.contains('@') {
        return Err(format!("`{text}` is an address; give its domain"));
    }
    let host = lower.strip_prefix('.').unwrap_or(&lower);
    if host.contains('*') || !dns_name_ok(host) {
        return Err(format!(
            "`{text}` is neither a host nor `.domain`{DNS_HINT}"
        ));
    }
    Ok(lower)
}

// ---------------------------------------------------------------------------
// Distinguished names as text

/// One attribute of a distinguished name, with its value as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextAttribute {
    /// The attribute type.
    pub oid: ObjectIdentifier,
    /// The value, unescaped.
    pub value: String,
}

/// The attributes of `name` in the order issued subjects list them (the
/// order of [`names::ATTRIBUTE_TYPES`]; attributes of one type keep their
/// order), each with its text, or `None` when the value is not a
/// UTF8String, PrintableString or IA5String.
pub(crate) fn canonical_attributes(name: &Name) -> Vec<(ObjectIdentifier, Option<String>)> {
    let mut out: Vec<_> = name
        .iter()
        .map(|atv| (atv.oid, names::attribute_text(&atv.value)))
        .collect();
    out.sort_by_key(|(oid, _)| names::attribute_rank(oid));
    out
}

/// Read a distinguished name written as RFC 4514 text (most specific
/// attribute first, the way x509-cert prints a `Name`) into its attributes,
/// in the order issued subjects list them (see [`canonical_attributes`]).
///
/// Attribute types are the names of `subject.from_request` (`CN`, `O`,
/// `emailAddress`, ..., case ignored, and the `EMAIL`, `SN`, `GN` x509-cert
/// prints) or dotted OIDs. Values take the RFC 4514 escapes (`\,`, `\+`,
/// `\\`, `\2C`, ...); a space after a separating comma is ignored. Not
/// accepted: `#`-hex values and multi-valued RDNs (`+`), which issued
/// subjects never have. The empty string is the empty name.
pub(crate) fn parse_dn(text: &str) -> Result<Vec<TextAttribute>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut attributes = Vec::new();
    for part in split_unescaped(text, ',') {
        let part = part.trim_start();
        if split_unescaped(part, '+').count() > 1 {
            return Err(format!(
                "`{part}`: multi-valued RDNs ('+') are not supported; issued subjects have one attribute per RDN"
            ));
        }
        let (kind, raw) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}` is not TYPE=value"))?;
        let kind = kind.trim();
        let oid = match names::attr_by_name(kind) {
            Some(a) => a.oid,
            None => ObjectIdentifier::new(kind)
                .map_err(|_| format!("unknown attribute type `{kind}`"))?,
        };
        if raw.starts_with('#') {
            return Err(format!("`{part}`: #-hex values are not supported"));
        }
        let value = unescape(raw).ok_or_else(|| format!("`{part}`: bad escape"))?;
        if value.is_empty() {
            return Err(format!("`{part}`: the value is empty"));
        }
        attributes.push(TextAttribute { oid, value });
    }
    // RFC 4514 writes the last RDN first.
    attributes.reverse();
    attributes.sort_by_key(|a| names::attribute_rank(&a.oid));
    Ok(attributes)
}

/// Split at each `sep` not escaped by a backslash.
fn split_unescaped(text: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut escaped = false;
    text.split(move |c: char| {
        if escaped {
            escaped = false;
            return false;
        }
        if c == '\\' {
            escaped = true;
            return false;
        }
        c == sep
    })
}

/// Undo RFC 4514 §2.4 escaping: `\` before a special character, or before
/// two hex digits (one octet of the UTF-8 value).
fn unescape(raw: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match rest {
            [h, l, tail @ ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                let hex = [*h, *l];
                let text = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(text, 16).ok()?);
                rest = tail;
            }
            [c, tail @ ..] if b" \"#+,;<=>\\".contains(c) => {
                bytes.push(*c);
                rest = tail;
            }
            _ => return None,
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ip_ranges() {
        let v4 = IpRange::parse("192.0.2.0/24").unwrap();
        assert!(v4.contains(ip("192.0.2.0")));
        assert!(v4.contains(ip("192.0.2.255")));
        assert!(!v4.contains(ip("192.0.3.0")));
        // The IPv4-mapped form is the same address.
        assert!(v4.contains(ip("::ffff:192.0.2.9")));
        assert!(!v4.contains(ip("::ffff:192.0.3.9")));
        // The IPv4-compatible form (::a.b.c.d, deprecated) is not.
        assert!(!v4.contains(ip("::192.0.2.9")));
        let mapped = IpRange::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(mapped.contains(ip("10.1.2.3")));
        assert!(!mapped.contains(ip("11.1.2.3")));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("192.0.2.1")));
        let all = IpRange::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("255.255.255.255")));
        assert!(all.contains(ip("::ffff:1.2.3.4")));
        assert!(!all.contains(ip("2001:db8::1")));
        assert!(IpRange::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        let host = IpRange::parse("192.0.2.7").unwrap();
        assert_eq!(host.prefix_len(), 32);
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        assert_eq!(host.to_string(), "192.0.2.7");
        assert_eq!(v4.to_string(), "192.0.2.0/24");
        assert_eq!(v6.to_string(), "2001:db8::/32");

        for bad in [
            "192.0.2.1/24",
            "192.0.2.0/33",
            "2001:db8::/129",
            "192.0.2.0/-1",
            "192.0.2/24",
            "fe80::1%eth0",
            "example.test",
            "",
        ] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
        assert!(
            IpRange::parse("192.0.2.1/24")
                .unwrap_err()
                .contains("192.0.2.0/24")
        );
        let json = serde_json::to_string(&v6).unwrap();
        assert_eq!(json, "\"2001:db8::/32\"");
        assert_eq!(serde_json::from_str::<IpRange>(&json).unwrap(), v6);
        assert!(serde_json::from_str::<IpRange>("\"10.0.0.1/8\"").is_err());
        assert_eq!(ip_from_octets(&[192, 0, 2, 1]), Some(ip("192.0.2.1")));
        assert_eq!(ip_from_octets(&[1, 2, 3]), None);
    }

    #[test]
    fn dns_suffixes_on_label_boundaries() {
        assert!(dns_within("example.test", "example.test"));
        assert!(dns_within("a.example.test", "example.test"));
        assert!(dns_within("a.b.example.test", "example.test"));
        assert!(!dns_within("badexample.test", "example.test"));
        assert!(!dns_within(".example.test", "example.test"));
        assert!(!dns_within("example.test.evil", "example.test"));
        assert!(!dns_within("test", "example.test"));
        assert_eq!(normalize_dns("WWW.Example.TEST."), "www.example.test");
        assert_eq!(parse_dns_suffix("Example.TEST").unwrap(), "example.test");
        for bad in [
            ".example.test",
            "*.example.test",
            "example.test.",
            "ex ample",
            "",
        ] {
            assert!(parse_dns_suffix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_domains_as_rfc_5280() {
        assert_eq!(
            email_domain("a@Example.TEST").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            email_domain("a@example.test.").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            email_domain("\"x@y\"@evil.test").as_deref(),
            Some("evil.test")
        );
        assert_eq!(email_domain("example.test"), None);
        assert_eq!(email_domain("@example.test"), None);
        assert_eq!(email_domain("a@"), None);
        assert_eq!(email_domain("a@*.example.test"), None);
        assert!(email_domain_matches("example.test", "example.test"));
        assert!(!email_domain_matches("mail.example.test", "example.test"));
        assert!(email_domain_matches("mail.example.test", ".example.test"));
        assert!(!email_domain_matches("example.test", ".example.test"));
        assert!(!email_domain_matches("badexample.test", ".example.test"));
        assert_eq!(
            parse_email_domain(".Example.test").unwrap(),
            ".example.test"
        );
        for bad in ["a@example.test", "*.example.test", "..example.test", ""] {
            assert!(parse_email_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn distinguished_names_from_text() {
        let attrs = parse_dn("CN=*, O=Example AB,c=SE").unwrap();
        let pairs: Vec<(String, &str)> = attrs
            .iter()
            .map(|a| (names::attribute_name(&a.oid), a.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("C".to_owned(), "SE"),
                ("O".to_owned(), "Example AB"),
                ("CN".to_owned(), "*"),
            ]
        );
        // Order of different types does not matter; escapes are undone.
        let attrs = parse_dn(r"C=SE,CN=a\,b\2Bc\\,EMAIL=x@y.test,SN=Doe,2.5.4.97=VATSE-1").unwrap();
        let pairs: Vec<(String, &str)> = attrs
            .iter()
            .map(|a| (names::attribute_name(&a.oid), a.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("C".to_owned(), "SE"),
                ("organizationIdentifier".to_owned(), "VATSE-1"),
                ("surname".to_owned(), "Doe"),
                ("CN".to_owned(), r"a,b+c\"),
                ("emailAddress".to_owned(), "x@y.test"),
            ]
        );
        assert!(parse_dn("").unwrap().is_empty());
        for bad in [
            "CN=a+OU=b",
            "CN",
            "shoeSize=44",
            "CN=#0c0161",
            "CN=",
            r"CN=a\q",
            r"CN=a\",
        ] {
            assert!(parse_dn(bad).is_err(), "{bad}");
        }
        // What x509-cert prints reads back.
        let name: Name = "CN=a\\,b,OU=Dev,O=Example,C=SE".parse().unwrap();
        let back = parse_dn(&name.to_string()).unwrap();
        let issued: Vec<_> = canonical_attributes(&name)
            .into_iter()
            .map(|(oid, v)| TextAttribute {
                oid,
                value: v.unwrap(),
            })
            .collect();
        assert_eq!(back, issued);
    }

    #[test]
    fn violations_read_well() {
        let v = NameViolation::new(
            "dNSName:badexample.test",
            NameRule::NotPermitted {
                list: "permitted_dns_suffixes".into(),
            },
        );
        assert_eq!(
            v.to_string(),
            "dNSName:badexample.test: not within any of permitted_dns_suffixes"
        );
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("\"not_permitted\""), "{json}");
        assert_eq!(serde_json::from_str::<NameViolation>(&json).unwrap(), v);
    }
}
