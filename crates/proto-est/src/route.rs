//! Which EST operation a request asks for: the path under `/.well-known/est/` (RFC 7030
//! §3.2.2), with an optional CA label, and the method each operation takes.

use std::fmt;

use crate::Error;

/// The path prefix of every EST resource (RFC 7030 §3.2.2, RFC 8615).
pub const PREFIX: &str = "/.well-known/est/";

/// Longest CA label accepted, in octets.
pub const MAX_LABEL_LEN: usize = 128;

/// An EST operation (RFC 7030 §3.2.2, Figure 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET cacerts`: the CA certificates (§4.1).
    CaCerts,
    /// `GET csrattrs`: what the CA wants in a CSR (§4.5).
    CsrAttrs,
    /// `POST simpleenroll`: a first certificate from a PKCS #10 (§4.2.1).
    SimpleEnroll,
    /// `POST simplereenroll`: a renewal or rekey from a PKCS #10 (§4.2.2).
    SimpleReenroll,
    /// `POST fullcmc`: a Full PKI Request, answered by the CMC door (§4.3).
    FullCmc,
    /// `POST serverkeygen`: a certificate for a key the server generates (§4.4).
    ServerKeyGen,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Self; 6] = [
        Self::CaCerts,
        Self::CsrAttrs,
        Self::SimpleEnroll,
        Self::SimpleReenroll,
        Self::FullCmc,
        Self::ServerKeyGen,
    ];

    /// The operation's path segment.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::CaCerts => "cacerts",
            Self::CsrAttrs => "csrattrs",
            Self::SimpleEnroll => "simpleenroll",
            Self::SimpleReenroll => "simplereenroll",
            Self::FullCmc => "fullcmc",
            Self::ServerKeyGen => "serverkeygen",
        }
    }

    /// The operation named by a path segment (exact, lower case as RFC 7030 spells them).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The one method the operation takes: `GET` for the two that only read, `POST` for
    /// the four that send a request (RFC 7030 §4.1.1, §4.5.1, §4.2, §4.3.1, §4.4.1).
    #[must_use]
    pub const fn method(self) -> &'static str {
        match self {
            Self::CaCerts | Self::CsrAttrs => "GET",
            Self::SimpleEnroll | Self::SimpleReenroll | Self::FullCmc | Self::ServerKeyGen => {
                "POST"
            }
        }
    }

    /// Whether answering needs an authenticated client. `cacerts` MUST be answerable
    /// without (§4.1.1: "the EST server SHOULD NOT require client authentication or
    /// authorization"), and so is `csrattrs` here (§4.5.1 leaves it to the server; it says
    /// only what the CA's profile already publishes). A server must not check credentials
    /// it does not need: acme2certifier's EST handler sends its Basic password with
    /// `GET cacerts` too, and a one-time secret must not be spent, or counted as a failed
    /// try, there.
    #[must_use]
    pub const fn needs_authentication(self) -> bool {
        match self {
            Self::CaCerts | Self::CsrAttrs => false,
            Self::SimpleEnroll | Self::SimpleReenroll | Self::FullCmc | Self::ServerKeyGen => true,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A routed EST request: which CA (by label, `None` for the default CA) and which
/// operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<'a> {
    /// The CA label of `/.well-known/est/{label}/{operation}`, `None` without one.
    pub label: Option<&'a str>,
    /// The operation.
    pub operation: Operation,
}

/// Routes `method` and `path` (the path only, without query; percent-encoding is not
/// decoded) to an EST operation.
///
/// The path is `/.well-known/est/{operation}` or `/.well-known/est/{label}/{operation}`.
/// A label is 1 to [`MAX_LABEL_LEN`] octets of RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), not `.` or `..`; anything else (an empty segment, a trailing
/// `/`, a third segment, `%`) names no resource.
///
/// # Errors
/// [`Error::NotFound`] for a path that names no operation, [`Error::MethodNotAllowed`]
/// (with the method to use) for an operation asked with another method.
pub fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, Error> {
    let not_found = || Error::NotFound(path.chars().take(200).collect());
    let tail = path.strip_prefix(PREFIX).ok_or_else(not_found)?;
    let (label, op) = match tail.split_once('/') {
        None => (None, tail),
        Some((label, op)) => (Some(label), op),
    };
    if label.is_some_and(|l| !valid_label(l)) {
        return Err(not_found());
    }
    let operation = Operation::from_name(op).ok_or_else(not_found)?;
    if method != operation.method() {
        return Err(Error::MethodNotAllowed {
            method: method.chars().take(20).collect(),
            allow: operation.method(),
        });
    }
    Ok(Route { label, operation })
}

fn valid_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && label != "."
        && label != ".."
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_with_and_without_label() {
        for op in Operation::ALL {
            let path = format!("{PREFIX}{}", op.name());
            let r = route(op.method(), &path).unwrap();
            assert_eq!((r.label, r.operation), (None, op));
            let path = format!("{PREFIX}issuing-ca_2.v1~x/{}", op.name());
            let r = route(op.method(), &path).unwrap();
            assert_eq!((r.label, r.operation), (Some("issuing-ca_2.v1~x"), op));
        }
    }

    #[test]
    fn methods() {
        let cases = [
            ("cacerts", "GET", "POST"),
            ("csrattrs", "GET", "PUT"),
            ("simpleenroll", "POST", "GET"),
            ("simplereenroll", "POST", "HEAD"),
            ("fullcmc", "POST", "GET"),
            ("serverkeygen", "POST", "DELETE"),
        ];
        for (op, good, bad) in cases {
            let path = format!("{PREFIX}{op}");
            assert!(route(good, &path).is_ok(), "{good} {op}");
            match route(bad, &path) {
                Err(e @ Error::MethodNotAllowed { allow, .. }) => {
                    assert_eq!(allow, good);
                    assert_eq!(e.status(), 405);
                }
                other => panic!("{bad} {op}: {other:?}"),
            }
            // Methods are case-sensitive (RFC 9110 §9.1).
            assert!(route(&good.to_lowercase(), &path).is_err());
        }
        assert!(Operation::CaCerts.method() == "GET" && !Operation::CaCerts.needs_authentication());
        assert!(Operation::SimpleEnroll.needs_authentication());
    }

    #[test]
    fn paths_that_name_nothing() {
        let long = format!("{PREFIX}{}/cacerts", "a".repeat(MAX_LABEL_LEN + 1));
        let bad = [
            "/.well-known/est",
            "/.well-known/est/",
            "/.well-known/est/CACERTS",
            "/.well-known/est/cacerts/",
            "/.well-known/est//cacerts",
            "/.well-known/est/../cacerts",
            "/.well-known/est/./cacerts",
            "/.well-known/est/a/b/cacerts",
            "/.well-known/est/ca%2F1/cacerts",
            "/.well-known/est/ca 1/cacerts",
            "/.well-known/est/cacerts?x=1",
            "/.well-known/est/enroll",
            "/well-known/est/cacerts",
            "/cmc/cacerts",
            long.as_str(),
        ];
        for path in bad {
            match route("GET", path) {
                Err(e @ Error::NotFound(_)) => assert_eq!(e.status(), 404),
                other => panic!("{path}: {other:?}"),
            }
        }
        // A label of the longest length is fine; a label may look like an operation.
        let ok = format!("{PREFIX}{}/cacerts", "a".repeat(MAX_LABEL_LEN));
        assert!(route("GET", &ok).is_ok());
        let r = route("GET", "/.well-known/est/cacerts/cacerts").unwrap();
        assert_eq!(r.label, Some("cacerts"));
    }
}
