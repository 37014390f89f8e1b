//! Expansion snapshots (`tests/expand/*.expanded.rs`; `TXKIT_BLESS=1` rewrites them) and
//! checks of the error messages' text.

use std::path::PathBuf;

use syn::{DeriveInput, parse_quote};

use super::derive_inner;

/// Compares the pretty-printed expansion of `input` with `tests/expand/{name}.expanded.rs`,
/// writing the file when it is missing or `TXKIT_BLESS=1`.
fn snapshot(name: &str, input: DeriveInput) {
    let tokens = derive_inner(input).unwrap();
    let file: syn::File = syn::parse2(tokens).unwrap();
    let actual = prettyplease::unparse(&file);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("{name}.expanded.rs"));
    let bless = std::env::var("TXKIT_BLESS").is_ok_and(|v| v == "1");
    if bless || !path.exists() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the expansion from line {} on; if the change is intended, \
             rerun with TXKIT_BLESS=1\n--- actual ---\n{actual}",
            path.display(),
            first + 1
        );
    }
}

fn error(input: DeriveInput) -> String {
    match derive_inner(input) {
        Ok(tokens) => panic!("expected an error, got:\n{tokens}"),
        Err(e) => e
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn expands_a_full_entity() {
    snapshot(
        "full",
        parse_quote! {
            #[txkit(table = "accounts")]
            pub struct Account {
                #[txkit(primary_key, auto_increment)]
                pub id: i64,
                #[txkit(unique, max_len = 64, column = "owner_name")]
                pub owner: String,
                #[txkit(default = 0)]
                pub balance: i64,
                #[txkit(default = -1)]
                pub rank: i16,
                pub nickname: Option<String>,
                pub level: Option<i16>,
                #[txkit(default = 1.5)]
                pub rate: f64,
                #[txkit(default = true)]
                pub active: bool,
                pub avatar: Option<Vec<u8>>,
                #[txkit(skip)]
                pub cache: Vec<String>,
                #[txkit(version)]
                pub version: i32,
            }
        },
    );
}

#[test]
fn expands_a_generated_version_and_composite_key() {
    snapshot(
        "generator",
        parse_quote! {
            pub(crate) struct OrderLine {
                #[txkit(primary_key)]
                order_id: i64,
                #[txkit(primary_key)]
                line: i32,
                #[txkit(default = "n/a")]
                note: String,
                #[txkit(version(generator = crate::stamps::next))]
                stamp: String,
            }
        },
    );
}

#[test]
fn expands_a_minimal_entity_with_a_default_table_name() {
    snapshot(
        "minimal",
        parse_quote! {
            struct BankAccount {
                #[txkit(primary_key)]
                r#type: i16,
            }
        },
    );
}

#[test]
fn expands_unsigned_decimal_date_uuid_and_json_fields() {
    snapshot(
        "column_types",
        parse_quote! {
            pub struct Typed {
                #[txkit(primary_key)]
                pub id: uuid::Uuid,
                #[txkit(auto_increment)]
                pub serial: u64,
                pub small: Option<u8>,
                #[txkit(default = 65535)]
                pub mid: u16,
                pub wide: u32,
                pub amount: rust_decimal::Decimal,
                #[txkit(precision = 19, scale = 4)]
                pub price: Option<Decimal>,
                #[txkit(precision = 6)]
                pub ratio: Decimal,
                pub day: NaiveDate,
                pub at: Option<chrono::NaiveDateTime>,
                pub utc: DateTime<chrono::Utc>,
                pub doc: serde_json::Value,
                pub extra: Option<JsonValue>,
            }
        },
    );
}

#[test]
fn reports_every_field_error_at_once() {
    let msg = error(parse_quote! {
        struct A {
            #[txkit(primary_key, nope)]
            a: i64,
            b: u128,
        }
    });
    assert!(msg.contains("unknown key `nope`"), "{msg}");
    assert!(msg.contains("unsupported field type `u128`"), "{msg}");
}

#[test]
fn rejects_mismatched_keys_and_types() {
    let cases: Vec<(DeriveInput, &str)> = vec![
        (
            parse_quote! { struct A { #[txkit(primary_key, default = "x")] a: i64 } },
            "a string default does not fit a i64 field",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, default = 40000)] a: i16 } },
            "default 40000 does not fit in i16",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, max_len = 3)] a: i64 } },
            "`max_len` applies to text fields",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, max_len = 2, default = "abc")] a: String } },
            "more than max_len = 2",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, auto_increment)] a: String } },
            "`auto_increment` needs an integer field",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key)] a: i64, #[txkit(version)] v: Option<i64> } },
            "a version field cannot be an Option",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key = true)] a: i64 } },
            "`primary_key` takes no value",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key)] a: i64, #[txkit(column = "a")] b: i64 } },
            "maps to column \"a\"",
        ),
        (
            parse_quote! { struct A<T> { #[txkit(primary_key)] a: T } },
            "does not support generic structs",
        ),
        (
            parse_quote! { #[txkit(primary_key)] struct A { #[txkit(primary_key)] a: i64 } },
            "`primary_key` goes on a field",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, version(generator))] a: i64 } },
            "expected `=`",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key)] a: i64, #[txkit(auto_increment)] b: i64, #[txkit(auto_increment)] c: i32 } },
            "at most one auto_increment field",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, version)] a: i64 } },
            "a version field cannot also be `primary_key`",
        ),
        (
            parse_quote! { #[txkit(table = "")] struct A { #[txkit(primary_key)] a: i64 } },
            "`table` cannot be empty",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, precision = 10)] a: i64 } },
            "`precision` and `scale` apply to decimal fields",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, precision = 66)] a: Decimal } },
            "`precision` must be 1 to 65",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, precision = 5, scale = 6)] a: Decimal } },
            "`scale` must be 0 to 5",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, default = "x")] a: Uuid } },
            "a Uuid column cannot have a default",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key, default = -1)] a: u32 } },
            "default -1 does not fit in u32",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key)] a: Value } },
            "unsupported field type `Value`",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key)] a: DateTime<Local> } },
            "unsupported field type `DateTime<Local>`",
        ),
        (
            parse_quote! { struct A { #[txkit(primary_key)] a: i64, #[txkit(version)] v: Decimal } },
            "a `version` field of type Decimal needs a generator",
        ),
    ];
    for (input, expected) in cases {
        let msg = error(input);
        assert!(
            msg.contains(expected),
            "{msg:?} should contain {expected:?}"
        );
    }
}
