//! The rules on the fields every TBS certificate has: the serial number
//! (positive, 64 to 160 bits), the validity (inside the issuer's and the
//! profile's, UTCTime through 2049) and the signature algorithm (allowed,
//! fitting the CA key, and the one the CA signs with).

use x509_cert::time::Time;

use super::Finding;
use crate::algorithm::{check_signature_algorithm, check_signature_algorithm_for_key};
use crate::issuer::IssuerInfo;
use crate::profile::Profile;
use crate::serial::Serial;
use crate::tbs::RawTbs;
use crate::validity::unix_secs;

pub(super) fn lint_serial(bytes: &[u8], out: &mut Vec<Finding>) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude = match bytes {
        [0, rest @ ..] => rest,
        all => all,
    };
    if negative || magnitude.iter().all(|b| *b == 0) {
        out.push(Finding::SerialNotPositive);
    }
    if bytes.len() > Serial::MAX_LEN {
        out.push(Finding::SerialTooLong {
            octets: bytes.len(),
        });
    }
    if magnitude.len() < Serial::MIN_LEN {
        out.push(Finding::SerialTooShort {
            octets: magnitude.len(),
        });
    }
}

pub(super) fn lint_validity(
    tbs: &RawTbs,
    profile: &Profile,
    issuer: &IssuerInfo,
    out: &mut Vec<Finding>,
) {
    for (field, t) in [
        ("notBefore", tbs.validity.not_before),
        ("notAfter", tbs.validity.not_after),
    ] {
        if let Time::GeneralTime(g) = t {
            if g.to_date_time().year() < 2050 {
                out.push(Finding::GeneralizedTimeBefore2050 {
                    field: field.to_owned(),
                });
            }
        }
    }
    let nb = unix_secs(tbs.validity.not_before.to_system_time());
    let na = unix_secs(tbs.validity.not_after.to_system_time());
    if na < nb {
        out.push(Finding::ValidityInverted);
    }
    if nb < unix_secs(issuer.not_before) {
        out.push(Finding::NotBeforeBeforeIssuer);
    }
    if na > unix_secs(issuer.not_after) {
        out.push(Finding::NotAfterAfterIssuer);
    }
    let seconds = na.saturating_sub(nb) + 1;
    let maximum = u64::from(profile.validity_days) * 86_400;
    if seconds > maximum {
        out.push(Finding::ValidityTooLong { seconds, maximum });
    }
}

pub(super) fn lint_signature_algorithm(tbs: &RawTbs, issuer: &IssuerInfo, out: &mut Vec<Finding>) {
    match check_signature_algorithm(&tbs.signature) {
        Err(e) => out.push(Finding::SignatureAlgorithmNotAllowed {
            detail: e.to_string(),
        }),
        Ok(_) => {
            if let Err(e) = check_signature_algorithm_for_key(&tbs.signature, &issuer.public_key) {
                out.push(Finding::SignatureAlgorithmKeyMismatch {
                    detail: e.to_string(),
                });
            }
        }
    }
    if tbs.signature != issuer.signature_algorithm {
        out.push(Finding::SignatureAlgorithmMismatch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::fixtures::*;
    use crate::tbs::RawValidity;
    use crate::validity::time_for;
    use const_oid::db::rfc5912::{ECDSA_WITH_SHA_384, SHA_1_WITH_RSA_ENCRYPTION};
    use der::Any;
    use der::asn1::{GeneralizedTime, Int};
    use spki::AlgorithmIdentifierOwned;

    #[test]
    fn serial_numbers() {
        expect(&Finding::SerialNotPositive, |t, _| {
            t.serial_number = Int::new(&[0x80, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        });
        expect(&Finding::SerialNotPositive, |t, _| {
            t.serial_number = Int::new(&[0]).unwrap();
        });
        expect(&Finding::SerialTooLong { octets: 21 }, |t, _| {
            t.serial_number = Int::new(&[0x12; 21]).unwrap();
        });
        expect(&Finding::SerialTooShort { octets: 7 }, |t, _| {
            t.serial_number = Int::new(&[0x12; 7]).unwrap();
        });
        // A leading zero octet carries no randomness.
        expect(&Finding::SerialTooShort { octets: 7 }, |t, _| {
            t.serial_number = Int::new(&[0x00, 0x92, 2, 3, 4, 5, 6, 7]).unwrap();
        });
        let (mut t, p, i) = good();
        t.serial_number = Int::new(&[0x12; 8]).unwrap();
        assert_eq!(lint(&t, &p, &i), vec![]);
    }

    fn utc(secs: u64) -> Time {
        time_for(secs).unwrap()
    }

    #[test]
    fn validity() {
        expect(&Finding::ValidityInverted, |t, _| {
            t.validity = RawValidity {
                not_before: t.validity.not_after,
                not_after: t.validity.not_before,
            };
        });
        expect(&Finding::NotBeforeBeforeIssuer, |t, _| {
            t.validity.not_before = utc(NOW - 2 * 86_400);
        });
        expect(&Finding::NotAfterAfterIssuer, |t, i| {
            i.not_after = at(NOW + 30 * 86_400);
            t.validity.not_after = utc(NOW + 31 * 86_400);
        });
        expect(
            &Finding::ValidityTooLong {
                seconds: 94 * 86_400,
                maximum: 93 * 86_400,
            },
            |t, _| {
                t.validity.not_before = utc(NOW);
                t.validity.not_after = utc(NOW + 94 * 86_400 - 1);
            },
        );
    }

    #[test]
    fn time_encoding() {
        expect(
            &Finding::GeneralizedTimeBefore2050 {
                field: "notBefore".into(),
            },
            |t, _| {
                let dt = t.validity.not_before.to_date_time();
                t.validity.not_before = Time::GeneralTime(GeneralizedTime::from_date_time(dt));
            },
        );
        expect(
            &Finding::GeneralizedTimeBefore2050 {
                field: "notAfter".into(),
            },
            |t, _| {
                let dt = t.validity.not_after.to_date_time();
                t.validity.not_after = Time::GeneralTime(GeneralizedTime::from_date_time(dt));
            },
        );
    }

    #[test]
    fn signature_algorithm() {
        expect(
            &Finding::SignatureAlgorithmNotAllowed {
                detail: format!(
                    "signature algorithm not allowed: {SHA_1_WITH_RSA_ENCRYPTION} is not an allowed signature algorithm"
                ),
            },
            |t, _| {
                t.signature = AlgorithmIdentifierOwned {
                    oid: SHA_1_WITH_RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                };
            },
        );
        expect(&Finding::SignatureAlgorithmMismatch, |t, _| {
            t.signature = ecdsa(ECDSA_WITH_SHA_384);
        });
        // The CA says it signs P-256 with SHA-384: consistent with the TBS, but
        // not RFC 5753.
        let (mut t, p, mut i) = good();
        i.signature_algorithm = ecdsa(ECDSA_WITH_SHA_384);
        t.signature = ecdsa(ECDSA_WITH_SHA_384);
        let found = lint(&t, &p, &i);
        assert!(
            matches!(
                found.as_slice(),
                [Finding::SignatureAlgorithmKeyMismatch { .. }]
            ),
            "{found:?}"
        );
    }
}
