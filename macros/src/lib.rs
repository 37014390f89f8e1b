//! Procedural macros of txkit: `#[derive(Entity)]` and `#[retry_on_deadlock]`. Use them
//! through the `txkit` crate (`use txkit::Entity;`); the generated code refers to
//! `::txkit::core`. Each macro is a one-line entry here over a module that parses, checks
//! and expands.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use proc_macro::TokenStream;

mod entity;
mod retry;

/// Maps a struct with named fields to a table, implementing `txkit::Entity` (and
/// `txkit::entity::Versioned` when a field is a version), plus a typed column handle per
/// mapped field as an associated constant (`Account::BALANCE`, a
/// `txkit::Column<Account, i64>`).
///
/// On the struct: `#[txkit(table = "accounts")]` (default: the struct name in snake_case).
///
/// On a field:
/// - `primary_key` (one or more fields; required), `auto_increment` (an integer the database
///   generates on insert), `unique`, `column = "name"`, `max_len = 64` (text),
///   `precision = 19, scale = 4` (a decimal; see below), `default = 0` (an integer, float,
///   string or bool literal; not on decimal, date, UUID or JSON fields);
/// - `version`: the optimistic-lock version (an integer; next = current + 1, overflow is
///   refused), or `version(generator = path)` for any type: a `fn(&T) -> T` (for text,
///   `fn(&str) -> String` works too);
/// - `skip`: not a column; decoded rows fill it with `Default::default()`.
///
/// Field types, and the column each becomes (`Option<T>` of any of them is the same column,
/// nullable). A type is recognised by the last segment of its path as written, so
/// `rust_decimal::Decimal`, `Decimal` and `txkit::core::rust_decimal::Decimal` are all a
/// decimal; a JSON field is spelled `serde_json::Value` (any path ending in it) or
/// `JsonValue` (as `use serde_json::Value as JsonValue` names it), since a bare `Value`
/// could be txkit's own. The types from other crates need the txkit feature in brackets,
/// which also re-exports the crate (`txkit::core::chrono`, …).
///
/// | Rust | PostgreSQL | MySQL / MariaDB | SQLite |
/// | --- | --- | --- | --- |
/// | `i16` / `i32` / `i64` | `smallint` / `integer` / `bigint` | `smallint` / `int` / `bigint` | `integer` |
/// | `u8` / `u16` / `u32` | `smallint` / `integer` / `bigint` | `smallint` / `int` / `bigint` | `integer` |
/// | `u64` | `bigint` | `bigint` | `integer` |
/// | `f64` | `double precision` | `double` | `double` |
/// | `bool` | `bool` | `bool` | `boolean` |
/// | `String` (`max_len = n`) | `text` (`varchar(n)`) | `longtext` (`varchar(n)`) | `text` (`varchar(n)`) |
/// | `Vec<u8>` | `bytea` | `longblob` | `blob` |
/// | `Decimal` \[decimal\] | `numeric(p, s)` | `decimal(p, s)` | `text` |
/// | `NaiveDate` \[chrono\] | `date` | `date` | `text` (`2024-01-31`) |
/// | `NaiveDateTime` \[chrono\] | `timestamp` | `datetime(6)` | `text` (`2024-01-31 12:00:00.250000`) |
/// | `DateTime<Utc>` \[chrono\] | `timestamptz` | `datetime(6)`, UTC | `text` (`…250000+00:00`) |
/// | `Uuid` \[uuid\] | `uuid` | `char(36)` | `text` |
/// | `serde_json::Value` \[json\] | `jsonb` | `json` | `text` |
///
/// - Unsigned integers go into the signed type one size up. A `u64` goes into a `bigint`
///   like an `i64`, so it holds 0 to `i64::MAX`: writing a larger value is an error naming
///   the column (no database of the three has an unsigned 64-bit type in common, and
///   NUMERIC(20, 0) would make every key and comparison a decimal one). Reading a negative
///   or too large value into an unsigned field is an error naming the column.
/// - `Decimal`: `precision` 1 to 65 and `scale` 0 to 30 (at most the precision); without
///   either, `numeric(28, 10)`: 28 digits is all a `Decimal` holds exactly, so every value
///   the column holds reads back. `precision` alone means scale 0, as `DECIMAL(p)` does in
///   SQL. Writing a value with more digits after the point than `scale` (or before it than
///   `precision - scale`) is an error naming the column, never a rounding; the value never
///   passes through a float. SQLite keeps decimals as text (its NUMERIC would store a
///   float), so there filter a decimal by equality, not by order.
/// - Times keep microseconds (digits below a microsecond are dropped on every backend
///   alike). SQLite's text forms are fixed-width, so they sort in time order.
/// - Reading a value of the wrong kind, malformed text, or NULL into a non-`Option` field is
///   an error (`ErrorKind::Config`) naming the column.
/// - Through the sea-orm backend (`sea-orm+…` URLs) the decimal, date, UUID and JSON types
///   work on SQLite only: sqlx binds txkit's text as TEXT, which PostgreSQL refuses for a
///   typed column (a Database error naming it), and reads MySQL's DATE and DATETIME only
///   through its typed API (an Unsupported error naming the column). The unsigned integers
///   work everywhere.
///
/// ```
/// use txkit::Entity;
///
/// #[derive(Entity)]
/// #[txkit(table = "accounts")]
/// pub struct Account {
///     #[txkit(primary_key, auto_increment)]
///     pub id: i64,
///     #[txkit(unique, max_len = 64)]
///     pub owner: String,
///     #[txkit(default = 0)]
///     pub balance: i64,
///     #[txkit(version)]
///     pub version: i32,
/// }
///
/// assert_eq!(Account::TABLE, "accounts");
/// let rich = Account::BALANCE.ge(1_000_000);
/// ```
#[proc_macro_derive(Entity, attributes(txkit))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    entity::derive(input)
}

/// Retries an `async fn` whose unit of work lost a conflict (deadlock, serialization
/// failure): the body runs inside `::txkit::core::retry(&policy, async || { body })`, so
/// every attempt runs the whole body again — its BEGIN and COMMIT included.
///
/// ```text
/// #[retry_on_deadlock]
/// #[retry_on_deadlock(max_attempts = 5, base_delay_ms = 50, max_delay_ms = 1000,
///                     deadline_ms = 10000, jitter = false,
///                     also = [lock_timeout, lock_not_available, stale_data])]
/// ```
///
/// Every key is optional (defaults: 3 attempts, 100 ms base delay, 5 s max delay, full
/// jitter, no deadline); deadlocks and serialization failures are always retried, `also`
/// adds other kinds. A commit whose outcome is unknown is never retried.
///
/// The function must be `async`, return `Result<T, E>` with `E` = `txkit::Error` (or a type
/// implementing `txkit::core::RetryError`), and begin its own transaction: a parameter
/// whose type mentions `Transaction`, `PooledConnection`, `ManagedConnection` or `Session`
/// is refused, because retrying inside a transaction the caller began cannot undo that
/// transaction's earlier work — take `&Engine` instead. The body must be re-runnable: it
/// sees the arguments by reference, so moving an argument or mutating captured state
/// (`self` fields included) does not compile. It works on free functions and on `&self` /
/// `&mut self` methods, and the future stays `Send` when the body's is.
///
/// ```ignore
/// #[txkit::retry_on_deadlock(max_attempts = 10)]
/// async fn transfer(engine: &txkit::Engine, from: i64, to: i64, cents: i64) -> txkit::Result<()> {
///     let mut tx = engine.begin().await?;
///     tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", &txkit::params![cents, from]).await?;
///     tx.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", &txkit::params![cents, to]).await?;
///     tx.commit().await
/// }
/// ```
#[proc_macro_attribute]
pub fn retry_on_deadlock(args: TokenStream, item: TokenStream) -> TokenStream {
    retry::attribute(args, item)
}
