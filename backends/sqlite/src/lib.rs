//! txkit-sqlite: the SQLite backend of [txkit](https://docs.rs/txkit), on
//! [rusqlite](https://docs.rs/rusqlite) with SQLite bundled.
//!
//! By default each [`SqliteConnection`] keeps its rusqlite connection in itself and runs a
//! statement on the thread of the task that awaits it — the cost of rusqlite called
//! directly — while everything that would hold that thread for long happens elsewhere:
//!
//! - **Waiting for a lock.** Writers of this process to one file queue, asynchronously and
//!   first come first served, at the file's *write gate* before they take SQLite's write
//!   lock, and give it back when their write transaction ends; so they never meet
//!   SQLITE_BUSY from one another, nor sleep in SQLite's busy handler (1, 2, 5 … 100 ms).
//!   Another process's lock is waited out with asynchronous pauses up to `busy_timeout`.
//! - **Long work.** Scripts ([`batch`](txkit_core::Connection::batch)), whole units of work
//!   ([`SqliteConnection::run_transaction`]) and any statement whose last run took SQLite
//!   more than a millisecond run on a blocking thread, the connection moving there and back.
//! - **Checkpoints.** WAL checkpoints run on a thread of the file's own, not inside the
//!   COMMIT that crosses SQLite's threshold with the write lock held.
//!
//! # Execution: inline (default) or a thread per connection
//!
//! With `execution=thread` (or [`SqliteConnectOptions::execution`]) each connection lives
//! on a thread of its own instead, reached over channels: the runtime never runs SQLite
//! code, and every command costs a hop there and back — tens of microseconds on a small VM,
//! more than SQLite spends on a point read, and a transaction holds the write lock across
//! all of its hops.
//!
//! | | `inline` (default) | `thread` |
//! | --- | --- | --- |
//! | cost per statement | none beyond SQLite's own work | a hop to the connection's thread and back |
//! | the runtime thread while SQLite works | busy for a short statement; long ones (learned), scripts and units of work go to a blocking thread | free |
//! | waiting for another writer of this process | in line at the write gate, asynchronously | the same |
//! | waiting for another process's lock | asynchronous pauses (SQLite's), up to `busy_timeout` | txkit's sleeping busy handler on the connection's thread |
//! | a unit of work in one hop | [`SqliteConnection::run_transaction`], on a blocking thread | the same, on the connection's thread |
//! | a future dropped mid-statement | cannot happen inline (no await inside a statement); work on a blocking thread finishes, and the next command waits for it | the command finishes on the thread; the next one waits for it |
//!
//! Keep `thread` when most statements run long (reports, large scans): inline, a statement
//! runs on the runtime once before it is learned to be long. Inline, SQLite's busy handler is
//! replaced by one that only notes that SQLite wanted to wait; the statement then fails with
//! SQLITE_BUSY and is run again after an asynchronous pause. SQLite calls that handler only
//! where running the statement again is safe (it stops before changing anything, or it is
//! COMMIT, which stays pending); where waiting could deadlock — a transaction that has read
//! asks to write while another holds the write lock — it returns SQLITE_BUSY at once, and
//! that error reaches the caller at once in both modes. `busy_timeout` is txkit's (its own
//! handlers and the write gate use it), so `PRAGMA busy_timeout` reads 0; a `PRAGMA
//! busy_timeout` sent as SQL puts SQLite's sleeping handler back, which inline would then
//! hold the runtime thread for. [`SqliteConnection::busy_waits`] counts the waits in a busy
//! handler, [`SqliteConnection::writers_waiting`] the writers in line.
//!
//! ```
//! use txkit_core::{Connection, DatabaseUrl, params};
//! use txkit_sqlite::{Execution, SqliteConnectOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> txkit_core::Result<()> {
//! // In a URL (`Engine::connect("sqlite://app.db?execution=inline")`) or in code:
//! let url = DatabaseUrl::parse("sqlite::memory:?execution=thread")?;
//! let from_url = SqliteConnectOptions::from_url(&url)?;
//! assert_eq!(from_url, SqliteConnectOptions::memory().execution(Execution::Thread));
//!
//! let mut conn = from_url.connect().await?;
//! conn.execute("CREATE TABLE t (x INTEGER)", &[]).await?;
//! assert_eq!(conn.execute("INSERT INTO t (x) VALUES (?)", &params![1]).await?, 1);
//! conn.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! Application code normally reaches this crate through the `txkit` facade
//! (`Engine::connect("sqlite://app.db")`); use it directly for a single connection.
//!
//! # URLs
//!
//! | URL | database |
//! | --- | --- |
//! | `sqlite://relative/path.db` | `relative/path.db`, from the working directory |
//! | `sqlite:///absolute/path.db` | `/absolute/path.db` |
//! | `sqlite:path.db` | `path.db`, from the working directory |
//! | `sqlite::memory:` or `sqlite://:memory:` | a private in-memory database per connection |
//!
//! Everything between the scheme and `?` is the path (there is no host); `%XX` escapes
//! are decoded. Options follow `?`, as `key=value` pairs joined by `&`:
//!
//! | key | values | default |
//! | --- | --- | --- |
//! | `busy_timeout` | milliseconds to wait for another connection's lock | `5000` |
//! | `journal_mode` | `delete`, `truncate`, `persist`, `memory`, `wal`, `off` | `wal` for files |
//! | `synchronous` | `off`, `normal`, `full`, `extra` | `normal` under WAL, else `full` |
//! | `foreign_keys` | `true`/`false` (`on`/`off`, `1`/`0`, `yes`/`no`) | `true` |
//! | `mode` | `rwc` (create if missing), `rw`, `ro` | `rwc` |
//! | `execution` | `inline`, `thread` (see above) | `inline` |
//!
//! The engine's keys (`pool_size`, `isolation`, … — [`txkit_core::ENGINE_URL_KEYS`]) are
//! left to the engine; any other key, or a value outside those listed, is a Config error
//! that names what is accepted. A file whose directory does not exist is a Config error
//! naming the directory. SQLite answers `journal_mode` with the mode it actually took; a
//! mode it refused is a Config error rather than silently ignored.
//!
//! A new database file is created with permissions `0600` (owner only) before SQLite opens
//! it; SQLite gives its `-wal`, `-shm` and `-journal` files the permissions of the
//! database file.
//!
//! # Transactions
//!
//! SQLite transactions are **serializable**: one writer at a time, readers see a
//! snapshot. Every [`IsolationLevel`](txkit_core::IsolationLevel) is accepted, since
//! serializable meets or exceeds each of them.
//!
//! - [`TxOptions::sqlite_behavior`](txkit_core::TxOptions::sqlite_behavior) picks `BEGIN
//!   DEFERRED` (default), `IMMEDIATE` (take the write lock at once: use it for
//!   transactions that read and then write, which otherwise may fail with
//!   `SQLITE_BUSY_SNAPSHOT`) or `EXCLUSIVE`.
//! - Read-only transactions are enforced with `PRAGMA query_only` for their duration; a
//!   write inside one fails.
//! - DEFERRABLE is accepted only together with read-only (where it holds trivially);
//!   otherwise it is Unsupported.
//! - SQLite has no row locks and no LOCK TABLE: [`SqliteDialect`] answers those requests
//!   with Unsupported and names the alternative (an IMMEDIATE or EXCLUSIVE transaction).
//!
//! # Errors
//!
//! [`Error::code`](txkit_core::Error::code) is the name of SQLite's extended result code
//! ([`codes`]); the kind a caller acts on is mapped as follows:
//!
//! | SQLite code | kind |
//! | --- | --- |
//! | `SQLITE_BUSY`, `_BUSY_RECOVERY`, `_BUSY_TIMEOUT` | LockTimeout (busy_timeout expired) |
//! | `SQLITE_BUSY_SNAPSHOT` | SerializationFailure (retry the whole transaction) |
//! | `SQLITE_LOCKED`, `_LOCKED_SHAREDCACHE`, `_LOCKED_VTAB` | LockNotAvailable |
//! | `SQLITE_CONSTRAINT_UNIQUE`, `_PRIMARYKEY`, `_ROWID` | UniqueViolation |
//! | `SQLITE_CANTOPEN*`, `SQLITE_NOTADB` | Config |
//! | `SQLITE_READONLY_DBMOVED` (file deleted under the connection) | ConnectionLost |
//! | anything else (other constraints, I/O, syntax, …) | Database |
//!
//! # Money
//!
//! SQLite has no fixed-point decimal type: store amounts as integers in minor units
//! (cents) in an `INTEGER` column, read and written as `i64`. Never as `REAL`/`f64`, whose
//! rounding loses cents.
//!
//! # Example
//!
//! ```
//! use txkit_core::{Connection, DatabaseUrl, ManagedConnection, params};
//! use txkit_sqlite::SqliteConnectOptions;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> txkit_core::Result<()> {
//! let url = DatabaseUrl::parse("sqlite::memory:?busy_timeout=1000")?;
//! let conn = SqliteConnectOptions::from_url(&url)?.connect().await?;
//! let mut conn = ManagedConnection::new(conn);
//! conn.execute("CREATE TABLE account (id INTEGER PRIMARY KEY, cents INTEGER NOT NULL)", &[])
//!     .await?;
//!
//! let mut tx = conn.begin().await?;
//! tx.execute("INSERT INTO account (id, cents) VALUES (?, ?)", &params![1, 10_000]).await?;
//! tx.execute("UPDATE account SET cents = cents - ? WHERE id = ?", &params![2_500, 1]).await?;
//! tx.commit().await?;
//!
//! let rows = conn.query("SELECT cents FROM account WHERE id = ?", &params![1]).await?;
//! assert_eq!(rows[0].get::<i64>("cents")?, 7_500);
//! conn.close().await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backend;
mod busy;
mod checkpointer;
pub mod codes;
mod connection;
mod error;
mod file;
mod file_locks;
mod hybrid;
mod inline;
mod native;
mod options;
mod setup;
mod sync_tx;
mod url;
mod value;
mod worker;

pub use backend::Sqlite;
pub use connection::SqliteConnection;
pub use error::map_error;
pub use options::{
    DEFAULT_BUSY_TIMEOUT, DEFAULT_STATEMENT_CACHE_CAPACITY, Execution, JournalMode, OpenMode,
    SqliteConnectOptions, Synchronous,
};
/// The rusqlite version this crate is built on (pinned), for code that needs its types.
pub use rusqlite;
pub use sync_tx::SyncTransaction;
pub use txkit_core::dialects::sqlite::{MAX_IDENTIFIER_BYTES, SqliteDialect};
pub use url::URL_KEYS;
