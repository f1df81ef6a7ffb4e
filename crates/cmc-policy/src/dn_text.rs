//! The RFC 4514 text of a distinguished name, as `x509-cert` writes it,
//! without its cost.
//!
//! `x509-cert`'s `Display` finds each attribute type's short name by
//! walking const-oid's whole OID database (thousands of entries) for every
//! attribute of every name: about a hundred thousand instructions per
//! enrollment, the names of the request, the issued subject and the
//! clients compared. [`name_text`] writes the same text byte for byte and
//! remembers the short name of each attribute type it has seen. The text
//! is what the store keeps (certificate subjects, client subject keys), so
//! it must not change: the tests compare it with `x509-cert`'s on names
//! that exercise every escape.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, PoisonError, RwLock};

use const_oid::ObjectIdentifier;
use const_oid::db::DB;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence};

/// Attribute types remembered at most (a request may carry any OIDs; past
/// this many, names are looked up without being remembered).
const MAX_REMEMBERED: usize = 256;

type ShortNames = RwLock<HashMap<ObjectIdentifier, Option<Box<str>>>>;

fn short_names() -> &'static ShortNames {
    static NAMES: OnceLock<ShortNames> = OnceLock::new();
    NAMES.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The shortest of const-oid's names for `oid` (the first one of that
/// length), upper-cased: what `x509-cert` writes before the `=`.
fn lookup(oid: &ObjectIdentifier) -> Option<Box<str>> {
    let mut best: Option<&str> = None;
    for name in DB.find_names_for_oid(*oid) {
        if best.is_none_or(|b| name.len() < b.len()) {
            best = Some(name);
        }
    }
    best.map(|b| b.to_ascii_uppercase().into_boxed_str())
}

/// Writes the short name of `oid` and `=` to `out`; false if it has none.
fn push_type(oid: &ObjectIdentifier, out: &mut String) -> bool {
    let names = short_names();
    let push = |name: &Option<Box<str>>, out: &mut String| {
        name.as_deref().is_some_and(|n| {
            out.push_str(n);
            out.push('=');
            true
        })
    };
    if let Some(name) = names
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(oid)
    {
        return push(name, out);
    }
    let name = lookup(oid);
    let found = push(&name, out);
    let mut map = names.write().unwrap_or_else(PoisonError::into_inner);
    if map.len() < MAX_REMEMBERED {
        map.insert(*oid, name);
    }
    found
}

/// The value as text, for the string types `x509-cert` writes as text.
fn value_str(atv: &AttributeTypeAndValue) -> Option<&str> {
    let v = &atv.value;
    match v.tag() {
        Tag::PrintableString => PrintableStringRef::try_from(v).ok().map(|s| s.as_str()),
        Tag::Utf8String => Utf8StringRef::try_from(v).ok().map(|s| s.as_str()),
        Tag::Ia5String => Ia5StringRef::try_from(v).ok().map(|s| s.as_str()),
        Tag::TeletexString => TeletexStringRef::try_from(v).ok().map(|s| s.as_str()),
        _ => None,
    }
}

/// Writes `value` escaped as RFC 4514 §2.4 (and `x509-cert`) say.
fn push_escaped(value: &str, out: &mut String) {
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || chars.peek().is_none() => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x00'..='\x1f' | '\x7f' => {
                // Cannot fail: writing to a String.
                let _ = write!(out, "\\{:02x}", c as u8);
            }
            _ => out.push(c),
        }
    }
}

fn push_atv(atv: &AttributeTypeAndValue, out: &mut String) {
    if let Some(value) = value_str(atv) {
        let mark = out.len();
        if push_type(&atv.oid, out) {
            push_escaped(value, out);
            return;
        }
        out.truncate(mark);
    }
    // A type without a short name or a value that is not text: the dotted
    // OID and the hex DER, written by x509-cert itself (rare).
    let _ = write!(out, "{atv}");
}

/// The RFC 4514 text of `name`, exactly as `name.to_string()` writes it
/// (last RDN first, `,` between RDNs, `+` inside one).
#[must_use]
pub fn name_text(name: &Name) -> String {
    let rdns: &RdnSequence = name.as_ref();
    let rdns: &Vec<_> = rdns.as_ref();
    let mut out = String::with_capacity(64);
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            push_atv(atv, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use der::asn1::{Any, BmpString, SetOfVec, TeletexStringRef};
    use der::{Decode, Encode};
    use x509_cert::name::RelativeDistinguishedName;

    use super::*;

    fn atv(oid: &str, value: Any) -> AttributeTypeAndValue {
        AttributeTypeAndValue {
            oid: ObjectIdentifier::new_unwrap(oid),
            value,
        }
    }

    fn text_value(tag: Tag, s: &str) -> Any {
        Any::new(tag, s.as_bytes()).unwrap()
    }

    fn name_of(rdns: Vec<Vec<AttributeTypeAndValue>>) -> Name {
        let mut seq = RdnSequence::default();
        for rdn in rdns {
            let set = SetOfVec::try_from(rdn).unwrap();
            seq.push(RelativeDistinguishedName::from(set));
        }
        // Through DER, as names reach us.
        Name::from_der(&seq.to_der().unwrap()).unwrap()
    }

    fn assert_same(name: &Name) {
        assert_eq!(name_text(name), name.to_string());
    }

    #[test]
    fn common_names_read_as_x509_cert_writes_them() {
        for s in [
            "CN=Alice,O=Example,C=SE",
            "CN=www.example.com",
            "CN=a+SN=b,OU=Unit,O=Org,L=Stockholm,ST=Stockholm,C=SE",
            "UID=jdoe,DC=example,DC=com",
            "CN=Own RA",
        ] {
            let name = Name::from_str(s).unwrap();
            assert_eq!(name_text(&name), s);
            assert_same(&name);
        }
        assert_same(&Name::default());
    }

    #[test]
    fn every_escape_matches() {
        let cn = "2.5.4.3";
        for value in [
            "#hash first",
            "in#side",
            " leading",
            "trailing ",
            " ",
            "  ",
            "a\"b+c,d;e<f>g\\h",
            "tab\there",
            "nul\u{0}del\u{7f}",
            "\u{1f}",
            "ÅÄÖ åäö 日本",
            "",
        ] {
            for tag in [Tag::Utf8String, Tag::Ia5String, Tag::TeletexString] {
                if tag != Tag::Utf8String && !value.is_ascii() {
                    continue;
                }
                assert_same(&name_of(vec![vec![atv(cn, text_value(tag, value))]]));
            }
        }
        // PrintableString allows none of the specials but these.
        for value in ["Plain Text", "a+b,c", " x ", "(1)=?"] {
            assert_same(&name_of(vec![vec![atv(
                cn,
                text_value(Tag::PrintableString, value),
            )]]));
        }
    }

    #[test]
    fn unknown_types_and_other_values_fall_back_alike() {
        let bmp = Any::encode_from(&BmpString::from_utf8("bmp").unwrap()).unwrap();
        let int = Any::encode_from(&7u8).unwrap();
        let name = name_of(vec![
            vec![atv("1.3.6.1.4.1.99999.1", text_value(Tag::Utf8String, "x"))],
            vec![atv("2.5.4.3", bmp)],
            vec![
                atv("2.5.4.10", int),
                atv("2.5.4.11", text_value(Tag::Utf8String, "u")),
            ],
            vec![atv(
                "0.9.2342.19200300.100.1.25",
                text_value(Tag::Ia5String, "com"),
            )],
        ]);
        assert_same(&name);
        // Twice: the second time from the remembered names.
        assert_same(&name);
        let t61 = TeletexStringRef::new("t61").unwrap();
        assert_same(&name_of(vec![vec![atv(
            "2.5.4.3",
            Any::encode_from(&t61).unwrap(),
        )]]));
    }

    #[test]
    fn generated_names_match() {
        // Every attribute type const-oid names that a subject may carry,
        // with values drawn from the escape-prone characters.
        let types = [
            "2.5.4.3",
            "2.5.4.4",
            "2.5.4.5",
            "2.5.4.6",
            "2.5.4.7",
            "2.5.4.8",
            "2.5.4.9",
            "2.5.4.10",
            "2.5.4.11",
            "2.5.4.12",
            "2.5.4.42",
            "2.5.4.43",
            "2.5.4.46",
            "2.5.4.65",
            "2.5.4.97",
            "1.2.840.113549.1.9.1",
            "0.9.2342.19200300.100.1.1",
            "0.9.2342.19200300.100.1.25",
        ];
        let alphabet = ['a', ' ', '#', ',', '+', '\\', '"', '\n', 'é', '=', ';', '<'];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap()
        };
        for _ in 0..300 {
            let mut rdns = Vec::new();
            for _ in 0..1 + next(4) {
                let mut rdn = Vec::new();
                for k in 0..1 + next(2) {
                    let value: String = (0..next(6))
                        .map(|_| alphabet[next(alphabet.len())])
                        .collect();
                    let oid = types[(next(types.len()) + k) % types.len()];
                    rdn.push(atv(oid, text_value(Tag::Utf8String, &value)));
                }
                rdn.dedup_by(|a, b| a.oid == b.oid);
                rdns.push(rdn);
            }
            assert_same(&name_of(rdns));
        }
    }
}
