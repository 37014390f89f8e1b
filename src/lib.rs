//! # txkit
//!
//! Correct and fast database transactions on PostgreSQL, MySQL/MariaDB and SQLite through
//! one API: an [`Engine`] with a connection pool that never hands out a dirty connection;
//! [`Transaction`] guards with savepoints of any depth; isolation per engine, connection or
//! transaction; errors classified into [`ErrorKind`]s (deadlock, serialization failure,
//! lock timeout, …) that say whether retrying can help.
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

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backends;
mod engine;
mod url_options;

pub use engine::{Engine, EngineBuilder};
pub use txkit_core::{
    AccessMode, AnyConnection, CloseReason, Column, ColumnDef, ColumnType, Connection, DatabaseUrl,
    DefaultValue, Dialect, Entity, Error, ErrorKind, Filter, FromValue, IsolationLevel,
    LockStrength, LockWait, ManagedConnection, Pool, PoolConfig, PoolEvent, PoolKind, PoolOrder,
    PoolStats, PoolStatus, PooledConnection, ResetMode, Result, Row, RowIndex, RowLock,
    SqliteBehavior, StaleInfo, TableDef, TableLock, TableLockMode, Transaction, TxOptions, TxState,
    Value, Versioned, params,
};

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
