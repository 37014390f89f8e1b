//! txkit-mysql: the MySQL 8 and MariaDB (10.3+, best on 10.6+) backend of
//! [txkit](https://docs.rs/txkit), on [mysql_async](https://docs.rs/mysql_async).
//!
//! It provides [`MySqlConnection`] (txkit's driver-level
//! [`Connection`](txkit_core::Connection)), its [`MySqlDialect`], the error-code table in
//! [`codes`], and [`MySqlConnectOptions`]. Applications normally reach it through the
//! `txkit` facade with a `mysql://` or `mariadb://` URL.
//!
//! ```no_run
//! # async fn demo() -> txkit_core::Result<()> {
//! use txkit_core::{DatabaseUrl, IsolationLevel, ManagedConnection, TxOptions, params};
//! let url = DatabaseUrl::parse("mysql://app@127.0.0.1:3306/shop")?;
//! let mut conn = ManagedConnection::new(txkit_mysql::MySqlConnection::connect(&url).await?);
//! let mut tx = conn
//!     .begin_with(TxOptions::new().isolation(IsolationLevel::ReadCommitted))
//!     .await?;
//! tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", &params![500, 1])
//!     .await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```
//!
//! # URL
//!
//! `mysql://user:password@host:port/database?option=value` (scheme `mysql` or `mariadb`;
//! user, password and database percent-decoded; port 3306 by default). Options:
//!
//! | key | meaning |
//! | --- | --- |
//! | `password` | the password, instead of the user-info part |
//! | `connect_timeout` | seconds to wait for the connection (default: the OS's) |
//! | `socket` | Unix socket path, instead of TCP |
//! | `ssl_mode` | `disabled` / `preferred`; `required`, `verify_ca`, `verify_identity` are refused: this build has no TLS, and txkit will not fall back to plain text |
//! | `application_name`, `program_name` | sent as the `program_name` connection attribute |
//! | `statement_cache_size` | prepared statements kept per connection (default 32) |
//!
//! The engine's keys ([`txkit_core::ENGINE_URL_KEYS`]) are left to the engine; any other
//! key is a Config error listing the accepted ones. Passwords never appear in `Debug`
//! output or errors. Connections use `CLIENT_FOUND_ROWS`, so "rows affected" means rows
//! *matched*, as on PostgreSQL and SQLite (an optimistic version check relies on it), and
//! `CLIENT_MULTI_STATEMENTS` (mysql_async's default), which lets `SET TRANSACTION …;
//! START TRANSACTION` travel in one round trip. Loopback TCP connections switch to the
//! server's Unix socket when it has one (mysql_async's `prefer_socket`).
//!
//! # MySQL and MariaDB
//!
//! The server is detected at connect (`SELECT VERSION()`, see [`ServerInfo`]) and the
//! dialect renders what it accepts:
//!
//! - shared row locks: `FOR SHARE` on MySQL 8, `LOCK IN SHARE MODE` on MariaDB and MySQL 5.7;
//! - `NOWAIT`: MySQL 8.0.1+, MariaDB 10.3+; `SKIP LOCKED`: MySQL 8.0.1+, MariaDB 10.6+
//!   (also after `LOCK IN SHARE MODE`); `FOR UPDATE OF t`: MySQL 8 only. Anything else is
//!   an Unsupported error, never a silently weaker lock. PostgreSQL's `NO KEY UPDATE` and
//!   `KEY SHARE` become the next stronger InnoDB lock (`FOR UPDATE`, shared).
//! - a failed NOWAIT is error 3572 on MySQL 8 and 1205 on MariaDB; both are
//!   `LockNotAvailable` (1205 counts as NOWAIT when the statement says NOWAIT). The
//!   statement fails; the transaction stays open.
//! - `server_in_transaction` reads the protocol's `SERVER_STATUS_IN_TRANS` flag, which both
//!   servers send (MySQL 8 has no `@@in_transaction`).
//! - table locks: `LOCK TABLES` commits the open transaction, so
//!   [`Dialect::table_lock_sql`](txkit_core::Dialect::table_lock_sql) is Unsupported and
//!   [`MySqlConnection::with_table_locks`] runs a unit of work under table locks instead.
//!
//! # Isolation
//!
//! InnoDB's default is REPEATABLE READ: plain SELECTs read the transaction's snapshot, but
//! *locking* reads (`FOR UPDATE`, `FOR SHARE`) and UPDATE/DELETE see the latest committed
//! rows, whatever the snapshot says. Read-modify-write therefore needs a locking read (or
//! an optimistic version check), not just REPEATABLE READ. SERIALIZABLE turns plain SELECTs
//! into shared-locking reads (more deadlocks; retry them). READ COMMITTED takes fewer gap
//! locks. `SET TRANSACTION` without `SESSION` is used, so a level applies to one transaction
//! only. `DEFERRABLE` is Unsupported.
//!
//! Deadlocks (1213) roll the whole transaction back in InnoDB. A lock wait timeout (1205)
//! rolls back only the statement: txkit then rolls back the whole transaction itself before
//! returning `LockTimeout`, so a retry never builds on half a transaction. DDL statements
//! commit implicitly on MySQL and MariaDB; keep them out of transactions.
//!
//! # Money
//!
//! Store amounts as `BIGINT` minor units (cents) — read as `Int` — or as `DECIMAL(p, s)`,
//! which this backend always reads as `Text` ("12.30"), never as a float. Bind amounts as
//! integers or as decimal text (see Values below).
//!
//! # Values
//!
//! Parameters: NULL, integers, doubles, text and bytes as themselves; booleans as 0/1.
//! Columns: integer types (and YEAR, BIT) → `Int` (an unsigned BIGINT above `i64::MAX` →
//! `Text`); FLOAT/DOUBLE → `Float`; DECIMAL → `Text`; dates and times → `Text` in the
//! server's format; character columns → `Text`; binary columns (charset 63) and GEOMETRY →
//! `Bytes`. Placeholders are `?`; `:name` outside quotes is refused (mysql_async would read
//! it as a named parameter).

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backend;
pub mod codes;
mod conn_or_op;
mod connection;
mod error;
mod ops;
mod options;
mod table_lock;
mod value;

pub use backend::MySql;
pub use connection::MySqlConnection;
pub use options::{MySqlConnectOptions, SslMode, URL_KEYS};
pub use txkit_core::dialects::mysql::{MySqlDialect, ServerFlavor, ServerInfo};
