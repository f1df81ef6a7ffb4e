//! Static (EC)DH proof of possession (RFC 6955): the "signature" of a PKCS #10 request for
//! a key-agreement key, a MAC under a key both the requester and the recipient (the CA's
//! static ECDH certificate) can derive.

use cms::cert::IssuerAndSerialNumber;
use const_oid::ObjectIdentifier;
use der::Sequence;
use der::asn1::OctetString;

/// `DhSigStatic` (RFC 6955 §3.2, and §6.2 for ECDH), the DER carried in the signature BIT
/// STRING of a PKCS #10 request.
///
/// ```text
/// DhSigStatic ::= SEQUENCE {
///     issuerAndSerial  IssuerAndSerialNumber OPTIONAL,
///     hashValue        MessageDigest }
/// ```
///
/// `issuerAndSerial` names the recipient's certificate whose public key was used.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct DhSigStatic {
    /// The recipient's certificate, when named.
    pub issuer_and_serial: Option<IssuerAndSerialNumber>,
    /// The MAC.
    pub hash_value: OctetString,
}

/// `id-alg-ecdhPop-static-sha224-hmac-sha224` (RFC 6955 §6.2), `id-pkix 6 25`.
pub const ID_ALG_ECDH_POP_STATIC_SHA224_HMAC_SHA224: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.25");
/// `id-alg-ecdhPop-static-sha256-hmac-sha256` (RFC 6955 §6.2), `id-pkix 6 26`.
pub const ID_ALG_ECDH_POP_STATIC_SHA256_HMAC_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.26");
/// `id-alg-ecdhPop-static-sha384-hmac-sha384` (RFC 6955 §6.2), `id-pkix 6 27`.
pub const ID_ALG_ECDH_POP_STATIC_SHA384_HMAC_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.27");
/// `id-alg-ecdhPop-static-sha512-hmac-sha512` (RFC 6955 §6.2), `id-pkix 6 28`.
pub const ID_ALG_ECDH_POP_STATIC_SHA512_HMAC_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.28");

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn round_trip_with_and_without_the_recipient() {
        let bare = DhSigStatic {
            issuer_and_serial: None,
            hash_value: OctetString::new(vec![7; 32]).unwrap(),
        };
        let der = bare.to_der().unwrap();
        assert_eq!(&der[..4], &[0x30, 34, 0x04, 32]);
        assert_eq!(DhSigStatic::from_der(&der).unwrap(), bare);
    }
}
