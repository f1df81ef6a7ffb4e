//! MAC-based protection: PasswordBasedMac (RFC 4210 §5.1.3.1) and PBMAC1 (RFC 9481 §6.1.2,
//! RFC 8018 §7.1), with bounds on every cost an untrusted message can choose.

use alloc::vec::Vec;
use core::ops::RangeInclusive;

use cmc_asn1::PbmParameter;
use der::asn1::{Any, Int, Null, OctetString};
use der::{Choice, Decode, Encode, Sequence, Tagged};
use hmac::{KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use spki::AlgorithmIdentifierOwned;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::oid::{
    HMAC_SHA1, ID_HMAC_WITH_SHA1, ID_HMAC_WITH_SHA256, ID_PASSWORD_BASED_MAC, ID_PBKDF2, ID_PBMAC1,
    ID_SHA1, ID_SHA256,
};

/// Length of the salts this crate generates (RFC 9481 §6.1 asks for at least 16 octets).
pub const SALT_LEN: usize = 16;

/// `PBMAC1-params` (RFC 8018 Appendix A.5, profiled by RFC 9481 §6.1.2).
///
/// ```text
/// PBMAC1-params ::=  SEQUENCE {
///     keyDerivationFunc AlgorithmIdentifier {{PBMAC1-KDFs}},
///     messageAuthScheme AlgorithmIdentifier {{PBMAC1-MACs}} }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Pbmac1Params {
    /// `id-PBKDF2` with [`Pbkdf2Params`].
    pub key_derivation_func: AlgorithmIdentifierOwned,
    /// The MAC keyed with the derived key (`id-hmacWithSHA256`).
    pub message_auth_scheme: AlgorithmIdentifierOwned,
}

/// `PBKDF2-params` (RFC 8018 Appendix A.2).
///
/// ```text
/// PBKDF2-params ::= SEQUENCE {
///     salt CHOICE {
///         specified OCTET STRING,
///         otherSource AlgorithmIdentifier {{PBKDF2-SaltSources}}
///     },
///     iterationCount INTEGER (1..MAX),
///     keyLength INTEGER (1..MAX) OPTIONAL,
///     prf AlgorithmIdentifier {{PBKDF2-PRFs}} DEFAULT
///         algid-hmacWithSHA1 }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Pbkdf2Params {
    /// The salt.
    pub salt: Pbkdf2Salt,
    /// How many times the PRF is iterated.
    pub iteration_count: Int,
    /// Length of the derived key in octets.
    pub key_length: Option<Int>,
    /// The PRF; absent means `hmacWithSHA1` (not accepted by this crate).
    pub prf: Option<AlgorithmIdentifierOwned>,
}

/// The `salt` CHOICE of [`Pbkdf2Params`] (RFC 8018 Appendix A.2).
///
/// ```text
/// salt CHOICE {
///     specified OCTET STRING,
///     otherSource AlgorithmIdentifier {{PBKDF2-SaltSources}} }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum Pbkdf2Salt {
    /// The salt itself (the only form RFC 9481 uses).
    Specified(OctetString),
    /// A salt source (reserved by RFC 8018; refused here).
    OtherSource(AlgorithmIdentifierOwned),
}

/// A digest this crate computes for MAC protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1: only to verify PBM from older clients (OpenSSL 3.0 `openssl cmp` uses
    /// HMAC-SHA1 as the PBM MAC by default); never chosen by this crate.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl HashAlg {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => hmac_with::<hmac::Hmac<Sha1>>(key, data),
            Self::Sha256 => hmac_with::<hmac::Hmac<Sha256>>(key, data),
        }
    }

    const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

fn hmac_with<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Costs a received MAC-protected message may ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacLimits {
    /// Accepted PBM `iterationCount`. RFC 4211 §4.4 asks for at least 100; OpenSSL writes
    /// 500 and refuses more than 100 000. Default `100..=100_000`.
    pub pbm_iterations: RangeInclusive<u64>,
    /// Accepted PBKDF2 `iterationCount` for PBMAC1. Default `1_000..=1_000_000` (RFC 8018
    /// §4.2 recommends at least 1 000); one million PBKDF2-HMAC-SHA256 iterations take
    /// about half a second of one core.
    pub pbkdf2_iterations: RangeInclusive<u64>,
    /// Largest PBKDF2 `keyLength` accepted, in octets (each extra block of the digest
    /// length costs the whole iteration count again). Default 64.
    pub max_key_len: usize,
    /// Largest salt accepted, in octets. Default 256.
    pub max_salt_len: usize,
}

impl Default for MacLimits {
    fn default() -> Self {
        Self {
            pbm_iterations: 100..=100_000,
            pbkdf2_iterations: 1_000..=1_000_000,
            max_key_len: 64,
            max_salt_len: 256,
        }
    }
}

/// A checked MAC protection algorithm with its parameters: what [`crate::Received`]
/// verifies with and what a response is protected with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MacAlgorithm {
    /// `id-PasswordBasedMac` (RFC 4210 §5.1.3.1).
    Pbm {
        /// The salt.
        salt: Vec<u8>,
        /// The one-way function iterated over secret and salt.
        owf: HashAlg,
        /// How many times.
        iterations: u32,
        /// The HMAC digest.
        mac: HashAlg,
    },
    /// `id-PBMAC1` with PBKDF2 and HMAC (RFC 9481 §6.1.2).
    Pbmac1 {
        /// The PBKDF2 salt.
        salt: Vec<u8>,
        /// PBKDF2 iterations.
        iterations: u32,
        /// Derived key length in octets.
        key_len: usize,
        /// The PBKDF2 PRF digest (HMAC with it).
        prf: HashAlg,
        /// The MAC digest (HMAC with it).
        mac: HashAlg,
    },
}

impl MacAlgorithm {
    /// PBM with a fresh random salt, SHA-256 as OWF and HMAC-SHA256 as MAC.
    ///
    /// # Errors
    /// [`Error::Random`] if the random generator fails.
    pub fn pbm_sha256(iterations: u32) -> Result<Self, Error> {
        Ok(Self::Pbm {
            salt: random_salt()?,
            owf: HashAlg::Sha256,
            iterations,
            mac: HashAlg::Sha256,
        })
    }

    /// PBMAC1 with a fresh random salt, PBKDF2-HMAC-SHA256 to a 32-octet key and
    /// HMAC-SHA256 as MAC (RFC 9481 §6.1.2).
    ///
    /// # Errors
    /// [`Error::Random`] if the random generator fails.
    pub fn pbmac1_sha256(iterations: u32) -> Result<Self, Error> {
        Ok(Self::Pbmac1 {
            salt: random_salt()?,
            iterations,
            key_len: 32,
            prf: HashAlg::Sha256,
            mac: HashAlg::Sha256,
        })
    }

    /// Whether `alg` names a MAC protection (PBM or PBMAC1), without checking parameters.
    #[must_use]
    pub fn is_mac(alg: &AlgorithmIdentifierOwned) -> bool {
        alg.oid == ID_PASSWORD_BASED_MAC || alg.oid == ID_PBMAC1
    }

    /// Interprets a `protectionAlg`, checking every parameter against `limits` before any
    /// derivation is done.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for another protection, OWF, PRF or MAC;
    /// [`Error::BadMacParameters`] for parameters that are missing, do not decode, or hold
    /// an oversized salt or key length; [`Error::IterationCount`] for a count out of bounds.
    pub fn from_algorithm_identifier(
        alg: &AlgorithmIdentifierOwned,
        limits: &MacLimits,
    ) -> Result<Self, Error> {
        if alg.oid == ID_PASSWORD_BASED_MAC {
            let params: PbmParameter = decode_params(alg, "PBMParameter")?;
            let salt = check_salt(params.salt.as_bytes(), limits, "PBMParameter")?;
            let owf = match params.owf.oid {
                o if o == ID_SHA256 => HashAlg::Sha256,
                o if o == ID_SHA1 => HashAlg::Sha1,
                oid => return Err(unsupported("PBM one-way function", oid)),
            };
            check_null_or_absent(&params.owf, "PBMParameter")?;
            let mac = match params.mac.oid {
                o if o == ID_HMAC_WITH_SHA256 => HashAlg::Sha256,
                o if o == HMAC_SHA1 || o == ID_HMAC_WITH_SHA1 => HashAlg::Sha1,
                oid => return Err(unsupported("PBM MAC", oid)),
            };
            check_null_or_absent(&params.mac, "PBMParameter")?;
            let iterations = check_count(&params.iteration_count, &limits.pbm_iterations, "PBM")?;
            Ok(Self::Pbm {
                salt,
                owf,
                iterations,
                mac,
            })
        } else if alg.oid == ID_PBMAC1 {
            let params: Pbmac1Params = decode_params(alg, "PBMAC1-params")?;
            if params.key_derivation_func.oid != ID_PBKDF2 {
                return Err(unsupported(
                    "PBMAC1 key derivation",
                    params.key_derivation_func.oid,
                ));
            }
            let kdf: Pbkdf2Params = decode_params(&params.key_derivation_func, "PBKDF2-params")?;
            let Pbkdf2Salt::Specified(salt) = &kdf.salt else {
                return Err(bad("PBKDF2-params", "salt otherSource is not supported"));
            };
            let salt = check_salt(salt.as_bytes(), limits, "PBKDF2-params")?;
            let prf = match &kdf.prf {
                None => return Err(unsupported("PBKDF2 PRF", ID_HMAC_WITH_SHA1)),
                Some(p) if p.oid == ID_HMAC_WITH_SHA256 => {
                    check_null_or_absent(p, "PBKDF2-params")?;
                    HashAlg::Sha256
                }
                Some(p) => return Err(unsupported("PBKDF2 PRF", p.oid)),
            };
            let mac = match params.message_auth_scheme.oid {
                o if o == ID_HMAC_WITH_SHA256 => HashAlg::Sha256,
                oid => return Err(unsupported("PBMAC1 MAC", oid)),
            };
            check_null_or_absent(&params.message_auth_scheme, "PBMAC1-params")?;
            let key_len = match &kdf.key_length {
                None => mac.output_len(),
                Some(len) => match int_to_u64(len).and_then(|l| usize::try_from(l).ok()) {
                    Some(l) if (1..=limits.max_key_len).contains(&l) => l,
                    _ => return Err(bad("PBKDF2-params", "keyLength out of range")),
                },
            };
            let iterations =
                check_count(&kdf.iteration_count, &limits.pbkdf2_iterations, "PBKDF2")?;
            Ok(Self::Pbmac1 {
                salt,
                iterations,
                key_len,
                prf,
                mac,
            })
        } else {
            Err(unsupported("MAC protection", alg.oid))
        }
    }

    /// The `protectionAlg` for the header.
    ///
    /// # Errors
    /// [`Error::Encode`] if the parameters cannot be encoded (not expected).
    pub fn algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned, Error> {
        let null = || Some(Any::from(Null));
        let params = match self {
            Self::Pbm {
                salt,
                owf,
                iterations,
                mac,
            } => {
                let p = PbmParameter {
                    salt: OctetString::new(salt.clone()).map_err(Error::Encode)?,
                    owf: AlgorithmIdentifierOwned {
                        oid: match owf {
                            HashAlg::Sha1 => ID_SHA1,
                            HashAlg::Sha256 => ID_SHA256,
                        },
                        parameters: None,
                    },
                    iteration_count: u64_to_int(u64::from(*iterations))?,
                    mac: AlgorithmIdentifierOwned {
                        oid: match mac {
                            HashAlg::Sha1 => HMAC_SHA1,
                            HashAlg::Sha256 => ID_HMAC_WITH_SHA256,
                        },
                        parameters: None,
                    },
                };
                (ID_PASSWORD_BASED_MAC, p.to_der())
            }
            Self::Pbmac1 {
                salt,
                iterations,
                key_len,
                prf,
                mac,
            } => {
                let hmac_oid = |h: &HashAlg| match h {
                    HashAlg::Sha1 => ID_HMAC_WITH_SHA1,
                    HashAlg::Sha256 => ID_HMAC_WITH_SHA256,
                };
                let kdf = Pbkdf2Params {
                    salt: Pbkdf2Salt::Specified(
                        OctetString::new(salt.clone()).map_err(Error::Encode)?,
                    ),
                    iteration_count: u64_to_int(u64::from(*iterations))?,
                    key_length: Some(u64_to_int(*key_len as u64)?),
                    prf: Some(AlgorithmIdentifierOwned {
                        oid: hmac_oid(prf),
                        parameters: null(),
                    }),
                };
                let p = Pbmac1Params {
                    key_derivation_func: AlgorithmIdentifierOwned {
                        oid: ID_PBKDF2,
                        parameters: Some(Any::encode_from(&kdf).map_err(Error::Encode)?),
                    },
                    message_auth_scheme: AlgorithmIdentifierOwned {
                        oid: hmac_oid(mac),
                        parameters: null(),
                    },
                };
                (ID_PBMAC1, p.to_der())
            }
        };
        let (oid, der) = params;
        let der = der.map_err(Error::Encode)?;
        Ok(AlgorithmIdentifierOwned {
            oid,
            parameters: Some(Any::from_der(&der).map_err(Error::Encode)?),
        })
    }

    /// The MAC of `data` (the DER of a `ProtectedPart`) under `secret`.
    #[must_use]
    pub fn compute(&self, secret: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::Pbm {
                salt,
                owf,
                iterations,
                mac,
            } => {
                // RFC 4210 §5.1.3.1: OWF applied `iterationCount` times, to secret || salt
                // first and then to its own output.
                let mut input = Zeroizing::new(Vec::with_capacity(secret.len() + salt.len()));
                input.extend_from_slice(secret);
                input.extend_from_slice(salt);
                let mut key = Zeroizing::new(owf.digest(&input));
                for _ in 1..*iterations {
                    key = Zeroizing::new(owf.digest(&key));
                }
                mac.hmac(&key, data)
            }
            Self::Pbmac1 {
                salt,
                iterations,
                key_len,
                prf,
                mac,
            } => {
                let mut key = Zeroizing::new(alloc::vec![0u8; *key_len]);
                match prf {
                    HashAlg::Sha1 => {
                        pbkdf2::pbkdf2_hmac::<Sha1>(secret, salt, *iterations, &mut key)
                    }
                    HashAlg::Sha256 => {
                        pbkdf2::pbkdf2_hmac::<Sha256>(secret, salt, *iterations, &mut key);
                    }
                }
                mac.hmac(&key, data)
            }
        }
    }

    /// Checks `protection` against the MAC of `data` under `secret`, in constant time.
    ///
    /// # Errors
    /// [`Error::MacMismatch`] if they differ.
    pub fn verify(&self, secret: &[u8], data: &[u8], protection: &[u8]) -> Result<(), Error> {
        let expected = self.compute(secret, data);
        if bool::from(expected.as_slice().ct_eq(protection)) {
            Ok(())
        } else {
            Err(Error::MacMismatch)
        }
    }
}

fn random_salt() -> Result<Vec<u8>, Error> {
    let mut salt = alloc::vec![0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(Error::Random)?;
    Ok(salt)
}

const fn bad(what: &'static str, reason: &'static str) -> Error {
    Error::BadMacParameters { what, reason }
}

const fn unsupported(what: &'static str, oid: const_oid::ObjectIdentifier) -> Error {
    Error::UnsupportedAlgorithm { what, oid }
}

fn decode_params<T>(alg: &AlgorithmIdentifierOwned, what: &'static str) -> Result<T, Error>
where
    T: for<'a> Decode<'a, Error = der::Error>,
{
    let params = alg
        .parameters
        .as_ref()
        .ok_or(bad(what, "parameters are missing"))?;
    let der = params.to_der().map_err(Error::Encode)?;
    T::from_der(&der).map_err(|_| bad(what, "parameters do not decode"))
}

fn check_null_or_absent(alg: &AlgorithmIdentifierOwned, what: &'static str) -> Result<(), Error> {
    match &alg.parameters {
        None => Ok(()),
        Some(p) if p.tag() == der::Tag::Null && p.value().is_empty() => Ok(()),
        Some(_) => Err(bad(what, "algorithm parameters must be NULL or absent")),
    }
}

fn check_salt(salt: &[u8], limits: &MacLimits, what: &'static str) -> Result<Vec<u8>, Error> {
    if salt.len() > limits.max_salt_len {
        return Err(bad(what, "salt is longer than the limit"));
    }
    Ok(salt.to_vec())
}

fn check_count(
    count: &Int,
    bounds: &RangeInclusive<u64>,
    what: &'static str,
) -> Result<u32, Error> {
    let value = int_to_u64(count);
    let shown = value.unwrap_or(if is_negative(count) { 0 } else { u64::MAX });
    match value {
        Some(v) if bounds.contains(&v) => u32::try_from(v).map_err(|_| Error::IterationCount {
            what,
            count: v,
            min: *bounds.start(),
            max: *bounds.end(),
        }),
        _ => Err(Error::IterationCount {
            what,
            count: shown,
            min: *bounds.start(),
            max: *bounds.end(),
        }),
    }
}

fn is_negative(int: &Int) -> bool {
    int.as_bytes().first().is_some_and(|b| b & 0x80 != 0)
}

/// The value of a non-negative INTEGER that fits in 64 bits.
fn int_to_u64(int: &Int) -> Option<u64> {
    if is_negative(int) {
        return None;
    }
    let bytes = int.as_bytes();
    // A DER INTEGER has at most one leading zero octet (before a high bit).
    let bytes = match bytes {
        [0, rest @ ..] => rest,
        _ => bytes,
    };
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
}

fn u64_to_int(value: u64) -> Result<Int, Error> {
    // Through DER so that the INTEGER is minimal.
    Int::from_der(&value.to_der().map_err(Error::Encode)?).map_err(Error::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alg_with_count(count: u64) -> AlgorithmIdentifierOwned {
        let mut alg = MacAlgorithm::pbm_sha256(500).unwrap();
        if let MacAlgorithm::Pbm { iterations, .. } = &mut alg {
            *iterations = u32::try_from(count).unwrap_or(u32::MAX);
        }
        alg.algorithm_identifier().unwrap()
    }

    #[test]
    fn pbm_parameters_round_trip_through_the_algorithm_identifier() {
        let alg = MacAlgorithm::pbm_sha256(500).unwrap();
        let id = alg.algorithm_identifier().unwrap();
        assert_eq!(id.oid, ID_PASSWORD_BASED_MAC);
        let back = MacAlgorithm::from_algorithm_identifier(&id, &MacLimits::default()).unwrap();
        assert_eq!(back, alg);
    }

    #[test]
    fn pbmac1_parameters_round_trip_through_the_algorithm_identifier() {
        let alg = MacAlgorithm::pbmac1_sha256(10_000).unwrap();
        let id = alg.algorithm_identifier().unwrap();
        assert_eq!(id.oid, ID_PBMAC1);
        let back = MacAlgorithm::from_algorithm_identifier(&id, &MacLimits::default()).unwrap();
        assert_eq!(back, alg);
    }

    #[test]
    fn absurd_iteration_counts_are_refused_before_any_work() {
        let limits = MacLimits::default();
        // 4 294 967 295 iterations would take hours; refused at once with the count.
        let err =
            MacAlgorithm::from_algorithm_identifier(&alg_with_count(u64::from(u32::MAX)), &limits)
                .unwrap_err();
        assert!(
            matches!(err, Error::IterationCount { what: "PBM", count, max: 100_000, .. } if count == u64::from(u32::MAX)),
            "{err}"
        );
        let err =
            MacAlgorithm::from_algorithm_identifier(&alg_with_count(99), &limits).unwrap_err();
        assert!(
            matches!(
                err,
                Error::IterationCount {
                    count: 99,
                    min: 100,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn huge_and_negative_integer_counts_are_refused_with_a_saturated_value() {
        let limits = MacLimits::default();
        let huge = Int::new(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!(matches!(
            check_count(&huge, &limits.pbm_iterations, "PBM"),
            Err(Error::IterationCount {
                count: u64::MAX,
                ..
            })
        ));
        let negative = Int::new(&[0xff]).unwrap();
        assert!(matches!(
            check_count(&negative, &limits.pbm_iterations, "PBM"),
            Err(Error::IterationCount { count: 0, .. })
        ));
    }

    #[test]
    fn a_wrong_secret_does_not_verify() {
        let alg = MacAlgorithm::pbmac1_sha256(1_000).unwrap();
        let mac = alg.compute(b"right", b"data");
        alg.verify(b"right", b"data", &mac).unwrap();
        assert!(matches!(
            alg.verify(b"wrong", b"data", &mac),
            Err(Error::MacMismatch)
        ));
        assert!(matches!(
            alg.verify(b"right", b"datA", &mac),
            Err(Error::MacMismatch)
        ));
    }
}
