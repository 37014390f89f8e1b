//! `#[derive(Entity)]` over unsigned integers, decimals, dates, UUIDs and JSON without a
//! database: the column types it declares, a round trip of the values through a row, and
//! filters, with the crates reached through txkit's re-exports.

use std::str::FromStr;
use std::sync::Arc;

use txkit::core::chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use txkit::core::rust_decimal::Decimal;
use txkit::core::serde_json::{self, Value as JsonValue, json};
use txkit::core::uuid::Uuid;
use txkit::entity::ColumnType;
use txkit::{Entity, ErrorKind, Row, Value};

#[derive(Debug, Clone, PartialEq, Entity)]
struct Typed {
    #[txkit(primary_key)]
    id: Uuid,
    tiny: u8,
    mid: Option<u16>,
    wide: u32,
    huge: u64,
    #[txkit(precision = 19, scale = 4)]
    price: Decimal,
    amount: Option<Decimal>,
    day: NaiveDate,
    at: NaiveDateTime,
    utc: Option<DateTime<Utc>>,
    doc: serde_json::Value,
    extra: Option<JsonValue>,
}

fn typed() -> Typed {
    let at = NaiveDateTime::from_str("2024-02-29T23:59:58.123456").unwrap();
    Typed {
        id: Uuid::from_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap(),
        tiny: u8::MAX,
        mid: Some(u16::MAX),
        wide: u32::MAX,
        huge: i64::MAX as u64,
        price: Decimal::from_str("12345678901234.5678").unwrap(),
        amount: None,
        day: at.date(),
        at,
        utc: Some(at.and_utc()),
        doc: json!({"a": [1, {"b": null}]}),
        extra: Some(JsonValue::Null),
    }
}

fn row_of<E: Entity>(values: Vec<Value>) -> Row {
    let names: Vec<String> = E::COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    Row::new(Arc::from(names), values)
}

#[test]
fn declares_the_column_types() {
    let types: Vec<ColumnType> = Typed::COLUMNS.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [
            ColumnType::Uuid,
            ColumnType::SmallInt,
            ColumnType::Integer,
            ColumnType::BigInt,
            ColumnType::BigInt,
            ColumnType::Decimal {
                precision: 19,
                scale: 4
            },
            ColumnType::DEFAULT_DECIMAL,
            ColumnType::Date,
            ColumnType::Timestamp,
            ColumnType::TimestampTz,
            ColumnType::Json,
            ColumnType::Json,
        ]
    );
    assert!(Typed::COLUMNS[2].nullable && !Typed::COLUMNS[1].nullable);
}

#[test]
fn values_round_trip_through_a_row() {
    let t = typed();
    let values = t.values();
    assert_eq!(values[5], Value::Text("12345678901234.5678".into()));
    assert_eq!(
        values[9],
        Value::Text("2024-02-29 23:59:58.123456+00:00".into())
    );
    assert_eq!(Typed::from_row(&row_of::<Typed>(values)).unwrap(), t);
}

#[test]
fn bad_values_name_their_column() {
    let mut values = typed().values();
    values[1] = Value::Int(256);
    let err = Typed::from_row(&row_of::<Typed>(values)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("\"tiny\""), "{err}");

    let mut values = typed().values();
    values[7] = Value::Text("2024-13-01".into());
    let err = Typed::from_row(&row_of::<Typed>(values)).unwrap_err();
    assert!(err.to_string().contains("\"day\""), "{err}");

    let mut values = typed().values();
    values[10] = Value::Null;
    let err = Typed::from_row(&row_of::<Typed>(values)).unwrap_err();
    assert!(err.to_string().contains("\"doc\""), "{err}");
}

#[test]
fn handles_filter_by_the_new_types() {
    let day = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
    assert_eq!(
        Typed::DAY.ge(day),
        txkit::entity::Filter::Compare {
            column: "day",
            op: ">=",
            value: Value::Text("2024-01-31".into()),
        }
    );
    let price = Decimal::from_str("1.50").unwrap();
    assert_eq!(
        Typed::PRICE.eq(price),
        txkit::entity::Filter::Compare {
            column: "price",
            op: "=",
            value: Value::Text("1.5".into()),
        }
    );
}
