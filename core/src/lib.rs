//! txkit-core: the backend-neutral heart of [txkit](https://docs.rs/txkit): errors and their
//! classification, isolation levels and transaction options, row and table locks, the
//! driver [`Connection`] trait, the transaction state machine behind [`Transaction`]
//! guards, and the connection [`Pool`].
//!
//! Application code normally uses the `txkit` facade crate, which adds the backends and the
//! URL-driven `Engine`.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod connection;
mod dialect;
mod entity;
mod error;
mod isolation;
mod lock;
mod managed;
mod pool;
mod row;
mod sql_guard;
mod state;
mod transaction;
mod url;
mod value;

pub use connection::{AnyConnection, Backend, BoxFuture, Connection, DynConnection, ResetMode};
pub use dialect::{Dialect, quote_identifier_with, validate_savepoint_name};
pub use entity::{
    Column, ColumnDef, ColumnType, DefaultValue, Entity, Filter, TableDef, VersionGenerator,
    Versioned,
};
pub use error::{BoxError, Error, ErrorKind, Result, StaleInfo};
pub use isolation::{AccessMode, IsolationLevel, SqliteBehavior, TxOptions};
pub use lock::{LockStrength, LockWait, RowLock, TableLock, TableLockMode};
pub use managed::ManagedConnection;
pub use pool::{
    CloseReason, Connect, EventListener, Pool, PoolConfig, PoolEvent, PoolKind, PoolOrder,
    PoolStats, PoolStatus, PooledConnection,
};
pub use row::{Row, RowIndex};
pub use state::TxState;
pub use transaction::Transaction;
pub use url::{DatabaseUrl, ENGINE_URL_KEYS, Secret, redact};
pub use value::{FromValue, Value};
