//! Runtime behaviour of `#[derive(Entity)]`: metadata, the row codec, versions, column
//! handles. The derive and the trait are both reached as `txkit::Entity`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use txkit::entity::{ColumnType, DefaultValue, Filter, Versioned};
use txkit::{Entity, ErrorKind, Row, Value};

/// An account, with every supported type and key.
#[derive(Debug, Clone, PartialEq, Entity)]
#[txkit(table = "accounts")]
struct Account {
    #[txkit(primary_key, auto_increment)]
    id: i64,
    #[txkit(unique, max_len = 64, column = "owner_name")]
    owner: String,
    #[txkit(default = 0)]
    balance: i64,
    #[txkit(default = -1)]
    rank: i16,
    nickname: Option<String>,
    level: Option<i16>,
    #[txkit(default = 1.5)]
    rate: f64,
    #[txkit(default = true)]
    active: bool,
    avatar: Option<Vec<u8>>,
    count: i32,
    #[txkit(skip)]
    cache: Vec<String>,
    #[txkit(version)]
    version: i16,
}

static STAMPS: AtomicUsize = AtomicUsize::new(0);

fn next_stamp(current: &str) -> String {
    let n = STAMPS.fetch_add(1, Ordering::SeqCst);
    format!("{current}+{n}")
}

/// An order line: composite key, a generated text version, a default table name.
#[derive(Debug, Clone, PartialEq, Entity)]
struct OrderLine {
    #[txkit(primary_key)]
    order_id: i64,
    #[txkit(primary_key)]
    line: i32,
    #[txkit(version(generator = next_stamp))]
    stamp: String,
}

fn account() -> Account {
    Account {
        id: 7,
        owner: "alice".into(),
        balance: 1_000,
        rank: -3,
        nickname: Some("al".into()),
        level: None,
        rate: 0.25,
        active: true,
        avatar: Some(vec![1, 2, 3]),
        count: 42,
        cache: vec!["not a column".into()],
        version: 4,
    }
}

fn row_of<E: Entity>(entity: &E) -> Row {
    let names: Vec<String> = E::COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    Row::new(Arc::from(names), entity.values())
}

#[test]
fn values_round_trip_through_a_row() {
    let a = account();
    let values = a.values();
    assert_eq!(values.len(), Account::COLUMNS.len());
    assert_eq!(values[1], Value::Text("alice".into()));
    assert_eq!(values[5], Value::Null);
    assert_eq!(values[8], Value::Bytes(vec![1, 2, 3]));

    let back = Account::from_row(&row_of(&a)).unwrap();
    assert_eq!(
        back,
        Account {
            cache: Vec::new(),
            ..a
        }
    );

    let line = OrderLine {
        order_id: 1,
        line: 2,
        stamp: "s0".into(),
    };
    assert_eq!(OrderLine::from_row(&row_of(&line)).unwrap(), line);
}

#[test]
fn decoding_reports_missing_columns_and_out_of_range_values() {
    let row = Row::new(Arc::from(vec!["id".to_owned()]), vec![Value::Int(1)]);
    let err = Account::from_row(&row).unwrap_err();
    assert!(err.to_string().contains("owner_name"), "{err}");

    let mut values = account().values();
    values[3] = Value::Int(i64::from(i16::MAX) + 1);
    let names: Vec<String> = Account::COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    let err = Account::from_row(&Row::new(Arc::from(names), values)).unwrap_err();
    assert!(err.to_string().contains("out of range for i16"), "{err}");
}

#[test]
fn columns_carry_the_declared_flags() {
    assert_eq!(Account::TABLE, "accounts");
    assert_eq!(OrderLine::TABLE, "order_line");
    let cols = Account::COLUMNS;
    let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "id",
            "owner_name",
            "balance",
            "rank",
            "nickname",
            "level",
            "rate",
            "active",
            "avatar",
            "count",
            "version"
        ]
    );
    let types: Vec<ColumnType> = cols.iter().map(|c| c.ty).collect();
    use ColumnType::*;
    assert_eq!(
        types,
        [
            BigInt, Text, BigInt, SmallInt, Text, SmallInt, Double, Bool, Bytes, Integer, SmallInt
        ]
    );

    let id = &cols[0];
    assert!(id.primary_key && id.auto_increment && !id.nullable && !id.unique);
    let owner = &cols[1];
    assert_eq!(
        (owner.field, owner.unique, owner.max_len),
        ("owner", true, Some(64))
    );
    assert_eq!(cols[2].default, Some(DefaultValue::Int(0)));
    assert_eq!(cols[3].default, Some(DefaultValue::Int(-1)));
    assert!(cols[4].nullable && cols[5].nullable && cols[8].nullable);
    assert_eq!(cols[6].default, Some(DefaultValue::Float(1.5)));
    assert_eq!(cols[7].default, Some(DefaultValue::Bool(true)));
    assert!(cols[10].version && !cols[9].version);
    assert_eq!(cols.iter().filter(|c| c.version).count(), 1);

    let pk: Vec<&str> = OrderLine::primary_key().map(|c| c.name).collect();
    assert_eq!(pk, ["order_id", "line"]);
    assert_eq!(Account::version_column().map(|c| c.name), Some("version"));
    assert_eq!(<Account as Versioned>::VERSION_COLUMN, "version");
    assert_eq!(<OrderLine as Versioned>::VERSION_COLUMN, "stamp");
    assert_eq!(Account::table().columns.len(), 11);
}

#[test]
fn integer_versions_increment_and_refuse_to_overflow() {
    let mut a = account();
    assert_eq!(a.version(), Some(Value::Int(4)));
    assert_eq!(a.next_version(), Some(Value::Int(5)));
    a.set_version(Value::Int(5)).unwrap();
    assert_eq!(a.version, 5);

    a.version = i16::MAX;
    assert_eq!(a.next_version(), None, "overflow must not wrap");

    let err = a.set_version(Value::Text("x".into())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("accounts.version"), "{err}");
}

#[test]
fn custom_generators_make_the_next_version() {
    let mut line = OrderLine {
        order_id: 1,
        line: 1,
        stamp: "v".into(),
    };
    let before = STAMPS.load(Ordering::SeqCst);
    let Some(Value::Text(next)) = line.next_version() else {
        panic!("a text version");
    };
    assert!(STAMPS.load(Ordering::SeqCst) > before, "the generator ran");
    assert!(next.starts_with("v+"), "{next}");
    line.set_version(Value::Text(next.clone())).unwrap();
    assert_eq!(line.stamp, next);
    assert_eq!(line.version(), Some(Value::Text(next)));
}

#[test]
fn set_generated_stores_ids_and_explains_mistakes() {
    let mut a = account();
    a.set_generated("id", Value::Int(99)).unwrap();
    assert_eq!(a.id, 99);

    let err = a.set_generated("balance", Value::Int(1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"balance\" is not an auto_increment column of table accounts"),
        "{err}"
    );
    let err = a.set_generated("id", Value::Text("x".into())).unwrap_err();
    assert!(err.to_string().contains("accounts.id"), "{err}");

    let mut line = OrderLine {
        order_id: 1,
        line: 1,
        stamp: String::new(),
    };
    let err = line.set_generated("order_id", Value::Int(1)).unwrap_err();
    assert!(
        err.to_string().contains("has no auto_increment column"),
        "{err}"
    );
}

#[test]
fn column_handles_build_filters() {
    assert_eq!(Account::OWNER.name(), "owner_name");
    assert_eq!(
        Account::BALANCE.gt(100),
        Filter::Compare {
            column: "balance",
            op: ">",
            value: Value::Int(100)
        }
    );
    assert_eq!(
        Account::OWNER.eq("bob"),
        Filter::Compare {
            column: "owner_name",
            op: "=",
            value: Value::Text("bob".into())
        }
    );
    assert_eq!(
        Account::ID.in_([1, 2]),
        Filter::In {
            column: "id",
            values: vec![Value::Int(1), Value::Int(2)]
        }
    );
    assert_eq!(
        Account::NICKNAME.is_null().or(Account::NICKNAME.eq("al")),
        Filter::Or(vec![
            Filter::IsNull {
                column: "nickname",
                null: true
            },
            Filter::Compare {
                column: "nickname",
                op: "=",
                value: Value::Text("al".into())
            },
        ])
    );
    assert_eq!(
        Account::LEVEL.le(3_i16),
        Filter::Compare {
            column: "level",
            op: "<=",
            value: Value::Int(3)
        }
    );
    assert_eq!(OrderLine::STAMP.name(), "stamp");
}
