//! The validity of a certificate: the profile's lifetime, a requested
//! validity within it, the issuer's own validity, and the time encodings of
//! RFC 5280 §4.1.2.5.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::DateTime;
use x509_cert::time::Time;

use crate::Error;
use crate::decision::{AdjustReason, Refusal, ValidityAdjustment};
use crate::issuer::IssuerInfo;
use crate::profile::{OnIssuerExpiry, Profile};
use crate::request::Request;

const DAY: u64 = 86_400;

/// Seconds since the Unix epoch; times before it count as the epoch.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn time_for(secs: u64) -> Result<Time, Error> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?)
    } else {
        Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt))
    })
}

pub(crate) fn rfc3339(secs: u64) -> String {
    DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_or_else(|_| format!("@{secs}"), |d| d.to_string())
}

/// notBefore and notAfter (Unix seconds), and how they were adjusted.
pub(crate) type Validity = (u64, u64, Vec<ValidityAdjustment>);

/// The validity `profile` grants `request` from `issuer` at `now`, or `None`
/// with the reason pushed onto `refusals`.
pub(crate) fn compute_validity(
    request: &Request,
    profile: &Profile,
    issuer: &IssuerInfo,
    now: SystemTime,
    refusals: &mut Vec<Refusal>,
) -> Option<Validity> {
    let now = unix_secs(now);
    let issuer_nb = unix_secs(issuer.not_before);
    let issuer_na = unix_secs(issuer.not_after);
    let mut adjustments = Vec::new();
    let mut adjust = |field: &str, wanted: u64, granted: u64, reason| {
        adjustments.push(ValidityAdjustment {
            field: field.to_owned(),
            wanted: rfc3339(wanted),
            granted: rfc3339(granted),
            reason,
        });
    };
    if now < issuer_nb || now > issuer_na {
        refusals.push(Refusal::IssuerNotValid { now: rfc3339(now) });
        return None;
    }
    let requested = request
        .validity
        .as_ref()
        .filter(|_| profile.honour_requested_validity);
    let requested_nb = requested
        .and_then(|v| v.not_before)
        .map(|t| unix_secs(t.to_system_time()));
    let requested_na = requested
        .and_then(|v| v.not_after)
        .map(|t| unix_secs(t.to_system_time()));

    let earliest = now.saturating_sub(u64::from(profile.backdate_seconds));
    let mut nb = earliest;
    if let Some(r) = requested_nb {
        if r < earliest {
            adjust("notBefore", r, earliest, AdjustReason::BackdateLimit);
        } else {
            nb = r;
        }
    }
    // RFC 5280 validity is inclusive at both ends: `validity_days` of lifetime
    // ends one second before nb + validity_days.
    let longest = nb + u64::from(profile.validity_days) * DAY - 1;
    let mut na = longest;
    if let Some(r) = requested_na {
        if r > longest {
            adjust("notAfter", r, longest, AdjustReason::ProfileMaximum);
        } else {
            na = r;
        }
    }
    if na < now || na < nb {
        refusals.push(Refusal::InvalidValidity {
            reason: format!(
                "notAfter {} is before notBefore {} or the issuance time",
                rfc3339(na),
                rfc3339(nb)
            ),
        });
        return None;
    }
    if nb < issuer_nb {
        adjust("notBefore", nb, issuer_nb, AdjustReason::IssuerNotBefore);
        nb = issuer_nb;
    }
    if na > issuer_na {
        match profile.on_issuer_expiry {
            OnIssuerExpiry::Clamp => {
                adjust("notAfter", na, issuer_na, AdjustReason::IssuerNotAfter);
                na = issuer_na;
            }
            OnIssuerExpiry::Refuse => {
                refusals.push(Refusal::OutlivesIssuer {
                    not_after: rfc3339(na),
                    issuer_not_after: rfc3339(issuer_na),
                });
                return None;
            }
        }
    }
    if nb > na {
        refusals.push(Refusal::InvalidValidity {
            reason: format!("notBefore {} is after the issuer's notAfter", rfc3339(nb)),
        });
        return None;
    }
    Some((nb, na, adjustments))
}

#[cfg(test)]
mod tests {
    use der::Encode;

    use super::*;

    #[test]
    fn times_switch_to_generalized_in_2050() {
        // 2049-12-31T23:59:59Z and 2050-01-01T00:00:00Z
        let last_utc = 2_524_607_999;
        assert!(matches!(time_for(last_utc).unwrap(), Time::UtcTime(_)));
        assert!(matches!(
            time_for(last_utc + 1).unwrap(),
            Time::GeneralTime(_)
        ));
        assert_eq!(
            time_for(last_utc).unwrap().to_der().unwrap()[0],
            0x17,
            "UTCTime tag"
        );
        assert_eq!(
            time_for(last_utc + 1).unwrap().to_der().unwrap()[0],
            0x18,
            "GeneralizedTime tag"
        );
        assert_eq!(rfc3339(last_utc + 1), "2050-01-01T00:00:00Z");
    }
}
