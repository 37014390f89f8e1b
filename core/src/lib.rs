//! txkit-core: the backend-neutral heart of [txkit](https://docs.rs/txkit): errors and their
//! classification, isolation levels and transaction options, row and table locks, the
//! driver [`Connection`] trait, the transaction state machine behind [`Transaction`]
//! guards, the connection [`Pool`], and [`Entity`] metadata with the SQL that stores and
//! loads entities (insert / update / delete / find / select with optimistic version checks,
//! CREATE and DROP TABLE), rendered per dialect with sea-query; and in [`dialects`], the SQL
//! dialects of PostgreSQL, MySQL/MariaDB and SQLite with the meaning of their error codes.
//!
//! Application code normally uses the `txkit` facade crate, which adds the backends and the
//! URL-driven `Engine`.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod connection;
mod control_filter;
mod dialect;
pub mod dialects;
mod entity;
mod error;
mod isolation;
mod lock;
mod managed;
mod pool;
mod retry;
mod row;
mod session;
mod session_sql;
mod state;
mod transaction;
mod url;
mod url_options;
mod value;
mod worker;

pub use connection::{AnyConnection, Backend, BoxFuture, Connection, ResetMode};
pub use dialect::{Dialect, SqlFlavor, quote_identifier_with, validate_savepoint_name};
pub use entity::{
    Column, ColumnDef, ColumnType, DefaultValue, Entity, Filter, IntoKey, TableDef,
    VersionGenerator, Versioned,
};
pub use error::{BoxError, Error, ErrorKind, Result, StaleInfo};
pub use isolation::{AccessMode, IsolationLevel, SqliteBehavior, TxOptions};
pub use lock::{LockStrength, LockWait, RowLock, TableLock, TableLockMode};
pub use managed::ManagedConnection;
pub use pool::{
    CloseReason, Connect, ConnectionHook, EventListener, Pool, PoolConfig, PoolEvent, PoolHooks,
    PoolKind, PoolOrder, PoolStats, PoolStatus, PooledConnection,
};
pub use retry::{
    Direct, RetryError, RetryOutcome, RetryPolicy, StopReason, TransactionBody, TransactionSource,
    retry,
};
pub use row::{Row, RowIndex};
pub use session::{Attached, Detached, Handle, NestedSession, Query, Select, Session, SortOrder};
pub use state::TxState;
pub use transaction::Transaction;
pub use url::{DatabaseUrl, ENGINE_URL_KEYS, Secret, redact};
pub use url_options::{UrlOptions, parse_url_options};
pub use value::{FromValue, Value};
pub use worker::QueueWorker;

// The crates of the optional column types, so that an application uses the versions txkit
// converts (`txkit::core::chrono::NaiveDate`) without naming them as dependencies itself.
/// `chrono`, whose `NaiveDate`, `NaiveDateTime` and `DateTime<Utc>` map to DATE, TIMESTAMP
/// and TIMESTAMPTZ (feature `chrono`).
#[cfg(feature = "chrono")]
pub use chrono;
/// `rust_decimal`, whose `Decimal` maps to DECIMAL / NUMERIC (feature `decimal`).
#[cfg(feature = "decimal")]
pub use rust_decimal;
/// `serde_json`, whose `Value` maps to JSONB / JSON (feature `json`).
#[cfg(feature = "json")]
pub use serde_json;
/// `uuid`, whose `Uuid` maps to UUID (feature `uuid`).
#[cfg(feature = "uuid")]
pub use uuid;
