//! A profile's name rules (`[profile.NAME.names]`): the DNS names, e-mail
//! domains, IP addresses and subjects its certificates may carry.
//! [`prepare`](crate::prepare) applies them to the subject and
//! subjectAltNames the TBS certificate will carry, after the profile's
//! filtering, so every caller (RA or end entity, whatever the protocol) is
//! bound by them.

use std::net::IpAddr;
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use serde::Deserialize;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::Error;
use crate::name_match::{
    DNS_HINT, IpRange, NameRule, NameViolation, canonical_attributes, dns_within, email_domain,
    email_domain_matches, ip_from_octets, normalize_dns, parse_dn, parse_dns_suffix,
    parse_email_domain,
};
use crate::names::{self, ID_AT_COMMON_NAME};
use crate::prepare::dns_name_ok;

/// Most entries one list of `[profile.NAME.names]` may hold.
pub const MAX_NAME_RULE_ENTRIES: usize = 256;

/// `emailAddress` (PKCS #9), the e-mail attribute of a subject.
const ID_EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// `[profile.NAME.names]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNameRules {
    #[serde(default)]
    permitted_dns_suffixes: Vec<String>,
    #[serde(default)]
    excluded_dns_suffixes: Vec<String>,
    #[serde(default)]
    permitted_email_domains: Vec<String>,
    #[serde(default)]
    excluded_email_domains: Vec<String>,
    #[serde(default)]
    permitted_ip_ranges: Vec<String>,
    #[serde(default)]
    excluded_ip_ranges: Vec<String>,
    #[serde(default)]
    subject_patterns: Vec<String>,
}

/// The checked name rules of one profile. The default has no rules.
///
/// - DNS names (dNSName subjectAltNames, and a commonName holding a `.`
///   that is not an IP address) must lie within a permitted suffix, if any
///   are listed, and within no excluded one. A suffix covers itself and
///   every name under it on a label boundary: `example.test` covers
///   `example.test` and `a.example.test`, never `badexample.test`. Case and
///   one trailing dot are ignored. A wildcard `*.x` is checked as `x` against
///   the permitted suffixes, and is refused when `x` and an excluded suffix
///   overlap (either lies within the other). Such a commonName must be a
///   well-formed DNS name.
/// - E-mail addresses (rfc822Name subjectAltNames and emailAddress subject
///   attributes) are matched by domain, as RFC 5280 name constraints do:
///   `example.test` is that host only, `.example.test` every host under it.
/// - IP addresses (iPAddress subjectAltNames, and a commonName that is an IP
///   address) must lie in a permitted range, if any, and in no excluded one;
///   an IPv4 address and its IPv4-mapped IPv6 form are the same address.
/// - The subject must match one of the subject patterns, if any
///   ([`NameRules::check`] says how).
///
/// An excluded match always refuses; an empty permitted list restricts
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameRules {
    permitted_dns: Vec<String>,
    excluded_dns: Vec<String>,
    permitted_email: Vec<String>,
    excluded_email: Vec<String>,
    permitted_ip: Vec<IpRange>,
    excluded_ip: Vec<IpRange>,
    subject_patterns: Vec<SubjectPattern>,
}

/// One entry of `subject_patterns`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SubjectPattern {
    text: String,
    attributes: Vec<(ObjectIdentifier, PatternValue)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternValue {
    /// `*`: any value.
    Any,
    /// `*.suffix`: a value ending in `.suffix` with something before it
    /// (ASCII case ignored); the suffix is kept in lower case.
    Suffix(String),
    /// Anything else: exactly this value.
    Exact(String),
}

impl PatternValue {
    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Suffix(suffix) => {
                let value = value.to_ascii_lowercase();
                value
                    .strip_suffix(suffix.as_str())
                    .and_then(|head| head.strip_suffix('.'))
                    .is_some_and(|head| !head.is_empty())
            }
            Self::Exact(exact) => exact == value,
        }
    }
}

impl SubjectPattern {
    fn parse(text: &str) -> Result<Self, String> {
        let attributes = parse_dn(text)?
            .into_iter()
            .map(|a| {
                let value = if a.value == "*" {
                    PatternValue::Any
                } else if let Some(suffix) = a.value.strip_prefix("*.") {
                    if suffix.is_empty() || suffix.contains('*') {
                        return Err(format!("`{}`: `*.` needs a suffix after it", a.value));
                    }
                    PatternValue::Suffix(suffix.to_ascii_lowercase())
                } else if a.value.contains('*') {
                    return Err(format!(
                        "`{}`: `*` stands only for a whole value or as a leading `*.`",
                        a.value
                    ));
                } else {
                    PatternValue::Exact(a.value)
                };
                Ok((a.oid, value))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            text: text.to_owned(),
            attributes,
        })
    }

    fn matches(&self, subject: &[(ObjectIdentifier, Option<String>)]) -> bool {
        subject.len() == self.attributes.len()
            && subject
                .iter()
                .zip(&self.attributes)
                .all(|((oid, value), (want, pattern))| {
                    oid == want && value.as_deref().is_some_and(|v| pattern.matches(v))
                })
    }
}

impl NameRules {
    /// Check `[profile.{profile}.names]`.
    pub(crate) fn from_raw(profile: &str, raw: RawNameRules) -> Result<Self, Error> {
        let ip = |v: &str| IpRange::parse(v).map_err(|why| format!("`{v}`: {why}"));
        let pattern =
            |v: &str| SubjectPattern::parse(v).map_err(|why| format!("pattern `{v}`: {why}"));
        Ok(Self {
            permitted_dns: read_list(
                profile,
                "permitted_dns_suffixes",
                raw.permitted_dns_suffixes,
                parse_dns_suffix,
            )?,
            excluded_dns: read_list(
                profile,
                "excluded_dns_suffixes",
                raw.excluded_dns_suffixes,
                parse_dns_suffix,
            )?,
            permitted_email: read_list(
                profile,
                "permitted_email_domains",
                raw.permitted_email_domains,
                parse_email_domain,
            )?,
            excluded_email: read_list(
                profile,
                "excluded_email_domains",
                raw.excluded_email_domains,
                parse_email_domain,
            )?,
            permitted_ip: read_list(profile, "permitted_ip_ranges", raw.permitted_ip_ranges, ip)?,
            excluded_ip: read_list(profile, "excluded_ip_ranges", raw.excluded_ip_ranges, ip)?,
            subject_patterns: read_list(
                profile,
                "subject_patterns",
                raw.subject_patterns,
                pattern,
            )?,
        })
    }

    /// Whether there are no rules at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Every way in which a certificate with this `subject` and these
    /// subjectAltNames breaks the rules (empty when it does not).
    ///
    /// A subject pattern is a distinguished name in RFC 4514 text, written as
    /// x509-cert prints a `Name` (`CN=*,O=Example AB,C=SE`; the types of
    /// `subject.from_request` and dotted OIDs, RFC 4514 escapes). The subject
    /// matches it when both have the same attributes, one for one: the same
    /// number, the same types, compared in the order issued subjects list
    /// them (so the order of different types in the pattern does not matter;
    /// several attributes of one type are compared in the order written),
    /// and each value matching: `*` matches any value, `*.suffix` a value
    /// ending in `.suffix` with at least one character before the dot (ASCII
    /// case ignored), anything else exactly that value (the string type does
    /// not matter). A pattern cannot make an attribute optional: list one
    /// pattern per shape. The empty pattern `""` matches the empty subject.
    #[must_use]
    pub fn check(&self, subject: &Name, sans: &[GeneralName]) -> Vec<NameViolation> {
        let mut out = Vec::new();
        let attributes = canonical_attributes(subject);
        for (oid, value) in &attributes {
            let Some(value) = value else { continue };
            let label = format!("subject {}={value}", names::attribute_name(oid));
            if *oid == ID_AT_COMMON_NAME {
                if let Ok(addr) = IpAddr::from_str(value) {
                    self.check_ip(&label, addr, &mut out);
                } else if value.contains('.') {
                    self.check_dns(&label, value, &mut out);
                }
            } else if *oid == ID_EMAIL_ADDRESS {
                self.check_email(&label, value, &mut out);
            }
        }
        for gn in sans {
            let label = names::general_name_text(gn);
            match gn {
                GeneralName::DnsName(s) => self.check_dns(&label, s.as_str(), &mut out),
                GeneralName::Rfc822Name(s) => self.check_email(&label, s.as_str(), &mut out),
                GeneralName::IpAddress(o) => match ip_from_octets(o.as_bytes()) {
                    Some(addr) => self.check_ip(&label, addr, &mut out),
                    None if !(self.permitted_ip.is_empty() && self.excluded_ip.is_empty()) => {
                        out.push(malformed(label, "an IPv4 or IPv6 address"));
                    }
                    None => {}
                },
                _ => {}
            }
        }
        if !self.subject_patterns.is_empty()
            && !self.subject_patterns.iter().any(|p| p.matches(&attributes))
        {
            out.push(NameViolation::new(
                format!("subject {subject}"),
                NameRule::NoSubjectPattern,
            ));
        }
        out
    }

    fn check_dns(&self, label: &str, name: &str, out: &mut Vec<NameViolation>) {
        if self.permitted_dns.is_empty() && self.excluded_dns.is_empty() {
            return;
        }
        let name = normalize_dns(name);
        if !dns_name_ok(&name) {
            out.push(malformed(label, &format!("a DNS name{DNS_HINT}")));
            return;
        }
        let (base, wildcard) = match name.strip_prefix("*.") {
            Some(base) => (base, true),
            None => (name.as_str(), false),
        };
        let excluded = self
            .excluded_dns
            .iter()
            .find(|e| dns_within(base, e) || (wildcard && dns_within(e, base)));
        if let Some(entry) = excluded {
            out.push(excluded_by(label, "excluded_dns_suffixes", entry));
        } else if !self.permitted_dns.is_empty()
            && !self.permitted_dns.iter().any(|s| dns_within(base, s))
        {
            out.push(not_permitted(label, "permitted_dns_suffixes"));
        }
    }

    fn check_email(&self, label: &str, address: &str, out: &mut Vec<NameViolation>) {
        if self.permitted_email.is_empty() && self.excluded_email.is_empty() {
            return;
        }
        let Some(domain) = email_domain(address) else {
            out.push(malformed(label, "an e-mail address"));
            return;
        };
        let excluded = self
            .excluded_email
            .iter()
            .find(|c| email_domain_matches(&domain, c));
        if let Some(entry) = excluded {
            out.push(excluded_by(label, "excluded_email_domains", entry));
        } else if !self.permitted_email.is_empty()
            && !self
                .permitted_email
                .iter()
                .any(|c| email_domain_matches(&domain, c))
        {
            out.push(not_permitted(label, "permitted_email_domains"));
        }
    }

    fn check_ip(&self, label: &str, addr: IpAddr, out: &mut Vec<NameViolation>) {
        if let Some(entry) = self.excluded_ip.iter().find(|r| r.contains(addr)) {
            out.push(excluded_by(label, "excluded_ip_ranges", &entry.to_string()));
        } else if !self.permitted_ip.is_empty()
            && !self.permitted_ip.iter().any(|r| r.contains(addr))
        {
            out.push(not_permitted(label, "permitted_ip_ranges"));
        }
    }
}

/// Read one list of `[profile.{profile}.names]`, without duplicates.
fn read_list<T: PartialEq>(
    profile: &str,
    list: &str,
    values: Vec<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Error> {
    let field = || format!("profile.{profile}.names.{list}");
    if values.len() > MAX_NAME_RULE_ENTRIES {
        return Err(Error::config(
            field(),
            format!("more than {MAX_NAME_RULE_ENTRIES} entries"),
        ));
    }
    let mut out = Vec::new();
    for v in &values {
        let parsed = parse(v).map_err(|why| Error::config(field(), why))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn malformed(label: impl Into<String>, expected: &str) -> NameViolation {
    NameViolation::new(
        label,
        NameRule::Malformed {
            expected: expected.to_owned(),
        },
    )
}

fn excluded_by(label: &str, list: &str, entry: &str) -> NameViolation {
    NameViolation::new(
        label,
        NameRule::Excluded {
            list: list.to_owned(),
            entry: entry.to_owned(),
        },
    )
}

fn not_permitted(label: &str, list: &str) -> NameViolation {
    NameViolation::new(
        label,
        NameRule::NotPermitted {
            list: list.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use der::asn1::{Ia5String, OctetString};

    use super::*;

    fn rules(toml: &str) -> NameRules {
        let raw: RawNameRules = toml::from_str(toml).unwrap();
        NameRules::from_raw("p", raw).unwrap()
    }

    fn dns(s: &str) -> GeneralName {
        GeneralName::DnsName(Ia5String::new(s).unwrap())
    }

    fn email(s: &str) -> GeneralName {
        GeneralName::Rfc822Name(Ia5String::new(s).unwrap())
    }

    fn ip(bytes: &[u8]) -> GeneralName {
        GeneralName::IpAddress(OctetString::new(bytes).unwrap())
    }

    fn name(s: &str) -> Name {
        if s.is_empty() {
            Name::default()
        } else {
            s.parse().unwrap()
        }
    }

    fn rules_broken(r: &NameRules, subject: &str, sans: &[GeneralName]) -> Vec<String> {
        r.check(&name(subject), sans)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn no_rules_restrict_nothing() {
        let r = NameRules::default();
        assert!(r.is_empty());
        assert!(
            rules_broken(
                &r,
                "CN=anything.anywhere",
                &[dns("x.y"), email("a@b.c"), ip(&[10, 0, 0, 1])]
            )
            .is_empty()
        );
        assert!(!rules("permitted_dns_suffixes = [\"example.test\"]").is_empty());
    }

    #[test]
    fn dns_suffixes() {
        let r = rules(
            r#"permitted_dns_suffixes = ["example.test", "Other.TEST"]
               excluded_dns_suffixes = ["secret.example.test"]"#,
        );
        for ok in [
            "example.test",
            "a.example.test",
            "A.EXAMPLE.TEST",
            "b.other.test",
            "*.other.test",
            "*.a.example.test",
        ] {
            assert!(rules_broken(&r, "", &[dns(ok)]).is_empty(), "{ok}");
        }
        assert_eq!(
            rules_broken(&r, "", &[dns("badexample.test")]),
            ["dNSName:badexample.test: not within any of permitted_dns_suffixes"]
        );
        assert_eq!(
            rules_broken(&r, "", &[dns("x.Secret.example.test")]),
            [
                "dNSName:x.Secret.example.test: within `secret.example.test` of excluded_dns_suffixes"
            ]
        );
        // A wildcard over an excluded name is refused, from either side:
        // `*.example.test` matches secret.example.test.
        for w in [
            "*.example.test",
            "*.secret.example.test",
            "*.x.secret.example.test",
        ] {
            let r2 = rules(r#"excluded_dns_suffixes = ["secret.example.test"]"#);
            assert_eq!(rules_broken(&r2, "", &[dns(w)]).len(), 1, "{w}");
        }
        assert!(rules_broken(&r, "", &[dns("*.test")]).len() == 1);
        // A trailing dot is the same name.
        assert_eq!(rules_broken(&r, "", &[dns("evil.test.")]).len(), 1);
        assert!(rules_broken(&r, "", &[dns("a.example.test.")]).is_empty());
    }

    #[test]
    fn common_names_that_are_dns_names_or_addresses() {
        let r = rules(
            r#"permitted_dns_suffixes = ["example.test"]
               permitted_ip_ranges = ["192.0.2.0/24"]"#,
        );
        assert!(rules_broken(&r, "CN=www.example.test,O=Example", &[]).is_empty());
        assert!(rules_broken(&r, "CN=alice", &[]).is_empty());
        assert!(rules_broken(&r, "CN=Alice Smith", &[]).is_empty());
        assert!(rules_broken(&r, "CN=192.0.2.9", &[]).is_empty());
        assert_eq!(
            rules_broken(&r, "CN=www.evil.test", &[]),
            ["subject CN=www.evil.test: not within any of permitted_dns_suffixes"]
        );
        assert_eq!(rules_broken(&r, "CN=WWW.EVIL.TEST.", &[]).len(), 1);
        assert_eq!(
            rules_broken(&r, "CN=198.51.100.1", &[]),
            ["subject CN=198.51.100.1: not within any of permitted_ip_ranges"]
        );
        // A CN with a dot that is no DNS name cannot hide a host name.
        let v = r.check(&name("CN=evil.test\\00.example.test"), &[]);
        assert!(matches!(v[0].rule, NameRule::Malformed { .. }), "{v:?}");
        assert_eq!(rules_broken(&r, "CN=Example Corp.", &[]).len(), 1);
    }

    #[test]
    fn email_domains() {
        let r = rules(
            r#"permitted_email_domains = ["example.test", ".corp.test"]
               excluded_email_domains = ["hr.corp.test"]"#,
        );
        for ok in ["a@example.test", "a@EXAMPLE.test", "b@x.corp.test"] {
            assert!(rules_broken(&r, "", &[email(ok)]).is_empty(), "{ok}");
        }
        for bad in [
            "a@mail.example.test",
            "a@corp.test",
            "a@badexample.test",
            "a@hr.corp.test",
            "a@evil.test",
            "nodomain",
        ] {
            assert_eq!(rules_broken(&r, "", &[email(bad)]).len(), 1, "{bad}");
        }
        assert_eq!(
            rules_broken(&r, "CN=x,emailAddress=eve@evil.test", &[]),
            ["subject emailAddress=eve@evil.test: not within any of permitted_email_domains"]
        );
    }

    #[test]
    fn ip_ranges() {
        let r = rules(
            r#"permitted_ip_ranges = ["10.0.0.0/8", "2001:db8::/32"]
               excluded_ip_ranges = ["10.66.0.0/16"]"#,
        );
        assert!(rules_broken(&r, "", &[ip(&[10, 1, 2, 3])]).is_empty());
        let mut v6 = [0u8; 16];
        v6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        assert!(rules_broken(&r, "", &[ip(&v6)]).is_empty());
        assert_eq!(
            rules_broken(&r, "", &[ip(&[10, 66, 0, 1])]),
            ["iPAddress:10.66.0.1: within `10.66.0.0/16` of excluded_ip_ranges"]
        );
        // ::ffff:10.66.0.1 is 10.66.0.1.
        let mut mapped = [0u8; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 10, 66, 0, 1]);
        assert_eq!(rules_broken(&r, "", &[ip(&mapped)]).len(), 1);
        assert_eq!(
            rules_broken(&r, "", &[ip(&[192, 0, 2, 1])]),
            ["iPAddress:192.0.2.1: not within any of permitted_ip_ranges"]
        );
        assert_eq!(rules_broken(&r, "", &[ip(&[1, 2, 3])]).len(), 1);
    }

    #[test]
    fn subject_patterns() {
        let r =
            rules(r#"subject_patterns = ["CN=*,O=Example AB,C=SE", "C=SE,CN=*.example.test", ""]"#);
        for ok in [
            "CN=anyone,O=Example AB,C=SE",
            "CN=www.example.test,C=SE",
            "CN=WWW.Example.Test,C=SE",
            "",
        ] {
            assert!(rules_broken(&r, ok, &[]).is_empty(), "{ok}");
        }
        for bad in [
            "CN=anyone,O=Example AB",
            "CN=anyone,O=Example AB,C=SE,OU=extra",
            "CN=anyone,O=Example ABC,C=SE",
            "CN=anyone,O=example ab,C=SE",
            "CN=example.test,C=SE",
            "CN=badexample.test,C=SE",
            "CN=www.example.test,C=US",
        ] {
            assert_eq!(
                rules_broken(&r, bad, &[]),
                [format!("subject {bad}: matches none of subject_patterns")],
                "{bad}"
            );
        }
        // Two attributes of one type are compared in order.
        let r = rules(r#"subject_patterns = ["CN=*,OU=Dev,OU=*"]"#);
        assert!(rules_broken(&r, "CN=a,OU=Dev,OU=Team 1", &[]).is_empty());
        assert_eq!(rules_broken(&r, "CN=a,OU=Team 1,OU=Dev", &[]).len(), 1);
    }

    #[test]
    fn bad_rules_are_refused_with_the_field() {
        for (toml, field) in [
            (
                r#"permitted_dns_suffixes = [".example.test"]"#,
                "permitted_dns_suffixes",
            ),
            (
                r#"excluded_dns_suffixes = ["*.example.test"]"#,
                "excluded_dns_suffixes",
            ),
            (
                r#"permitted_dns_suffixes = ["exa mple"]"#,
                "permitted_dns_suffixes",
            ),
            (
                r#"permitted_email_domains = ["a@example.test"]"#,
                "permitted_email_domains",
            ),
            (
                r#"excluded_email_domains = ["*.example.test"]"#,
                "excluded_email_domains",
            ),
            (
                r#"permitted_ip_ranges = ["10.0.0.1/8"]"#,
                "permitted_ip_ranges",
            ),
            (
                r#"excluded_ip_ranges = ["10.0.0.0/40"]"#,
                "excluded_ip_ranges",
            ),
            (r#"subject_patterns = ["CN=a*b"]"#, "subject_patterns"),
            (r#"subject_patterns = ["CN=*."]"#, "subject_patterns"),
            (r#"subject_patterns = ["CN=a+OU=b"]"#, "subject_patterns"),
            (r#"subject_patterns = ["shoeSize=44"]"#, "subject_patterns"),
        ] {
            let raw: RawNameRules = toml::from_str(toml).unwrap();
            match NameRules::from_raw("p", raw) {
                Err(Error::Config { field: f, .. }) => {
                    assert_eq!(f, format!("profile.p.names.{field}"), "{toml}");
                }
                other => panic!("{toml}: {other:?}"),
            }
        }
        let many = format!(
            "permitted_dns_suffixes = [{}]",
            (0..=MAX_NAME_RULE_ENTRIES)
                .map(|i| format!("\"h{i}.test\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let raw: RawNameRules = toml::from_str(&many).unwrap();
        assert!(NameRules::from_raw("p", raw).is_err());
        assert!(toml::from_str::<RawNameRules>("permitted_dns = []").is_err());
    }
}
