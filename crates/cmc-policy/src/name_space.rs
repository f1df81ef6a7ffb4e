//! The names a principal is registered for ([`NameSpace`]), and the names a
//! renewal may keep ([`within_certificate`]). The engine checks a prepared
//! certificate's subject and subjectAltNames
//! ([`Prepared::subject`](crate::Prepared::subject),
//! [`Prepared::subject_alt_names`](crate::Prepared::subject_alt_names))
//! against them between `prepare` and signing.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::Error;
use crate::name_match::{
    DNS_HINT, IpRange, NameRule, NameViolation, TextAttribute, canonical_attributes, dns_within,
    email_domain, ip_from_octets, normalize_dns, parse_dn,
};
use crate::names::{self, ID_AT_COMMON_NAME};
use crate::prepare::dns_name_ok;

/// Most entries of one kind (DNS names, e-mail addresses, IP ranges) a
/// [`NameSpace`] may hold.
pub const MAX_NAME_SPACE_ENTRIES: usize = 256;

/// `emailAddress` (PKCS #9).
const ID_EMAIL_ADDRESS: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// The names a principal (a registered client, the owner of a one-time
/// secret) is registered for: the certificates it may ask for.
///
/// - **subject** (`--subject`, optional): an exact distinguished name in
///   RFC 4514 text (`CN=eve,O=Example AB,C=SE`). When set, the certificate's
///   subject must equal it: the same attributes, one for one, the same text
///   (the string type does not matter), in the order issued subjects list
///   them (so the order of different types as written does not matter).
///   When not set, each commonName and emailAddress of the subject must be a
///   name of this space: a commonName that is an IP address must lie in an
///   IP range, one with an `@` must be a registered e-mail address, any
///   other must be a registered DNS name; the other attribute types
///   (O, OU, C, ...) are left to the profile.
/// - **DNS names** (`--dns`): `host.example.test` is that name only (case
///   and one trailing dot ignored); `.example.test` or `*.example.test` is
///   the subtree: every name strictly under example.test, including
///   wildcards such as `*.example.test` and `*.a.example.test`, but not
///   example.test itself (register it too if wanted). A wildcard
///   subjectAltName `*.x` needs a subtree entry covering everything it
///   matches.
/// - **e-mail addresses** (`--email`): exact addresses; the local part is
///   compared exactly, the domain ignoring case.
/// - **IP addresses** (`--ip`): an address or a CIDR range (IPv4 or IPv6);
///   an IPv4 address and its IPv4-mapped IPv6 form are the same address.
///
/// Every subjectAltName must be a name of the space; a kind with no entries
/// (and every other GeneralName type) allows none. An empty space
/// ([`NameSpace::is_empty`]) is "not registered": it allows no names, and it
/// is the engine's choice to fall back on the profile's rules alone.
///
/// Serialised with serde as `{"subject": "...", "dns": [...], "email":
/// [...], "ip": [...]}` (empty parts left out); reading it checks it again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawNameSpace", into = "RawNameSpace")]
pub struct NameSpace {
    subject: Option<RegisteredSubject>,
    dns: Vec<DnsEntry>,
    email: Vec<String>,
    ip: Vec<IpRange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct RegisteredSubject {
    /// As given.
    text: String,
    /// As issued subjects list them.
    attributes: Vec<TextAttribute>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DnsEntry {
    /// This name only (normalised).
    Exact(String),
    /// Every name strictly under this one (normalised).
    Subtree(String),
}

impl fmt::Display for DnsEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(n) => f.write_str(n),
            Self::Subtree(n) => write!(f, ".{n}"),
        }
    }
}

/// The stored form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNameSpace {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    email: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ip: Vec<String>,
}

impl TryFrom<RawNameSpace> for NameSpace {
    type Error = Error;

    fn try_from(raw: RawNameSpace) -> Result<Self, Error> {
        Self::from_args(raw.subject.as_deref(), &raw.dns, &raw.email, &raw.ip)
    }
}

impl From<NameSpace> for RawNameSpace {
    fn from(space: NameSpace) -> Self {
        Self {
            subject: space.subject.map(|s| s.text),
            dns: space.dns.iter().map(ToString::to_string).collect(),
            email: space.email,
            ip: space.ip.iter().map(ToString::to_string).collect(),
        }
    }
}

impl NameSpace {
    /// An empty name space.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A name space from command-line values: `--subject`, and each
    /// `--dns`, `--email`, `--ip` given.
    ///
    /// # Errors
    /// [`Error::InvalidName`] naming the first value refused.
    pub fn from_args<S: AsRef<str>>(
        subject: Option<&str>,
        dns: &[S],
        email: &[S],
        ip: &[S],
    ) -> Result<Self, Error> {
        let mut space = Self::new();
        if let Some(s) = subject {
            space.set_subject(s)?;
        }
        for d in dns {
            space.add_dns(d.as_ref())?;
        }
        for e in email {
            space.add_email(e.as_ref())?;
        }
        for i in ip {
            space.add_ip(i.as_ref())?;
        }
        Ok(space)
    }

    /// Register the exact subject (RFC 4514 text, as x509-cert prints a
    /// `Name`; the attribute types profiles name, or dotted OIDs).
    ///
    /// # Errors
    /// [`Error::InvalidName`] if the text is not such a name or is empty.
    pub fn set_subject(&mut self, dn: &str) -> Result<(), Error> {
        let attributes = parse_dn(dn).map_err(|why| Error::invalid_name("subject", dn, why))?;
        if attributes.is_empty() {
            return Err(Error::invalid_name(
                "subject",
                dn,
                "the subject is empty; leave it out instead",
            ));
        }
        self.subject = Some(RegisteredSubject {
            text: dn.to_owned(),
            attributes,
        });
        Ok(())
    }

    /// Register a DNS name (`host.example.test`) or a subtree
    /// (`.example.test` or `*.example.test`).
    ///
    /// # Errors
    /// [`Error::InvalidName`] if it is not a DNS name, or the space holds
    /// [`MAX_NAME_SPACE_ENTRIES`] already.
    pub fn add_dns(&mut self, name: &str) -> Result<(), Error> {
        let lower = name.to_ascii_lowercase();
        let entry = match lower.strip_prefix("*.").or_else(|| lower.strip_prefix('.')) {
            Some(root) => DnsEntry::Subtree(root.to_owned()),
            None => DnsEntry::Exact(lower.clone()),
        };
        let (DnsEntry::Exact(n) | DnsEntry::Subtree(n)) = &entry;
        if n.contains('*') || !dns_name_ok(n) {
            return Err(Error::invalid_name(
                "DNS name",
                name,
                format!("give host.example.test, or .example.test for a subtree{DNS_HINT}"),
            ));
        }
        push_capped(&mut self.dns, entry, "DNS name", name)
    }

    /// Register an e-mail address (`alice@example.test`).
    ///
    /// # Errors
    /// [`Error::InvalidName`] if it is not an address with a local part and
    /// a domain, or the space holds [`MAX_NAME_SPACE_ENTRIES`] already.
    pub fn add_email(&mut self, address: &str) -> Result<(), Error> {
        let normalised = normalize_email(address)
            .filter(|_| !address.ends_with('.'))
            .ok_or_else(|| {
                Error::invalid_name(
                    "e-mail address",
                    address,
                    "give local@domain, the domain a DNS name",
                )
            })?;
        push_capped(&mut self.email, normalised, "e-mail address", address)
    }

    /// Register an IP address or a CIDR range (`192.0.2.7`,
    /// `192.0.2.0/24`, `2001:db8::/32`).
    ///
    /// # Errors
    /// [`Error::InvalidName`] if it is neither, or the space holds
    /// [`MAX_NAME_SPACE_ENTRIES`] already.
    pub fn add_ip(&mut self, range: &str) -> Result<(), Error> {
        let parsed = IpRange::from_str(range)?;
        push_capped(&mut self.ip, parsed, "IP range", range)
    }

    /// Whether nothing is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.subject.is_none() && self.dns.is_empty() && self.email.is_empty() && self.ip.is_empty()
    }

    /// The registered subject, as it was given.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_ref().map(|s| s.text.as_str())
    }

    /// The registered DNS names, subtrees as `.example.test`.
    #[must_use]
    pub fn dns_names(&self) -> Vec<String> {
        self.dns.iter().map(ToString::to_string).collect()
    }

    /// The registered e-mail addresses (domains in lower case).
    #[must_use]
    pub fn email_addresses(&self) -> &[String] {
        &self.email
    }

    /// The registered IP addresses and ranges.
    #[must_use]
    pub fn ip_ranges(&self) -> &[IpRange] {
        &self.ip
    }

    /// Check a prepared certificate's subject and subjectAltNames against
    /// the space (see [`NameSpace`] for the rules).
    ///
    /// # Errors
    /// The first name outside the space, with
    /// [`NameRule::OutsideNameSpace`].
    pub fn check(&self, subject: &Name, sans: &[GeneralName]) -> Result<(), NameViolation> {
        let outside = |name: String| Err(NameViolation::new(name, NameRule::OutsideNameSpace));
        let attributes = canonical_attributes(subject);
        if let Some(registered) = &self.subject {
            let same = attributes.len() == registered.attributes.len()
                && attributes
                    .iter()
                    .zip(&registered.attributes)
                    .all(|((oid, value), want)| {
                        *oid == want.oid && value.as_deref() == Some(want.value.as_str())
                    });
            if !same {
                return outside(format!("subject {subject}"));
            }
        } else {
            for (oid, value) in &attributes {
                let label = || {
                    format!(
                        "subject {}={}",
                        names::attribute_name(oid),
                        value.as_deref().unwrap_or("(binary)")
                    )
                };
                let covered = match value.as_deref() {
                    _ if *oid != ID_AT_COMMON_NAME && *oid != ID_EMAIL_ADDRESS => true,
                    None => false,
                    Some(v) if *oid == ID_EMAIL_ADDRESS => self.covers_email(v),
                    Some(v) => match IpAddr::from_str(v) {
                        Ok(addr) => self.covers_ip(addr),
                        Err(_) if v.contains('@') => self.covers_email(v),
                        Err(_) => self.covers_dns(v),
                    },
                };
                if !covered {
                    return outside(label());
                }
            }
        }
        for gn in sans {
            let covered = match gn {
                GeneralName::DnsName(s) => self.covers_dns(s.as_str()),
                GeneralName::Rfc822Name(s) => self.covers_email(s.as_str()),
                GeneralName::IpAddress(o) => {
                    ip_from_octets(o.as_bytes()).is_some_and(|a| self.covers_ip(a))
                }
                _ => false,
            };
            if !covered {
                return outside(names::general_name_text(gn));
            }
        }
        Ok(())
    }

    fn covers_dns(&self, name: &str) -> bool {
        let name = normalize_dns(name);
        if !dns_name_ok(&name) {
            return false;
        }
        match name.strip_prefix("*.") {
            // Every name the wildcard matches is strictly under `base`.
            Some(base) => self
                .dns
                .iter()
                .any(|e| matches!(e, DnsEntry::Subtree(root) if dns_within(base, root))),
            None => self.dns.iter().any(|e| match e {
                DnsEntry::Exact(n) => *n == name,
                DnsEntry::Subtree(root) => name != *root && dns_within(&name, root),
            }),
        }
    }

    fn covers_email(&self, address: &str) -> bool {
        normalize_email(address).is_some_and(|a| self.email.contains(&a))
    }

    fn covers_ip(&self, addr: IpAddr) -> bool {
        self.ip.iter().any(|r| r.contains(addr))
    }
}

impl fmt::Display for NameSpace {
    /// `subject=CN=eve dns=a.example.test,.example.test email=... ip=...`,
    /// or `(none)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.subject {
            parts.push(format!("subject={}", s.text));
        }
        if !self.dns.is_empty() {
            parts.push(format!("dns={}", self.dns_names().join(",")));
        }
        if !self.email.is_empty() {
            parts.push(format!("email={}", self.email.join(",")));
        }
        if !self.ip.is_empty() {
            let ip: Vec<String> = self.ip.iter().map(ToString::to_string).collect();
            parts.push(format!("ip={}", ip.join(",")));
        }
        if parts.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// `local@domain` with the domain in lower case, when well formed.
fn normalize_email(address: &str) -> Option<String> {
    let domain = email_domain(address)?;
    let (local, _) = address.rsplit_once('@')?;
    local
        .bytes()
        .all(|b| b.is_ascii_graphic())
        .then(|| format!("{local}@{domain}"))
}

fn push_capped<T: PartialEq>(
    list: &mut Vec<T>,
    entry: T,
    kind: &str,
    value: &str,
) -> Result<(), Error> {
    if list.contains(&entry) {
        return Ok(());
    }
    if list.len() >= MAX_NAME_SPACE_ENTRIES {
        return Err(Error::invalid_name(
            kind,
            value,
            format!("a name space holds at most {MAX_NAME_SPACE_ENTRIES} of each kind"),
        ));
    }
    list.push(entry);
    Ok(())
}

/// Whether a renewal stays within the certificate it renews (RFC 5272
/// renewal): `subject` must equal the old certificate's subject, RDN by RDN
/// in the same order, each attribute of the same type and value (values
/// compared as text when both are UTF8String, PrintableString or IA5String,
/// else byte for byte); every subjectAltName in `sans` must appear in the
/// old certificate's subjectAltName extension (DNS names ignoring case and
/// one trailing dot, e-mail domains ignoring case, everything else byte for
/// byte). A subset is fine; more never is.
///
/// # Errors
/// [`NameRule::SubjectChanged`] for another subject,
/// [`NameRule::NotInRenewedCertificate`] for the first new name, and
/// [`NameRule::Malformed`] when the old certificate's subjectAltName
/// extension does not decode.
pub fn within_certificate(
    old: &Certificate,
    subject: &Name,
    sans: &[GeneralName],
) -> Result<(), NameViolation> {
    let old_tbs = old.tbs_certificate();
    let old_subject = old_tbs.subject();
    if !same_name(old_subject, subject) {
        return Err(NameViolation::new(
            format!("subject {subject}"),
            NameRule::SubjectChanged {
                renewed: old_subject.to_string(),
            },
        ));
    }
    let old_sans = match old_tbs.get_extension::<SubjectAltName>() {
        Ok(found) => found.map(|(_, san)| san.0).unwrap_or_default(),
        Err(_) => {
            return Err(NameViolation::new(
                "subjectAltName of the certificate being renewed",
                NameRule::Malformed {
                    expected: "a subjectAltName extension".into(),
                },
            ));
        }
    };
    match sans
        .iter()
        .find(|new| !old_sans.iter().any(|o| same_general_name(o, new)))
    {
        Some(new) => Err(NameViolation::new(
            names::general_name_text(new),
            NameRule::NotInRenewedCertificate,
        )),
        None => Ok(()),
    }
}

fn same_name(a: &Name, b: &Name) -> bool {
    let (a, b): (Vec<_>, Vec<_>) = (a.iter_rdn().collect(), b.iter_rdn().collect());
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_attribute(p, q))
        })
}

fn same_attribute(a: &AttributeTypeAndValue, b: &AttributeTypeAndValue) -> bool {
    a.oid == b.oid
        && (a.value == b.value
            || matches!(
                (names::attribute_text(&a.value), names::attribute_text(&b.value)),
                (Some(x), Some(y)) if x == y
            ))
}

fn same_general_name(old: &GeneralName, new: &GeneralName) -> bool {
    match (old, new) {
        (GeneralName::DnsName(a), GeneralName::DnsName(b)) => {
            normalize_dns(a.as_str()) == normalize_dns(b.as_str())
        }
        (GeneralName::Rfc822Name(a), GeneralName::Rfc822Name(b)) => {
            match (normalize_email(a.as_str()), normalize_email(b.as_str())) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            }
        }
        _ => old == new,
    }
}

#[cfg(test)]
mod tests {
    use der::asn1::{Ia5String, OctetString};

    use super::*;

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
        s.parse().unwrap()
    }

    fn space() -> NameSpace {
        NameSpace::from_args(
            None,
            &["www.example.test", ".apps.example.test"],
            &["Alice@Example.TEST"],
            &["192.0.2.0/24", "2001:db8::1"],
        )
        .unwrap()
    }

    #[test]
    fn dns_entries() {
        let s = space();
        for ok in [
            "www.example.test",
            "WWW.example.test.",
            "a.apps.example.test",
            "a.b.apps.example.test",
            "*.apps.example.test",
            "*.x.apps.example.test",
        ] {
            assert!(s.check(&Name::default(), &[dns(ok)]).is_ok(), "{ok}");
        }
        for bad in [
            "example.test",
            "a.www.example.test",
            "apps.example.test",
            "badapps.example.test",
            "*.example.test",
            "evil.test",
        ] {
            let v = s.check(&Name::default(), &[dns(bad)]).unwrap_err();
            assert_eq!(v.name, format!("dNSName:{bad}"));
            assert_eq!(v.rule, NameRule::OutsideNameSpace);
        }
        // `*.x` and `.x` register the same subtree.
        let star = NameSpace::from_args(None, &["*.apps.example.test"], &[], &[]).unwrap();
        let dot = NameSpace::from_args(None, &[".apps.example.test"], &[], &[]).unwrap();
        assert_eq!(star, dot);
    }

    #[test]
    fn emails_ips_and_other_types() {
        let s = space();
        assert!(
            s.check(&Name::default(), &[email("Alice@example.test")])
                .is_ok()
        );
        assert!(
            s.check(&Name::default(), &[email("alice@example.test")])
                .is_err()
        );
        assert!(
            s.check(&Name::default(), &[email("Alice@mail.example.test")])
                .is_err()
        );
        assert!(s.check(&Name::default(), &[ip(&[192, 0, 2, 200])]).is_ok());
        assert!(s.check(&Name::default(), &[ip(&[192, 0, 3, 1])]).is_err());
        let mut mapped = [0u8; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 192, 0, 2, 1]);
        assert!(s.check(&Name::default(), &[ip(&mapped)]).is_ok());
        let uri = GeneralName::UniformResourceIdentifier(Ia5String::new("https://x").unwrap());
        assert_eq!(
            s.check(&Name::default(), &[uri]).unwrap_err().name,
            "uniformResourceIdentifier:https://x"
        );
        // An empty space allows no names at all.
        assert!(NameSpace::new().is_empty());
        assert!(
            NameSpace::new()
                .check(&Name::default(), &[dns("a.test")])
                .is_err()
        );
    }

    #[test]
    fn subjects() {
        let s = space();
        // Without a registered subject, CN and emailAddress must be names of
        // the space; other attributes are the profile's.
        assert!(
            s.check(&name("CN=www.example.test,O=Any,C=SE"), &[])
                .is_ok()
        );
        assert!(s.check(&name("CN=192.0.2.1"), &[]).is_ok());
        assert!(s.check(&name("CN=Alice@example.test"), &[]).is_ok());
        let v = s.check(&name("CN=admin,O=Any"), &[]).unwrap_err();
        assert_eq!(
            v.to_string(),
            "subject CN=admin: outside the names the requester is registered for"
        );
        assert!(
            s.check(
                &name("CN=x.apps.example.test,emailAddress=bob@example.test"),
                &[]
            )
            .is_err()
        );

        let eve = NameSpace::from_args(Some("CN=eve, O=Example AB,C=SE"), &[] as &[&str], &[], &[])
            .unwrap();
        assert!(eve.check(&name("CN=eve,O=Example AB,C=SE"), &[]).is_ok());
        // The order of different types as registered does not matter.
        let eve2 = NameSpace::from_args(Some("C=SE,CN=eve,O=Example AB"), &[] as &[&str], &[], &[])
            .unwrap();
        assert!(eve2.check(&name("CN=eve,O=Example AB,C=SE"), &[]).is_ok());
        for bad in [
            "CN=admin,O=Example AB,C=SE",
            "CN=eve,O=Example AB",
            "CN=Eve,O=Example AB,C=SE",
            "CN=eve,OU=x,O=Example AB,C=SE",
        ] {
            let v = eve.check(&name(bad), &[]).unwrap_err();
            assert_eq!(v.name, format!("subject {bad}"));
        }
        // With a subject only, no subjectAltName is allowed.
        assert!(
            eve.check(&name("CN=eve,O=Example AB,C=SE"), &[dns("eve.test")])
                .is_err()
        );
    }

    #[test]
    fn parsing_and_storing() {
        for (dns_, email_, ip_) in [
            (vec!["exa mple.test"], vec![], vec![]),
            (vec!["a.*.test"], vec![], vec![]),
            (vec!["example.test."], vec![], vec![]),
            (vec![], vec!["example.test"], vec![]),
            (vec![], vec!["@example.test"], vec![]),
            (vec![], vec!["a@example.test."], vec![]),
            (vec![], vec![], vec!["10.0.0.1/8"]),
            (vec![], vec![], vec!["example.test"]),
        ] {
            let r = NameSpace::from_args(None, &dns_, &email_, &ip_);
            assert!(
                matches!(r, Err(Error::InvalidName { .. })),
                "{dns_:?} {email_:?} {ip_:?}: {r:?}"
            );
        }
        assert!(NameSpace::from_args(Some("CN=a+OU=b"), &[] as &[&str], &[], &[]).is_err());
        assert!(NameSpace::from_args(Some(""), &[] as &[&str], &[], &[]).is_err());
        let many: Vec<String> = (0..=MAX_NAME_SPACE_ENTRIES)
            .map(|i| format!("h{i}.test"))
            .collect();
        assert!(NameSpace::from_args(None, &many, &[], &[]).is_err());

        let mut s = space();
        s.set_subject("CN=www.example.test,O=Example").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"subject":"CN=www.example.test,O=Example","dns":["www.example.test",".apps.example.test"],"email":["Alice@example.test"],"ip":["192.0.2.0/24","2001:db8::1"]}"#
        );
        assert_eq!(serde_json::from_str::<NameSpace>(&json).unwrap(), s);
        assert_eq!(serde_json::to_string(&NameSpace::new()).unwrap(), "{}");
        assert!(serde_json::from_str::<NameSpace>(r#"{"dns":["bad name"]}"#).is_err());
        assert!(serde_json::from_str::<NameSpace>(r#"{"dnz":[]}"#).is_err());
        assert_eq!(
            s.to_string(),
            "subject=CN=www.example.test,O=Example dns=www.example.test,.apps.example.test \
             email=Alice@example.test ip=192.0.2.0/24,2001:db8::1"
        );
        assert_eq!(NameSpace::new().to_string(), "(none)");
    }
}
