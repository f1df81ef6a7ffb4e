//! HTTP Basic credentials (RFC 7617), EST's password authentication (RFC 7030 §3.2.3):
//! here the identification and one-time secret of a client's first enrollment.

use std::fmt;

use base64ct::{Base64, Base64Unpadded, Encoding};
use zeroize::Zeroizing;

use crate::Error;

/// Longest Authorization header value read, in octets.
pub const MAX_AUTHORIZATION_LEN: usize = 4096;

/// The identification and secret of an `Authorization: Basic` header. The secret is
/// wiped from memory when this is dropped, and never printed (`Debug` shows the
/// identification only).
pub struct BasicCredentials {
    id: String,
    secret: Zeroizing<Vec<u8>>,
}

impl BasicCredentials {
    /// The identification (RFC 7617's user-id): non-empty UTF-8 without `:`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The secret (RFC 7617's password), as sent: non-empty octets, which may hold `:`.
    #[must_use]
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Reads the credentials of an `Authorization` header value (`None`: no header).
///
/// RFC 7617 §2: the scheme `Basic` (any case), white space, then the base64 of
/// `user-id ":" password`; the user-id is what comes before the first `:`. The charset is
/// UTF-8 (the `charset="UTF-8"` that [`crate::Reply::unauthorized`] announces, §2.1).
/// Padding is optional.
///
/// # Errors
/// [`Error::Unauthorized`] (401, with a `Basic` challenge) if the header is missing,
/// longer than [`MAX_AUTHORIZATION_LEN`], of another scheme, not base64, without `:`, or
/// has an empty or non-UTF-8 identification or an empty secret.
pub fn basic_credentials(authorization: Option<&str>) -> Result<BasicCredentials, Error> {
    let value = authorization.ok_or(Error::Unauthorized("no Authorization header"))?;
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(Error::Unauthorized("Authorization header too long"));
    }
    let value = value.trim();
    let (scheme, token) = value
        .split_once([' ', '\t'])
        .ok_or(Error::Unauthorized("Authorization is not Basic"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Error::Unauthorized("Authorization is not Basic"));
    }
    let token = token.trim_start_matches([' ', '\t']);
    let decoded = Zeroizing::new(
        Base64::decode_vec(token)
            .or_else(|_| Base64Unpadded::decode_vec(token))
            .map_err(|_| Error::Unauthorized("Basic credentials are not base64"))?,
    );
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or(Error::Unauthorized("Basic credentials have no ':'"))?;
    let (id, secret) = (&decoded[..colon], &decoded[colon + 1..]);
    if id.is_empty() {
        return Err(Error::Unauthorized("empty identification"));
    }
    if secret.is_empty() {
        return Err(Error::Unauthorized("empty secret"));
    }
    let id = std::str::from_utf8(id)
        .map_err(|_| Error::Unauthorized("identification is not UTF-8"))?
        .to_owned();
    Ok(BasicCredentials {
        id,
        secret: Zeroizing::new(secret.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(userpass: &[u8]) -> String {
        format!("Basic {}", Base64::encode_string(userpass))
    }

    #[test]
    fn rfc7617_example() {
        // RFC 7617 §2: "Aladdin" / "open sesame".
        let c = basic_credentials(Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).unwrap();
        assert_eq!(c.id(), "Aladdin");
        assert_eq!(c.secret(), b"open sesame");
        assert!(!format!("{c:?}").contains("sesame"));
    }

    #[test]
    fn variants_accepted() {
        let c = basic_credentials(Some(&header(b"dev-1:a:b:c"))).unwrap();
        assert_eq!((c.id(), c.secret()), ("dev-1", &b"a:b:c"[..]));
        let c = basic_credentials(Some("bAsIc   ZGV2OnM=")).unwrap();
        assert_eq!((c.id(), c.secret()), ("dev", &b"s"[..]));
        // Without padding ("dev:se" is 6 octets: no padding needed; "dev:sec" needs one).
        let c = basic_credentials(Some("Basic ZGV2OnNlYw")).unwrap();
        assert_eq!(c.secret(), b"sec");
        let c = basic_credentials(Some(&header("jörg:\u{1F511}".as_bytes()))).unwrap();
        assert_eq!(c.id(), "jörg");
        // The secret is octets, not necessarily UTF-8.
        let c = basic_credentials(Some(&header(b"id:\xff\xfe"))).unwrap();
        assert_eq!(c.secret(), b"\xff\xfe");
    }

    #[test]
    fn refused() {
        let long = format!("Basic {}", "A".repeat(MAX_AUTHORIZATION_LEN));
        let cases = [
            None,
            Some(""),
            Some("Basic"),
            Some("Bearer ZGV2OnM="),
            Some("BasicZGV2OnM="),
            Some("Basic not*base64"),
            Some(long.as_str()),
        ];
        for value in cases {
            let e = basic_credentials(value).unwrap_err();
            assert_eq!(e.status(), 401, "{value:?}");
            assert!(e.to_reply().header("WWW-Authenticate").is_some());
        }
        for userpass in [&b"nocolon"[..], b":secret", b"id:", b"\xff:secret"] {
            let e = basic_credentials(Some(&header(userpass))).unwrap_err();
            assert!(matches!(e, Error::Unauthorized(_)), "{userpass:?}");
        }
    }
}
