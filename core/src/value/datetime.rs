//! chrono's dates and times (feature `chrono`), for DATE, TIMESTAMP and TIMESTAMPTZ columns.
//!
//! Written as ISO 8601 [`Value::Text`] of fixed width, so that SQLite, which keeps them as
//! text, sorts and compares them in time order (years 0000 to 9999):
//!
//! | Rust | text |
//! | --- | --- |
//! | `NaiveDate` | `2024-01-31` |
//! | `NaiveDateTime` | `2024-01-31 12:05:09.250000` |
//! | `DateTime<Utc>` | `2024-01-31 12:05:09.250000+00:00` |
//!
//! Times keep microseconds, the precision of PostgreSQL's and MySQL's timestamps; digits
//! below a microsecond are dropped when written (on every backend alike, so a value reads
//! back the same from each). MariaDB refuses an offset in a DATETIME literal, so an entity
//! write drops the `+00:00` for a TIMESTAMPTZ column on MySQL (`entity::fit`).
//!
//! Reading accepts what the backends return: `T` or a space between date and time, any
//! number of fraction digits, and for `DateTime<Utc>` an offset (`Z`, `+00`, `+05:30`,
//! `-0800`), or none, which means UTC (MySQL's DATETIME holds the UTC time txkit wrote).
//! A `DateTime<Utc>` is never read from a `NaiveDateTime`'s column type by guessing a zone:
//! no offset means UTC, always.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

use super::{FromValue, Value, mismatch, unreadable};
use crate::error::Result;

const DATE: &str = "%Y-%m-%d";
const DATE_TIME_OUT: &str = "%Y-%m-%d %H:%M:%S%.6f";
const DATE_TIME_IN: &str = "%Y-%m-%d %H:%M:%S%.f";

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Text(v.format(DATE).to_string())
    }
}

impl From<NaiveDateTime> for Value {
    fn from(v: NaiveDateTime) -> Self {
        Value::Text(v.format(DATE_TIME_OUT).to_string())
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Text(format!("{}+00:00", v.naive_utc().format(DATE_TIME_OUT)))
    }
}

/// The text of `value`, or a mismatch error naming `wanted`.
fn text<'a>(value: &'a Value, column: &str, wanted: &str) -> Result<&'a str> {
    match value {
        Value::Text(t) => Ok(t.trim()),
        _ => Err(mismatch(value, column, wanted)),
    }
}

/// A date and time with a `T` or a space between them.
fn naive(t: &str) -> std::result::Result<NaiveDateTime, chrono::ParseError> {
    match t.split_once('T') {
        Some((date, time)) => {
            NaiveDateTime::parse_from_str(&format!("{date} {time}"), DATE_TIME_IN)
        }
        None => NaiveDateTime::parse_from_str(t, DATE_TIME_IN),
    }
}

impl FromValue for NaiveDate {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        let t = text(value, column, "NaiveDate")?;
        NaiveDate::parse_from_str(t, DATE).map_err(|e| unreadable(t, column, "NaiveDate", &e))
    }
}

impl FromValue for NaiveDateTime {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        let t = text(value, column, "NaiveDateTime")?;
        naive(t).map_err(|e| unreadable(t, column, "NaiveDateTime", &e))
    }
}

impl FromValue for DateTime<Utc> {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        const WANTED: &str = "DateTime<Utc>";
        let t = text(value, column, WANTED)?;
        // The zone starts at the first character after the seconds (19 characters in) that
        // is not part of the fraction.
        let end = t
            .char_indices()
            .skip(19)
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(t.len(), |(i, _)| i);
        let (local, zone) = t.split_at(end);
        let local = naive(local).map_err(|e| unreadable(t, column, WANTED, &e))?;
        let offset = offset(zone.trim()).ok_or_else(|| {
            unreadable(
                t,
                column,
                WANTED,
                &format_args!("unknown UTC offset {zone:?}"),
            )
        })?;
        local
            .checked_sub_offset(offset)
            .map(|utc| utc.and_utc())
            .ok_or_else(|| unreadable(t, column, WANTED, &"out of chrono's range"))
    }
}

/// `""` and `Z` (UTC), `+HH`, `+HH:MM`, `+HHMM`, `+HH:MM:SS`, or `-` the same.
fn offset(zone: &str) -> Option<FixedOffset> {
    if zone.is_empty() || zone == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match zone.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let parts: Vec<&str> = if rest.contains(':') {
        rest.split(':').collect()
    } else if rest.len() == 4 {
        vec![&rest[..2], &rest[2..]]
    } else {
        vec![rest]
    };
    if parts.len() > 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let mut seconds = 0_i32;
    for (part, unit) in parts.iter().zip([3600, 60, 1]) {
        seconds += part.parse::<i32>().ok()? * unit;
    }
    FixedOffset::east_opt(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, DATE_TIME_IN).unwrap()
    }

    #[test]
    fn writes_fixed_width_iso_text() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        assert_eq!(Value::from(d), Value::Text("2024-01-05".into()));
        let t = at("2024-01-05 07:08:09.000250");
        assert_eq!(
            Value::from(t),
            Value::Text("2024-01-05 07:08:09.000250".into())
        );
        assert_eq!(
            Value::from(t.and_utc()),
            Value::Text("2024-01-05 07:08:09.000250+00:00".into())
        );
        // Below a microsecond is dropped, never rounded up into the next one.
        let nanos = at("2024-01-05 23:59:59.999999999");
        assert_eq!(
            Value::from(nanos),
            Value::Text("2024-01-05 23:59:59.999999".into())
        );
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Value::from(at("2024-01-05 07:08:09"));
        let b = Value::from(at("2024-01-05 07:08:09.5"));
        let c = Value::from(at("2024-01-05 10:00:00"));
        let (Value::Text(a), Value::Text(b), Value::Text(c)) = (a, b, c) else {
            panic!("text");
        };
        assert!(a < b && b < c);
    }

    #[test]
    fn reads_what_each_backend_returns() {
        let t = |s: &str| Value::Text(s.into());
        let date = NaiveDate::from_value(&t("2024-02-29"), "d").unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        for (text, want) in [
            ("2024-01-31 12:00:00.25", "2024-01-31 12:00:00.250"),
            ("2024-01-31 12:00:00.250000", "2024-01-31 12:00:00.250"),
            ("2024-01-31T12:00:00", "2024-01-31 12:00:00"),
        ] {
            assert_eq!(NaiveDateTime::from_value(&t(text), "ts").unwrap(), at(want));
        }
        for (text, want) in [
            ("2024-01-31 12:00:00.25+00", "2024-01-31 12:00:00.25"),
            ("2024-01-31 12:00:00.250000+00:00", "2024-01-31 12:00:00.25"),
            ("2024-01-31 12:00:00.250000", "2024-01-31 12:00:00.25"),
            ("2024-01-31T12:00:00Z", "2024-01-31 12:00:00"),
            ("2024-01-31 17:30:00+05:30", "2024-01-31 12:00:00"),
            ("2024-01-31 04:00:00-0800", "2024-01-31 12:00:00"),
            ("2024-01-31 12:53:28+00:53:28", "2024-01-31 12:00:00"),
        ] {
            let got = DateTime::<Utc>::from_value(&t(text), "at").unwrap();
            assert_eq!(got, at(want).and_utc(), "{text}");
        }
    }

    #[test]
    fn refuses_malformed_text_and_other_kinds_by_column() {
        let t = |s: &str| Value::Text(s.into());
        let errors = [
            NaiveDate::from_value(&t("2024-02-30"), "col").unwrap_err(),
            NaiveDate::from_value(&t("infinity"), "col").unwrap_err(),
            NaiveDate::from_value(&t("0001-12-31 BC"), "col").unwrap_err(),
            NaiveDate::from_value(&t("2024-01-31 12:00:00"), "col").unwrap_err(),
            NaiveDate::from_value(&Value::Int(20_240_131), "col").unwrap_err(),
            NaiveDateTime::from_value(&t("2024-01-31"), "col").unwrap_err(),
            NaiveDateTime::from_value(&t("2024-01-31 12:00:00+00"), "col").unwrap_err(),
            NaiveDateTime::from_value(&t("0000-00-00 00:00:00"), "col").unwrap_err(),
            DateTime::<Utc>::from_value(&t("2024-01-31 12:00:00 UTC"), "col").unwrap_err(),
            DateTime::<Utc>::from_value(&t("2024-01-31 12:00:00+5"), "col").unwrap_err(),
            DateTime::<Utc>::from_value(&t("2024-01-31"), "col").unwrap_err(),
            DateTime::<Utc>::from_value(&Value::Null, "col").unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains("\"col\""), "{err}");
        }
    }
}
