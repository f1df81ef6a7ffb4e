//! Object identifiers used by CMP protection and the Lightweight CMP Profile.
//!
//! Declared here once, each with the RFC that assigns it, rather than looked up by several
//! names across `const_oid::db` modules.

use const_oid::ObjectIdentifier;

/// `id-PasswordBasedMac` (RFC 4210 §5.1.3.1): `1.2.840.113533.7.66.13`.
pub const ID_PASSWORD_BASED_MAC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113533.7.66.13");

/// `id-PBMAC1` (RFC 8018 Appendix A.5, used by RFC 9481 §6.1.2): `1.2.840.113549.1.5.14`.
pub const ID_PBMAC1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.14");

/// `id-PBKDF2` (RFC 8018 Appendix A.2): `1.2.840.113549.1.5.12`.
pub const ID_PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");

/// `id-sha1` (RFC 3279 §2.2.1): `1.3.14.3.2.26`.
pub const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

/// `id-sha256` (RFC 5754 §2.2): `2.16.840.1.101.3.4.2.1`.
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// `hMAC-SHA1` (RFC 2104 registration used by RFC 4210 §5.1.3.1 and RFC 9481 §6.2.1):
/// `1.3.6.1.5.5.8.1.2`. OpenSSL 3.0 `openssl cmp` writes it as the PBM MAC by default.
pub const HMAC_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.8.1.2");

/// `id-hmacWithSHA1` (RFC 8018 Appendix B.1.1): `1.2.840.113549.2.7`, the default PBKDF2 PRF.
pub const ID_HMAC_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.7");

/// `id-hmacWithSHA256` (RFC 8018 Appendix B.1.2, RFC 9481 §6.2.1): `1.2.840.113549.2.9`.
pub const ID_HMAC_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");

/// `id-it-implicitConfirm` (RFC 4210 §5.1.1.1): `1.3.6.1.5.5.7.4.13`.
pub const ID_IT_IMPLICIT_CONFIRM: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.13");

/// `id-it-confirmWaitTime` (RFC 4210 §5.1.1.2): `1.3.6.1.5.5.7.4.14`.
pub const ID_IT_CONFIRM_WAIT_TIME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.14");

/// `id-it-caCerts` (RFC 9480 §2.14, RFC 9483 §4.3.1): `1.3.6.1.5.5.7.4.17`.
pub const ID_IT_CA_CERTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.17");

/// `id-it-rootCaKeyUpdate` (RFC 9480 §2.14, RFC 9483 §4.3.2): `1.3.6.1.5.5.7.4.18`.
pub const ID_IT_ROOT_CA_KEY_UPDATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.18");

/// `id-it-certReqTemplate` (RFC 9480 §2.14, RFC 9483 §4.3.3): `1.3.6.1.5.5.7.4.19`.
pub const ID_IT_CERT_REQ_TEMPLATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.19");

/// `id-it-rootCaCert` (RFC 9480 §2.14, RFC 9483 §4.3.2): `1.3.6.1.5.5.7.4.20`.
pub const ID_IT_ROOT_CA_CERT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.20");

/// `id-it-certProfile` (RFC 9480 §2.4, RFC 9483 §3.1): `1.3.6.1.5.5.7.4.21`.
pub const ID_IT_CERT_PROFILE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.21");

/// `id-it-crlStatusList` (RFC 9480 §2.16, RFC 9483 §4.3.4): `1.3.6.1.5.5.7.4.22`.
pub const ID_IT_CRL_STATUS_LIST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.22");

/// `id-it-crls` (RFC 9480 §2.16, RFC 9483 §4.3.4): `1.3.6.1.5.5.7.4.23`.
pub const ID_IT_CRLS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.4.23");

/// `id-regCtrl-algId` (RFC 9480 §2.15): in a `certReqTemplate`'s `keySpec`, a key algorithm
/// (not RSA) the CA accepts: `1.3.6.1.5.5.7.5.1.11`.
pub const ID_REG_CTRL_ALG_ID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.5.1.11");

/// `id-regCtrl-rsaKeyLen` (RFC 9480 §2.15): in a `certReqTemplate`'s `keySpec`, an RSA
/// modulus length the CA accepts: `1.3.6.1.5.5.7.5.1.12`.
pub const ID_REG_CTRL_RSA_KEY_LEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.5.1.12");
