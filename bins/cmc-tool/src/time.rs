//! RFC 3339 timestamps for the command line and the output.
//!
//! Only what this tool needs: `YYYY-MM-DDTHH:MM:SS`, optional fraction
//! (dropped: the store keeps whole seconds), then `Z` or `±HH:MM`. Output is
//! always UTC with `Z`.

use cmc_ca::types::UnixTime;

const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count years from March, so the leap day is the last day of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`.
#[must_use]
pub fn format_rfc3339(t: UnixTime) -> String {
    let secs = t.secs();
    let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let rem = secs.rem_euclid(SECS_PER_DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses an RFC 3339 date-time such as `2027-01-31T12:00:00Z` or
/// `2027-01-31T13:00:00+01:00`.
///
/// # Errors
/// A message saying what is wrong, for clap to show.
pub fn parse_rfc3339(s: &str) -> Result<UnixTime, String> {
    let bad =
        |why: &str| format!("{s:?} is not an RFC 3339 time ({why}), e.g. 2027-01-31T12:00:00Z");
    if !s.is_ascii() {
        return Err(bad("not ASCII"));
    }
    let b = s.as_bytes();
    if b.len() < 20 {
        return Err(bad("too short"));
    }
    let num = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &s[range];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| bad("not a number"))
        } else {
            Err(bad("expected digits"))
        }
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(bad("expected YYYY-MM-DDTHH:MM:SS"));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad("expected T between date and time"));
    }
    let year = i64::from(num(0..4)?);
    let (month, day) = (num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    // A leap second (60) is taken as the next second.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time"));
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("empty fraction"));
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let ob = rest.as_bytes();
            if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
                return Err(bad("expected Z or an offset like +01:00"));
            }
            let digits = |r: std::ops::Range<usize>| -> Result<i64, String> {
                let part = &rest[r];
                if part.bytes().all(|c| c.is_ascii_digit()) {
                    part.parse().map_err(|_| bad("bad offset"))
                } else {
                    Err(bad("bad offset"))
                }
            };
            let (oh, om) = (digits(1..3)?, digits(4..6)?);
            if oh > 23 || om > 59 {
                return Err(bad("bad offset"));
            }
            let o = oh * 3600 + om * 60;
            if ob[0] == b'-' { -o } else { o }
        }
    };
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second)
        - offset;
    Ok(UnixTime::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        for (text, secs) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:00:00Z", 951_825_600),
            ("2026-01-02T03:04:05Z", 1_767_323_045),
            ("2038-01-19T03:14:08Z", 1 << 31),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
        ] {
            assert_eq!(parse_rfc3339(text), Ok(UnixTime::from_secs(secs)), "{text}");
            assert_eq!(format_rfc3339(UnixTime::from_secs(secs)), text);
        }
        assert_eq!(
            format_rfc3339(UnixTime::from_secs(-1)),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn offsets_and_fractions() {
        let z = parse_rfc3339("2026-06-01T10:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2026-06-01T12:00:00+02:00"), Ok(z));
        assert_eq!(parse_rfc3339("2026-06-01T07:30:00-02:30"), Ok(z));
        assert_eq!(parse_rfc3339("2026-06-01t10:00:00.999z"), Ok(z));
    }

    #[test]
    fn every_day_round_trips() {
        let start = parse_rfc3339("1999-12-25T00:00:00Z").unwrap().secs();
        for d in 0..3000 {
            let t = UnixTime::from_secs(start + d * SECS_PER_DAY + 3723);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Ok(t));
        }
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in [
            "",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00+1:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01X00:00:00Z",
            "+026-01-01T00:00:00Z",
            "1700000000",
            "2026-01-01T00:00:00\u{e9}Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
