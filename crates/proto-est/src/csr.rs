//! The certification request of `simpleenroll`, `simplereenroll` and `serverkeygen`: a
//! PKCS #10 whose self-signature is checked here (the front door's proof of possession),
//! read into the engine's neutral [`cmc_policy::Request`], with its challengePassword
//! for the CSR-to-connection link of RFC 7030 §3.5.

use base64ct::{Base64, Base64Unpadded, Encoding};
use const_oid::db::rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD;
use x509_cert::ext::pkix::name::DirectoryString;
use x509_cert::request::CertReq;

use crate::Error;
use crate::error::from_codec;

/// A decoded PKCS #10 request whose self-signature verified.
#[derive(Clone, Debug)]
pub struct Csr {
    /// The DER as received (after base64): what the engine records as the raw request
    /// (`EnrollmentRequest::raw`), and what a repeated POST is matched on (RFC 7030
    /// §4.2.3).
    pub der: Vec<u8>,
    /// The decoded request.
    pub cert_req: CertReq,
    /// Subject, public key and requested extensions, for the engine
    /// (`EnrollmentRequest::request`).
    pub request: cmc_policy::Request,
    /// The challengePassword attribute's value, if the request has one. In EST it holds
    /// the base64 of the TLS connection's channel binding (RFC 7030 §3.5); see
    /// [`Csr::check_channel_binding`].
    pub challenge_password: Option<String>,
}

impl Csr {
    /// Decodes `der` as a PKCS #10 request and verifies its self-signature (with
    /// cmc-codec's [`cmc_codec::decode_simple_request`], the check CMC applies to a `tcr`),
    /// then reads its subject, key, requested extensions and challengePassword.
    ///
    /// A request "signed" with id-alg-noSignature is refused: EST has no encrypted-POP
    /// round, so the signature is the only proof of possession.
    ///
    /// # Errors
    /// [`Error::BadRequest`] if it is not a PKCS #10, has trailing data, its signature does
    /// not verify, its algorithm or key is not supported, or its extensionRequest is
    /// malformed; [`Error::BadChallengePassword`] if the challengePassword attribute is
    /// not one DirectoryString value.
    pub fn from_der(der: Vec<u8>) -> Result<Self, Error> {
        let limits = cmc_codec::Limits::default().with_max_input(der.len());
        let cert_req = cmc_codec::decode_simple_request(&der, &limits).map_err(from_codec)?;
        let request = cmc_policy::Request::from_cert_req(&cert_req)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        let challenge_password = challenge_password(&cert_req)?;
        Ok(Self {
            der,
            cert_req,
            request,
            challenge_password,
        })
    }

    /// Checks the link between this request and the TLS connection it came over
    /// (RFC 7030 §3.5): `channel_binding` is the connection's channel binding, `None`
    /// when it has none (plain HTTP); `required` whether the CA's policy demands the link.
    ///
    /// RFC 7030 §3.5 names `tls-unique` (RFC 5929), which exists in TLS 1.2 only and which
    /// rustls does not expose; `cmc-server` passes the `tls-exporter` binding of RFC 9266
    /// (`EXPORTER-Channel-Binding`, 32 octets), its replacement, on TLS 1.2 and 1.3 alike.
    /// A client that puts that value, base64, in its challengePassword is linked.
    ///
    /// - A challengePassword present and a binding known: the challengePassword must be
    ///   the base64 of it, whether or not the link is required (a mismatch means the
    ///   request was made for another connection, or the client sent tls-unique).
    /// - Link required: the connection must have a binding and the request a
    ///   challengePassword.
    /// - Otherwise (not required, and no challengePassword or no binding) nothing is
    ///   checked.
    ///
    /// # Errors
    /// [`Error::ChannelBindingUnavailable`] if the link is required on a connection without
    /// a binding, [`Error::ChannelBindingMismatch`] if the challengePassword is missing
    /// where required or differs from the binding.
    pub fn check_channel_binding(
        &self,
        channel_binding: Option<&[u8]>,
        required: bool,
    ) -> Result<(), Error> {
        match (&self.challenge_password, channel_binding) {
            (Some(pw), Some(tu)) => {
                if decode_lenient(pw).is_some_and(|v| v == tu) {
                    Ok(())
                } else {
                    Err(Error::ChannelBindingMismatch(
                        "challengePassword is not the base64 of this connection's tls-exporter channel binding (RFC 9266)",
                    ))
                }
            }
            (_, None) if required => Err(Error::ChannelBindingUnavailable),
            (None, Some(_)) if required => Err(Error::ChannelBindingMismatch(
                "the CSR has no challengePassword",
            )),
            (None, _) | (Some(_), None) => Ok(()),
        }
    }
}

/// Base64 with or without padding; `None` if it is neither.
fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    Base64::decode_vec(text)
        .or_else(|_| Base64Unpadded::decode_vec(text))
        .ok()
}

/// The challengePassword attribute (PKCS #9, RFC 2985 §5.4.1):
///
/// ```text
/// challengePassword ATTRIBUTE ::= {
///     WITH SYNTAX DirectoryString {pkcs-9-ub-challengePassword}
///     EQUALITY MATCHING RULE caseExactMatch
///     SINGLE VALUE TRUE
///     ID pkcs-9-at-challengePassword }
/// ```
///
/// PrintableString, UTF8String, TeletexString (read as Latin-1, as x509-cert does) and
/// BMPString are accepted.
fn challenge_password(req: &CertReq) -> Result<Option<String>, Error> {
    let mut found = None;
    for attr in req
        .info
        .attributes
        .iter()
        .filter(|a| a.oid == PKCS_9_AT_CHALLENGE_PASSWORD)
    {
        if found.is_some() {
            return Err(Error::BadChallengePassword("the attribute occurs twice"));
        }
        let mut values = attr.values.iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(Error::BadChallengePassword(
                "the attribute must have exactly one value",
            ));
        };
        let s = value
            .decode_as::<DirectoryString>()
            .map_err(|_| Error::BadChallengePassword("the value is not a DirectoryString"))?;
        found = Some(String::from(s));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use cmc_keys::{FileKey, KeySpec};
    use der::asn1::{PrintableStringRef, SetOfVec, Utf8StringRef};
    use der::{Any, DecodePem, Encode};
    use x509_cert::attr::Attribute;
    use x509_cert::name::Name;

    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../testdata/est/{name}", env!("CARGO_MANIFEST_DIR"));
        CertReq::from_pem(std::fs::read(path).unwrap())
            .unwrap()
            .to_der()
            .unwrap()
    }

    fn csr_with(attrs: Vec<Attribute>) -> Result<Csr, Error> {
        let key = FileKey::generate(KeySpec::P256).unwrap();
        let req = cmc_codec::build_csr_with_attributes(
            &key,
            Name::from_str("CN=test").unwrap(),
            Vec::new(),
            attrs,
        )
        .unwrap();
        Csr::from_der(req.to_der().unwrap())
    }

    fn password_attr(values: Vec<Any>) -> Attribute {
        Attribute {
            oid: PKCS_9_AT_CHALLENGE_PASSWORD,
            values: SetOfVec::try_from(values).unwrap(),
        }
    }

    #[test]
    fn openssl_request_with_tls_unique() {
        let csr = Csr::from_der(fixture("csr_p384_tls_unique.pem")).unwrap();
        assert_eq!(csr.request.subject.to_string(), "CN=device-1.example");
        assert_eq!(csr.challenge_password.as_deref(), Some("AAECAwQFBgcICQoL"));
        assert_eq!(csr.request.extensions.len(), 1, "subjectAltName");
        assert_eq!(
            csr.request.public_key, csr.cert_req.info.public_key,
            "the key to certify is the request's"
        );
        let channel_binding: Vec<u8> = (0u8..12).collect();
        for required in [false, true] {
            csr.check_channel_binding(Some(&channel_binding), required)
                .unwrap();
            let other = [0u8; 12];
            let e = csr
                .check_channel_binding(Some(&other), required)
                .unwrap_err();
            assert!(matches!(e, Error::ChannelBindingMismatch(_)));
            assert_eq!(e.status(), 400);
        }
        // TLS 1.3: nothing to compare with.
        csr.check_channel_binding(None, false).unwrap();
        assert!(matches!(
            csr.check_channel_binding(None, true),
            Err(Error::ChannelBindingUnavailable)
        ));
    }

    #[test]
    fn request_without_challenge_password() {
        let csr = Csr::from_der(fixture("csr_rsa2048.pem")).unwrap();
        assert_eq!(csr.challenge_password, None);
        assert_eq!(
            cmc_policy::KeyKind::of(&csr.request.public_key),
            cmc_policy::KeyKind::Rsa(2048)
        );
        csr.check_channel_binding(Some(b"0123456789ab"), false)
            .unwrap();
        csr.check_channel_binding(None, false).unwrap();
        assert!(matches!(
            csr.check_channel_binding(Some(b"0123456789ab"), true),
            Err(Error::ChannelBindingMismatch(_))
        ));
    }

    #[test]
    fn bad_requests() {
        // One signature bit flipped.
        let mut der = fixture("csr_p384_tls_unique.pem");
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let e = Csr::from_der(der).unwrap_err();
        assert!(matches!(e, Error::BadRequest(_)), "{e}");
        // Trailing data, not DER, empty.
        let mut der = fixture("csr_rsa2048.pem");
        der.push(0);
        assert_eq!(Csr::from_der(der).unwrap_err().status(), 400);
        assert_eq!(Csr::from_der(vec![0x30, 0x00]).unwrap_err().status(), 400);
        assert_eq!(Csr::from_der(Vec::new()).unwrap_err().status(), 400);
    }

    #[test]
    fn challenge_password_encodings() {
        let tu: Vec<u8> = (100u8..112).collect();
        let b64 = Base64::encode_string(&tu);
        let utf8 = Any::encode_from(&Utf8StringRef::new(&b64).unwrap()).unwrap();
        let csr = csr_with(vec![password_attr(vec![utf8])]).unwrap();
        assert_eq!(csr.challenge_password.as_deref(), Some(b64.as_str()));
        csr.check_channel_binding(Some(&tu), true).unwrap();

        // PrintableString cannot hold '/' or '+'; this value has neither.
        let printable = Any::encode_from(&PrintableStringRef::new("AAECAwQF").unwrap()).unwrap();
        let csr = csr_with(vec![password_attr(vec![printable.clone()])]).unwrap();
        csr.check_channel_binding(Some(&[0, 1, 2, 3, 4, 5]), true)
            .unwrap();

        // Two values, or not a string: refused.
        let other = Any::encode_from(&PrintableStringRef::new("AAECAwQG").unwrap()).unwrap();
        let e = csr_with(vec![password_attr(vec![printable, other])]).unwrap_err();
        assert!(matches!(e, Error::BadChallengePassword(_)), "{e}");
        let int = Any::encode_from(&5u8).unwrap();
        let e = csr_with(vec![password_attr(vec![int])]).unwrap_err();
        assert!(matches!(e, Error::BadChallengePassword(_)), "{e}");
    }
}
