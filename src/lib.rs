//! # txkit
//!
//! Correct and fast database transactions on PostgreSQL, MySQL/MariaDB and SQLite through
//! one API — what SQLAlchemy's transaction chapter gives Python: an [`Engine`] with a
//! connection pool that never hands out a dirty connection; a [`Session`] that is a unit
//! of work (load, change, commit); [`Transaction`] guards with savepoints of any depth;
//! isolation per engine, connection or transaction; row and table locks; optimistic locking
//! with version columns; errors classified into [`ErrorKind`]s (deadlock, serialization
//! failure, lock timeout, …) that say whether retrying can help, and retry of whole units
//! of work.
//!
//! ## Load, change, commit
//!
//! ```
//! use txkit::{Engine, Entity, create_all};
//!
//! #[derive(Debug, Entity)]
//! #[txkit(table = "accounts")]
//! struct Account {
//!     #[txkit(primary_key)]
//!     id: i64,
//!     balance: i64, // cents
//!     #[txkit(version)]
//!     version: i64,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> txkit::Result<()> {
//! let engine = Engine::connect("sqlite::memory:").await?;
//! create_all(&engine, &[Account::table()]).await?;
//!
//! // The session owns what it is given and what it loads.
//! let mut session = engine.session();
//! session.add(Account { id: 1, balance: 1_000, version: 0 });
//! session.add(Account { id: 2, balance: 0, version: 0 });
//! session.commit().await?; // INSERT, INSERT, COMMIT
//!
//! let mut session = engine.session();
//! let a = session.query::<Account>().filter_by(Account::ID, 1).first().await?.unwrap();
//! a.balance -= 300; // change it in place: no update() call
//! session.get::<Account>(2).await?.unwrap().balance += 300;
//! // The flush before COMMIT writes both changed balances (only that column), each
//! // UPDATE … WHERE id = ? AND version = ?, and advances the versions: a row that moved
//! // on since it was read is ErrorKind::StaleData on every backend.
//! session.commit().await?;
//!
//! let mut session = engine.session();
//! let accounts = session.query::<Account>().all().await?;
//! let balances: Vec<(i64, i64)> = accounts.iter().map(|a| (a.balance, a.version)).collect();
//! assert_eq!(balances, [(700, 2), (300, 2)]);
//! # Ok(()) }
//! ```
//!
//! ## SQLAlchemy's transaction chapter, pattern by pattern
//!
//! | pattern | txkit |
//! | --- | --- |
//! | engine and connection pool | [`Engine::connect`], [`Engine::builder`]: [`pool_size`](EngineBuilder::pool_size), [`max_overflow`](EngineBuilder::max_overflow), [`pool_timeout`](EngineBuilder::pool_timeout), [`pool_recycle`](EngineBuilder::pool_recycle), [`pool_pre_ping`](EngineBuilder::pool_pre_ping), [`reset_on_return`](EngineBuilder::reset_on_return); [`PoolKind`](pool::PoolKind) (queue, null, static) |
//! | pool events and status | [`Engine::on_event`] with [`PoolEvent`](pool::PoolEvent); [`Engine::status`] ([`PoolStatus`](pool::PoolStatus)), [`Engine::stats`] |
//! | `engine.begin()`, commit, rollback | [`Engine::begin`] gives a [`Transaction`]: `commit()`, `rollback()`; dropped unfinished, it rolls back |
//! | a connection with explicit control | [`Engine::connection`] gives a [`PooledConnection`](pool::PooledConnection): `begin()`, `execute()`, `query()` |
//! | savepoints (`begin_nested`) | [`Transaction::savepoint`], [`Transaction::savepoint_named`], [`Session::begin_nested`] ([`NestedSession`]) |
//! | isolation levels | [`IsolationLevel`] in [`TxOptions`]: per engine ([`EngineBuilder::isolation`]), per connection, per session ([`Session::set_isolation`], [`Engine::session_with`]), per transaction ([`Engine::begin_with`]) |
//! | the Session: add, flush, commit, rollback | [`Engine::session`]: [`Session::add`], [`get`](Session::get), [`query`](Session::query), [`flush`](Session::flush), [`commit`](Session::commit), [`rollback`](Session::rollback), [`delete`](Session::delete), [`refresh`](Session::refresh), [`expunge`](Session::expunge) |
//! | `with_for_update` (FOR UPDATE, NOWAIT, SKIP LOCKED, FOR SHARE, OF) | [`Query::with_for_update`] with a [`RowLock`]; on a transaction [`Transaction::select`] |
//! | table locks | [`Session::lock_table`], [`Transaction::lock_table`] with a [`TableLock`]: each constructor is the PostgreSQL mode of its name (`exclusive()` is EXCLUSIVE, `access_exclusive()` ACCESS EXCLUSIVE; see [`TableLockMode`](lock::TableLockMode) for what each backend renders or refuses); on MySQL/MariaDB `Engine::with_table_locks` (feature `mysql`) runs a unit under `LOCK TABLES` |
//! | optimistic locking (`version_id_col`) | `#[txkit(version)]` on an [`Entity`] field; a lost race is [`ErrorKind::StaleData`], [`Error::is_conflict`] |
//! | retry on deadlock | [`retry`] with a [`RetryPolicy`], `#[retry_on_deadlock]`, [`RetryPolicy::run_transaction`] |
//! | one writer through a queue | [`QueueWorker`] |
//!
//! ## Transactions and savepoints
//!
//! ```
//! use txkit::{Engine, IsolationLevel, TxOptions, params};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> txkit::Result<()> {
//! let engine = Engine::connect("sqlite::memory:").await?;
//! engine
//!     .execute("CREATE TABLE people (name TEXT NOT NULL)", &[])
//!     .await?;
//!
//! let mut tx = engine
//!     .begin_with(TxOptions::new().isolation(IsolationLevel::Serializable))
//!     .await?;
//! tx.execute("INSERT INTO people (name) VALUES (?)", &params!["alice"]).await?;
//! {
//!     let mut sp1 = tx.savepoint().await?;
//!     sp1.execute("INSERT INTO people (name) VALUES (?)", &params!["bob"]).await?;
//!     {
//!         let mut sp2 = sp1.savepoint().await?;
//!         sp2.execute("INSERT INTO people (name) VALUES (?)", &params!["carol"]).await?;
//!         sp2.rollback().await?; // carol is undone
//!     }
//!     sp1.commit().await?; // bob is kept (RELEASE SAVEPOINT)
//! }
//! tx.commit().await?;
//!
//! let names: Vec<String> = engine
//!     .query("SELECT name FROM people ORDER BY name", &[])
//!     .await?
//!     .iter()
//!     .map(|row| row.get("name"))
//!     .collect::<txkit::Result<_>>()?;
//! assert_eq!(names, ["alice", "bob"]);
//! # Ok(()) }
//! ```
//!
//! ## Entities
//!
//! A struct that implements [`Entity`] (with `#[derive(Entity)]`) is loaded and written by
//! a [`Session`] (above), or through a transaction or connection by hand:
//! `tx.insert(&mut account)`, `tx.update(&mut account)`, `tx.delete(&account)`,
//! `tx.find::<Account>(id)`, `tx.select::<Account>().filter(Account::BALANCE.gt(0)).all()`.
//! The SQL is rendered per backend with sea-query, every name quoted and every value bound.
//! An entity with a version column is checked optimistically: an update or delete of a row
//! that changed since it was read writes nothing and fails with [`ErrorKind::StaleData`],
//! which is retryable. Tables come from [`create_all`] (or `create_table::<E>()` on a
//! connection).
//!
//! ## Retrying
//!
//! A deadlock or a serialization failure undoes the whole transaction, so the whole unit of
//! work runs again: [`retry`] with a [`RetryPolicy`] (attempts, exponential backoff with
//! jitter, deadline, which [`ErrorKind`]s), or `#[retry_on_deadlock]` on an async function
//! that begins its own transaction. [`RetryPolicy::run_transaction`] begins and commits the
//! transaction itself, and offers CockroachDB's `SAVEPOINT cockroach_restart` protocol
//! ([`RetryPolicy::cockroach_savepoints`]). A commit whose outcome is unknown is never
//! retried.
//!
//! ```
//! use txkit::{Engine, Entity, retry_on_deadlock};
//!
//! #[derive(Entity)]
//! #[txkit(table = "accounts")]
//! struct Account {
//!     #[txkit(primary_key)]
//!     id: i64,
//!     balance: i64,
//!     #[txkit(version)]
//!     version: i64,
//! }
//!
//! // A lost optimistic race (StaleData) is retried too: the whole unit of work re-reads.
//! #[retry_on_deadlock(max_attempts = 5, also = [lock_timeout])]
//! async fn deposit(engine: &Engine, id: i64, cents: i64) -> txkit::Result<()> {
//!     let mut session = engine.session();
//!     let account = session
//!         .get::<Account>(id)
//!         .await?
//!         .ok_or_else(|| txkit::Error::config(format!("no account {id}")))?;
//!     account.balance += cents;
//!     session.commit().await
//! }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> txkit::Result<()> {
//! # let engine = Engine::connect("sqlite::memory:").await?;
//! # txkit::create_all(&engine, &[Account::table()]).await?;
//! # engine.execute("INSERT INTO accounts (id, balance, version) VALUES (1, 0, 1)", &[]).await?;
//! deposit(&engine, 1, 500).await?;
//! # Ok(()) }
//! ```
//!
//! ## Money
//!
//! Store amounts as integers in minor units (cents) in a 64-bit integer column, or in a
//! DECIMAL/NUMERIC column read back as text; never as a float, whose rounding loses cents.
//!
//! ## Features
//!
//! - `sqlite` (default): SQLite through rusqlite with a bundled SQLite.
//! - `postgres`: PostgreSQL through tokio-postgres.
//! - `postgres-tls`: PostgreSQL over TLS (rustls; `sslmode=require` never falls back to
//!   plain text).
//! - `mysql`: MySQL 8 and MariaDB through mysql_async.
//! - `sea-orm`: txkit's transactions over a sea-orm `DatabaseConnection`.
//! - `decimal`, `chrono`, `uuid`, `json`: entity fields (and parameters) of type
//!   `rust_decimal::Decimal`, chrono's `NaiveDate` / `NaiveDateTime` / `DateTime<Utc>`,
//!   `uuid::Uuid` and `serde_json::Value`; the crates are re-exported as
//!   `txkit::core::rust_decimal`, `txkit::core::chrono`, `txkit::core::uuid` and
//!   `txkit::core::serde_json`. The column types are listed on [`derive@Entity`].

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backends;
mod engine;
mod retry;
mod schema;
#[cfg(feature = "sea-orm")]
mod sea_orm_engine;
#[cfg(feature = "sqlite")]
mod sqlite_transaction;
#[cfg(feature = "mysql")]
mod table_locks;

// The root holds what a user of the three patterns (load, change, commit; a transaction by
// hand; retry) names; the rest is grouped in `pool`, `entity` and `lock`, and everything a
// backend author needs is in `core`.
pub use engine::{Engine, EngineBuilder};
pub use schema::create_all;
pub use txkit_core::{
    AccessMode, Column, Entity, Error, ErrorKind, IsolationLevel, NestedSession, Query,
    QueueWorker, Result, RetryPolicy, Row, RowLock, Session, SortOrder, SqliteBehavior, TableLock,
    Transaction, TxOptions, Value, params, retry,
};
// The derive shares the trait's name (a macro and a trait live in different namespaces).
pub use txkit_macros::Entity;
// Expands to `::txkit::core::retry` with a policy built from its arguments.
pub use txkit_macros::retry_on_deadlock;

/// The connection pool: its settings, its events, its status and statistics, and the
/// connection it hands out ([`Engine::connection`] gives a [`pool::PooledConnection`]).
pub mod pool {
    pub use txkit_core::{
        CloseReason, ConnectionHook, ManagedConnection, Pool, PoolConfig, PoolEvent, PoolHooks,
        PoolKind, PoolOrder, PoolStats, PoolStatus, PooledConnection, ResetMode,
    };
}

/// Entities beyond the derive: table and column metadata, keys, filters, version columns,
/// reading values out of rows, the query builder of a transaction, and the session's
/// handles.
pub mod entity {
    pub use txkit_core::{
        Attached, ColumnDef, ColumnType, DefaultValue, Detached, Filter, FromValue, Handle,
        IntoKey, RowIndex, Select, StaleInfo, TableDef, VersionGenerator, Versioned,
    };
}

/// Lock options beyond the constructors of [`RowLock`] and [`TableLock`]: the strength and
/// the wait policy of a row lock, and the modes of a table lock.
pub mod lock {
    pub use txkit_core::{LockStrength, LockWait, TableLockMode};
}

/// The backend-neutral core, for backend authors and advanced use.
pub use txkit_core as core;

/// The SQLite backend.
#[cfg(feature = "sqlite")]
pub use txkit_sqlite as sqlite;

/// The PostgreSQL backend.
#[cfg(feature = "postgres")]
pub use txkit_postgres as postgres;

/// The MySQL/MariaDB backend.
#[cfg(feature = "mysql")]
pub use txkit_mysql as mysql;

/// The sea-orm integration (feature `sea-orm`): `DbErr` classification, versioned updates of
/// ActiveModels, and `tx.sea_orm()` to run sea-orm code in a txkit transaction.
#[cfg(feature = "sea-orm")]
pub use txkit_sea_orm as sea_orm;
