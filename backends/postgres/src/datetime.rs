//! PostgreSQL's binary dates and times as ISO 8601 text, as the server itself prints them
//! with `DateStyle = ISO`: `2024-02-29`, `13:05:00.25`, `2024-02-29 13:05:00.25+00`.
//!
//! Binary dates count days, and timestamps microseconds, from 2000-01-01.

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;
/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

/// The civil date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(0),
        u32::try_from(day).unwrap_or(0),
    )
}

fn ymd(days_since_2000: i64) -> String {
    let (year, month, day) = civil(days_since_2000 + PG_EPOCH_DAYS);
    if year <= 0 {
        format!("{:04}-{month:02}-{day:02} BC", 1 - year)
    } else {
        format!("{year:04}-{month:02}-{day:02}")
    }
}

/// `HH:MM:SS` with `.ffffff` (trailing zeros trimmed) when there is a fraction.
fn hms(usecs_of_day: i64) -> String {
    let secs = usecs_of_day / USECS_PER_SEC;
    let frac = usecs_of_day % USECS_PER_SEC;
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// A binary `date`.
pub(crate) fn date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        d => ymd(i64::from(d)),
    }
}

/// A binary `time`.
pub(crate) fn time(usecs: i64) -> String {
    hms(usecs)
}

/// A binary `timestamp` (`zone` empty) or `timestamptz` (`zone` `+00`: the value is UTC).
pub(crate) fn timestamp(usecs: i64, zone: &str) -> String {
    match usecs {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        t => {
            let days = t.div_euclid(USECS_PER_DAY);
            let rest = t.rem_euclid(USECS_PER_DAY);
            let date = ymd(days);
            // PostgreSQL puts " BC" after the time and zone.
            match date.strip_suffix(" BC") {
                Some(d) => format!("{d} {}{zone} BC", hms(rest)),
                None => format!("{date} {}{zone}", hms(rest)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "2000-01-01");
        assert_eq!(date(-1), "1999-12-31");
        assert_eq!(date(59), "2000-02-29");
        assert_eq!(date(-10_957), "1970-01-01");
        assert_eq!(date(i32::MAX), "infinity");
        // 0001-01-01 is day -730119; the day before is 1 BC.
        assert_eq!(date(-730_119), "0001-01-01");
        assert_eq!(date(-730_120), "0001-12-31 BC");
    }

    #[test]
    fn times_and_timestamps() {
        assert_eq!(time(0), "00:00:00");
        assert_eq!(
            time(13 * 3_600_000_000 + 5 * 60_000_000 + 250_000),
            "13:05:00.25"
        );
        assert_eq!(timestamp(0, ""), "2000-01-01 00:00:00");
        assert_eq!(timestamp(-1, "+00"), "1999-12-31 23:59:59.999999+00");
        assert_eq!(timestamp(i64::MIN, ""), "-infinity");
    }
}
