//! The column types beyond integers, floats, booleans, text and bytes, on every backend:
//! unsigned integers, `Decimal`, chrono's dates and times, `Uuid` and `serde_json::Value`
//! (each also as an `Option`) through `#[derive(Entity)]`, DDL, insert, update, find and
//! filters; and the errors, each naming its column, for values a column cannot take or a
//! field cannot read.

mod derive;

use std::str::FromStr;

use txkit::core::chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use txkit::core::rust_decimal::Decimal;
use txkit::core::serde_json::{self, json};
use txkit::core::uuid::Uuid;
use txkit::{Entity, ErrorKind, create_all};

use crate::common::{Kind, TestDb};
use crate::entities::Isolated;

crate::matrix!(
    new_types_round_trip_and_filter,
    new_types_through_the_session,
    values_a_column_cannot_take_are_refused_by_name,
    values_a_field_cannot_read_are_refused_by_name,
);

/// Through sea-orm only (sqlx binds txkit's text as TEXT and reads dates, UUIDs and JSON
/// only through its typed API): SQLite stores them all as text and round-trips them;
/// PostgreSQL refuses a text parameter for a typed column, and MySQL takes it but txkit
/// cannot read its DATE columns back. Both say which column.
mod sea_orm_column_types {
    crate::matrix!(@three run_sea_orm [sea_orm_sqlite sea_orm_postgres sea_orm_mysql] sea_orm_column_types);
}

async fn sea_orm_column_types(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Typed::table()]).await.unwrap();
    let mut conn = engine.connection().await.unwrap();
    let mut one = full(1);
    match db.kind {
        Kind::Sqlite => {
            conn.insert(&mut one).await.unwrap();
            assert_eq!(conn.find::<Typed>(1).await.unwrap().unwrap(), one);
        }
        Kind::Postgres => {
            let err = conn.insert(&mut one).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Database, "{err}");
            assert!(
                err.to_string()
                    .contains("column \"price\" is of type numeric"),
                "{err}"
            );
        }
        Kind::MySql => {
            conn.insert(&mut one).await.unwrap();
            let err = conn.find::<Typed>(1).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
            assert!(
                err.to_string().contains("column \"day\" has type DATE"),
                "{err}"
            );
        }
    }
    drop(conn);
    iso.finish().await;
}

/// Every new type, and an `Option` of each.
#[derive(Debug, Clone, PartialEq, Entity)]
#[txkit(table = "column_types")]
struct Typed {
    #[txkit(primary_key)]
    id: i64,
    tiny: u8,
    mid: u16,
    wide: u32,
    huge: u64,
    #[txkit(precision = 19, scale = 4)]
    price: Decimal,
    amount: Decimal,
    day: NaiveDate,
    at: NaiveDateTime,
    utc: DateTime<Utc>,
    token: Uuid,
    doc: serde_json::Value,
    opt_tiny: Option<u8>,
    opt_mid: Option<u16>,
    opt_wide: Option<u32>,
    opt_huge: Option<u64>,
    #[txkit(precision = 19, scale = 4)]
    opt_price: Option<Decimal>,
    opt_day: Option<NaiveDate>,
    opt_at: Option<NaiveDateTime>,
    opt_utc: Option<DateTime<Utc>>,
    opt_token: Option<Uuid>,
    opt_doc: Option<serde_json::Value>,
}

/// The same table, its nullable `opt_day` read into a field that is not an `Option`.
#[derive(Debug, Entity)]
#[txkit(table = "column_types")]
struct StrictDay {
    #[txkit(primary_key)]
    id: i64,
    opt_day: NaiveDate,
}

/// The same table, its `day` read as a UUID and its `doc` as a decimal.
#[derive(Debug, Entity)]
#[txkit(table = "column_types")]
struct WrongDay {
    #[txkit(primary_key)]
    id: i64,
    day: Uuid,
}

#[derive(Debug, Entity)]
#[txkit(table = "column_types")]
struct WrongDoc {
    #[txkit(primary_key)]
    id: i64,
    doc: Decimal,
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::from_str(s).unwrap()
}

/// A row with every field set, extreme where a type has extremes.
fn full(id: i64) -> Typed {
    Typed {
        id,
        tiny: u8::MAX,
        mid: u16::MAX,
        wide: u32::MAX,
        huge: i64::MAX as u64,
        price: dec("12345678901234.5678"),
        amount: dec("123456789012345678.0123456789"),
        day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        at: at("2024-02-29T23:59:58.123456"),
        utc: at("2024-03-10T01:02:03.000007").and_utc(),
        token: Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8),
        doc: json!({
            "name": "é \"quoted\" \\ ✓",
            "list": [1, 2.5, -3, true, null, {"deep": {"empty": [], "n": 12_345_678_901_234_i64}}],
        }),
        opt_tiny: Some(0),
        opt_mid: Some(1),
        opt_wide: Some(0),
        opt_huge: Some(0),
        opt_price: Some(dec("-0.0001")),
        opt_day: Some(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()),
        opt_at: Some(at("2000-01-01T00:00:00")),
        opt_utc: Some(at("1970-01-01T00:00:00.5").and_utc()),
        opt_token: Some(Uuid::nil()),
        opt_doc: Some(serde_json::Value::Null),
    }
}

/// A row with every `Option` NULL and small values elsewhere.
fn nulls(id: i64) -> Typed {
    Typed {
        id,
        tiny: 0,
        mid: 0,
        wide: 0,
        huge: 0,
        price: dec("0"),
        amount: dec("-1.5"),
        day: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
        at: at("2023-01-01T00:00:00"),
        utc: at("2023-01-01T00:00:00").and_utc(),
        token: Uuid::max(),
        doc: json!([]),
        opt_tiny: None,
        opt_mid: None,
        opt_wide: None,
        opt_huge: None,
        opt_price: None,
        opt_day: None,
        opt_at: None,
        opt_utc: None,
        opt_token: None,
        opt_doc: None,
    }
}

/// The session's change tracking over the new types: an object loaded and not changed
/// has nothing to write (each value reads back as what was written), and a changed
/// decimal and instant are written and read back exactly.
async fn new_types_through_the_session(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Typed::table()]).await.unwrap();
    let mut session = engine.session();
    session.add(full(1));
    session.add(nulls(2));
    session.commit().await.unwrap();

    let mut session = engine.session();
    let loaded = session
        .query::<Typed>()
        .filter(Typed::PRICE.eq(dec("12345678901234.5678")))
        .one()
        .await
        .unwrap();
    assert_eq!(*loaded, full(1));
    loaded.price = dec("-0.0001");
    loaded.utc = at("2030-01-02T03:04:05.654321").and_utc();
    loaded.opt_price = None; // a column set to NULL
    assert!(session.is_modified(), "the changed object");
    // get() of a row the session does not hold flushes first (a query sees the changes).
    let other = session.get::<Typed>(2).await.unwrap().unwrap();
    assert_eq!(*other, nulls(2));
    assert!(!session.is_modified(), "flushed");
    session.commit().await.unwrap();

    let mut session = engine.session();
    let back = session.get::<Typed>(1).await.unwrap().unwrap();
    let mut want = full(1);
    want.price = dec("-0.0001");
    want.utc = at("2030-01-02T03:04:05.654321").and_utc();
    want.opt_price = None;
    assert_eq!(*back, want);
    let _ = session.get::<Typed>(2).await.unwrap().unwrap();
    assert!(
        !session.is_modified(),
        "loaded objects read back as written"
    );
    session.rollback().await.unwrap();
    iso.finish().await;
}

async fn new_types_round_trip_and_filter(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Typed::table()]).await.unwrap();

    let (mut one, mut two) = (full(1), nulls(2));
    let mut tx = engine.begin().await.unwrap();
    tx.insert(&mut one).await.unwrap();
    tx.insert(&mut two).await.unwrap();
    tx.commit().await.unwrap();

    let mut conn = engine.connection().await.unwrap();
    assert_eq!(conn.find::<Typed>(1).await.unwrap().unwrap(), one);
    assert_eq!(conn.find::<Typed>(2).await.unwrap().unwrap(), two);

    // Every field changed, then read back.
    let mut changed = Typed {
        tiny: 7,
        mid: 40_000,
        wide: 3_000_000_000,
        huge: 9_000_000_000_000_000_000,
        price: dec("-99999999999999.9999"),
        amount: dec("0.0000000001"),
        day: NaiveDate::from_ymd_opt(2038, 1, 19).unwrap(),
        at: at("2038-01-19T03:14:08.999999"),
        utc: at("2106-02-07T06:28:16.000001").and_utc(),
        token: Uuid::from_u128(1),
        doc: json!({"replaced": {"by": ["another", "document"]}}),
        opt_tiny: Some(255),
        opt_mid: None,
        opt_wide: Some(u32::MAX),
        opt_huge: Some(1),
        opt_price: Some(dec("1.5")),
        opt_day: None,
        opt_at: Some(at("1999-12-31T23:59:59.000001")),
        opt_utc: None,
        opt_token: Some(Uuid::from_u128(2)),
        opt_doc: Some(json!("just a string")),
        ..one.clone()
    };
    let mut tx = engine.begin().await.unwrap();
    tx.update(&mut changed).await.unwrap();
    let mut filled = Typed {
        opt_tiny: Some(1),
        opt_price: Some(dec("42")),
        opt_doc: Some(json!({"a": 1})),
        ..two.clone()
    };
    tx.update(&mut filled).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(conn.find::<Typed>(1).await.unwrap().unwrap(), changed);
    assert_eq!(conn.find::<Typed>(2).await.unwrap().unwrap(), filled);

    // Filters: a decimal by equality (written with another scale than stored), a date by
    // range, an instant, a UUID and an unsigned integer by equality.
    let by_price: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::PRICE.eq(dec("-99999999999999.99990")))
        .all()
        .await
        .unwrap();
    assert_eq!(by_price, [changed.clone()]);
    let by_opt_price: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::OPT_PRICE.eq(dec("42.0")))
        .all()
        .await
        .unwrap();
    assert_eq!(by_opt_price, [filled.clone()]);
    let before_2030: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::DAY.lt(NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()))
        .all()
        .await
        .unwrap();
    assert_eq!(before_2030, [filled.clone()]);
    let from_2023: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::DAY.ge(NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()))
        .all()
        .await
        .unwrap();
    assert_eq!(from_2023, [changed.clone(), filled.clone()]);
    let by_instant: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::UTC.eq(changed.utc))
        .all()
        .await
        .unwrap();
    assert_eq!(by_instant, [changed.clone()]);
    let later: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::AT.gt(at("2023-01-01T00:00:00.000001")))
        .all()
        .await
        .unwrap();
    assert_eq!(later, [changed.clone()]);
    let by_token: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::TOKEN.eq(Uuid::max()))
        .all()
        .await
        .unwrap();
    assert_eq!(by_token, [filled.clone()]);
    let by_huge: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::HUGE.eq(9_000_000_000_000_000_000_u64))
        .all()
        .await
        .unwrap();
    assert_eq!(by_huge, [changed.clone()]);
    let by_ids: Vec<Typed> = conn
        .select::<Typed>()
        .filter(Typed::OPT_TINY.in_([1_u8, 255]))
        .all()
        .await
        .unwrap();
    assert_eq!(by_ids, [changed, filled]);
    drop(conn);
    iso.finish().await;
}

/// Asserts `err` is a Config error whose message names `column` and says `says`.
fn assert_names(err: &txkit::Error, column: &str, says: &str) {
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{column:?}")),
        "{msg} should name {column:?}"
    );
    assert!(msg.contains(says), "{msg} should say {says:?}");
}

async fn values_a_column_cannot_take_are_refused_by_name(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Typed::table()]).await.unwrap();
    let mut conn = engine.connection().await.unwrap();

    // A u64 above what a BIGINT holds, on insert, on update and in a filter.
    let mut too_big = Typed {
        huge: u64::MAX,
        ..full(1)
    };
    let err = conn.insert(&mut too_big).await.unwrap_err();
    assert_names(&err, "huge", "18446744073709551615");
    let mut ok = full(1);
    conn.insert(&mut ok).await.unwrap();
    let mut too_big = Typed {
        opt_huge: Some(i64::MAX as u64 + 1),
        ..ok.clone()
    };
    let err = conn.update(&mut too_big).await.unwrap_err();
    assert_names(&err, "opt_huge", "9223372036854775808");
    let err = conn
        .select::<Typed>()
        .filter(Typed::HUGE.eq(u64::MAX))
        .all()
        .await
        .unwrap_err();
    assert_names(&err, "huge", "18446744073709551615");

    // More decimal places than the column keeps: refused, not rounded.
    let mut too_precise = Typed {
        price: dec("1.23456"),
        ..ok.clone()
    };
    let err = conn.update(&mut too_precise).await.unwrap_err();
    assert_names(&err, "price", "5 digits after the point");
    let mut too_wide = Typed {
        opt_price: Some(dec("1234567890123456")),
        ..ok.clone()
    };
    let err = conn.update(&mut too_wide).await.unwrap_err();
    assert_names(&err, "opt_price", "16 digits before the point");

    // Nothing of the refused writes reached the table.
    assert_eq!(conn.find::<Typed>(1).await.unwrap().unwrap(), ok);
    drop(conn);
    iso.finish().await;
}

async fn values_a_field_cannot_read_are_refused_by_name(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Typed::table()]).await.unwrap();
    let mut conn = engine.connection().await.unwrap();
    conn.insert(&mut nulls(1)).await.unwrap();

    // NULL into a field that is not an Option.
    let err = conn.find::<StrictDay>(1).await.unwrap_err();
    assert_names(&err, "opt_day", "NULL");
    // A date read as a UUID, a JSON document as a decimal.
    let err = conn.find::<WrongDay>(1).await.unwrap_err();
    assert_names(&err, "day", "Uuid");
    let err = conn.find::<WrongDoc>(1).await.unwrap_err();
    assert_names(&err, "doc", "Decimal");

    // Negative and too large values in the columns of unsigned fields.
    conn.execute(
        "UPDATE column_types SET tiny = ? WHERE id = 1",
        &txkit::params![-1],
    )
    .await
    .unwrap();
    let err = conn.find::<Typed>(1).await.unwrap_err();
    assert_names(&err, "tiny", "out of range for u8");
    conn.execute(
        "UPDATE column_types SET tiny = 0, wide = ? WHERE id = 1",
        &txkit::params![-5],
    )
    .await
    .unwrap();
    let err = conn.find::<Typed>(1).await.unwrap_err();
    assert_names(&err, "wide", "out of range for u32");
    conn.execute(
        "UPDATE column_types SET wide = 0, mid = ? WHERE id = 1",
        &txkit::params![70_000],
    )
    .await
    .unwrap();
    let err = conn.find::<Typed>(1).await.unwrap_err();
    assert_names(&err, "mid", "out of range for u16");

    // SQLite keeps whatever text it is given: malformed text reads as an error, not a guess.
    if db.kind == Kind::Sqlite {
        for (column, text, says) in [
            ("day", "2024-02-30", "NaiveDate"),
            ("token", "not-a-uuid", "Uuid"),
            ("price", "12,50", "Decimal"),
            ("utc", "2024-01-31 12:00:00 CET", "DateTime<Utc>"),
            ("doc", "{\"open\":", "serde_json::Value"),
        ] {
            let mut fresh = engine.connection().await.unwrap();
            fresh
                .execute("DELETE FROM column_types", &[])
                .await
                .unwrap();
            fresh.insert(&mut nulls(1)).await.unwrap();
            fresh
                .execute(
                    &format!("UPDATE column_types SET {column} = ? WHERE id = 1"),
                    &txkit::params![text],
                )
                .await
                .unwrap();
            let err = fresh.find::<Typed>(1).await.unwrap_err();
            assert_names(&err, column, says);
        }
    }
    drop(conn);
    iso.finish().await;
}
