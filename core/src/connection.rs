//! The driver-level connection trait that each backend implements, and
//! [`AnyConnection`] for URL-chosen backends.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::isolation::TxOptions;
use crate::lock::TableLock;
use crate::row::Row;
use crate::url::DatabaseUrl;
use crate::value::Value;

mod any;
pub use any::AnyConnection;

/// A boxed, `Send` future: the currency of the object-safe layer.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a connection is cleaned when it goes back to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetMode {
    /// Roll back whatever is open (the default; costs nothing when txkit knows nothing is),
    /// and reset fully (as [`Full`](Self::Full)) a connection that ran SQL which may have
    /// changed its session state (see
    /// [`ManagedConnection::session_changed`](crate::ManagedConnection::session_changed)).
    /// A connection that ran only DML, SELECT and permanent DDL is not reset.
    #[default]
    Rollback,
    /// Do nothing beyond what txkit's own transaction state requires: session state a user
    /// changed stays on the connection for its next user.
    None,
    /// A full session reset on every return, changed or not: PostgreSQL `DISCARD ALL` (its
    /// `DEALLOCATE ALL` limited to statements made with SQL `PREPARE`, so txkit's cached
    /// statements stay valid); MySQL/MariaDB `COM_RESET_CONNECTION` and the configured
    /// database selected again; SQLite: attached databases detached, temporary objects
    /// dropped, cached statements dropped and txkit's PRAGMAs applied again (other PRAGMAs
    /// a user set stay).
    Full,
}

/// A backend: its name, the URL schemes it answers, how it reads its options from a URL,
/// and how it opens a [`Connection`]. The facade's `Engine` picks a backend by URL scheme
/// and drives it through this trait.
pub trait Backend: Send + Sync + 'static {
    /// The backend's connection type.
    type Connection: Connection;
    /// Everything needed to open a connection, parsed from a URL (Debug never shows a
    /// password).
    type Options: Clone + fmt::Debug + Send + Sync + 'static;
    /// The backend's name, as in error codes and logs.
    const NAME: &'static str;
    /// The URL schemes this backend answers.
    const SCHEMES: &'static [&'static str];

    /// Reads the backend's options from `url`; unknown options are a Config error.
    fn options_from_url(url: &DatabaseUrl) -> Result<Self::Options>;

    /// Opens one connection.
    fn connect(options: &Self::Options) -> impl Future<Output = Result<Self::Connection>> + Send;

    /// Whether every connection made with `options` must be the same one (a private
    /// in-memory database): a pool then holds exactly one connection.
    fn single_connection(options: &Self::Options) -> bool {
        let _ = options;
        false
    }

    /// Whether the backend's connections come out of a pool of its driver's own (sea-orm's
    /// sqlx pool): the backend then takes the engine's pool settings for that pool, and the
    /// engine keeps no pool of its own — its connections are handles, opened per checkout
    /// (a Null pool bounded by the same size). The default is false: txkit pools.
    fn external_pool(options: &Self::Options, pool: &crate::PoolConfig) -> bool {
        let _ = (options, pool);
        false
    }
}

/// One connection to a database, as a backend drives it. txkit's transaction bookkeeping
/// ([`ManagedConnection`](crate::ManagedConnection)) sits on top; users rarely call these
/// methods directly.
///
/// Contract for implementors: every method either completes its whole exchange with the
/// server or, when its future is dropped part-way, leaves the connection such that
/// [`recover`](Connection::recover) can bring it back to an idle state (or report that it
/// cannot, and the connection is discarded).
pub trait Connection: Send + 'static {
    /// This connection's SQL dialect (which may depend on the server version).
    fn dialect(&self) -> &dyn Dialect;

    /// Runs a statement with bound parameters; returns the number of rows affected.
    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> impl Future<Output = Result<u64>> + Send + 'a;

    /// Runs a query with bound parameters; returns its rows.
    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send + 'a;

    /// Runs statement text without parameters (control statements such as SAVEPOINT).
    fn batch<'a>(&'a mut self, sql: &'a str) -> impl Future<Output = Result<()>> + Send + 'a;

    /// Starts a transaction with `opts`, in as few round trips as the protocol allows.
    fn begin<'a>(&'a mut self, opts: &'a TxOptions)
    -> impl Future<Output = Result<()>> + Send + 'a;

    /// Starts a transaction with `opts` and runs the query `sql` in it: the lazy BEGIN of a
    /// session, whose first statement starts its transaction. The outer error means BEGIN
    /// failed and no transaction is open; otherwise the transaction is open, whatever the
    /// inner result (the query's own) says. The default sends BEGIN, waits for its answer,
    /// then sends the query; a backend whose protocol can carry both at once overrides it.
    fn begin_and_query<'a>(
        &'a mut self,
        opts: &'a TxOptions,
        sql: &'a str,
        params: &'a [Value],
    ) -> impl Future<Output = Result<Result<Vec<Row>>>> + Send + 'a {
        async move {
            self.begin(opts).await?;
            Ok(self.query(sql, params).await)
        }
    }

    /// [`begin_and_query`](Connection::begin_and_query) for a statement: the inner result
    /// is the number of rows affected.
    fn begin_and_execute<'a>(
        &'a mut self,
        opts: &'a TxOptions,
        sql: &'a str,
        params: &'a [Value],
    ) -> impl Future<Output = Result<Result<u64>>> + Send + 'a {
        async move {
            self.begin(opts).await?;
            Ok(self.execute(sql, params).await)
        }
    }

    /// Commits. A COMMIT the server turned into a rollback is an error; a connection lost
    /// while waiting for the answer is [`ErrorKind::CommitOutcomeUnknown`](crate::ErrorKind).
    fn commit(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Runs `statements` (each SQL text with its parameters) in the open transaction, then
    /// commits: the write-behind flush of a unit of work. Returns the rows each statement
    /// affected. A backend whose protocol can carry them together overrides this so the
    /// statements and COMMIT cost one round trip (PostgreSQL); the default sends them one
    /// after another. When a statement fails, its error is returned and nothing is
    /// committed (the caller rolls back whatever is still open); a connection lost after
    /// COMMIT may have reached the server is
    /// [`ErrorKind::CommitOutcomeUnknown`](crate::ErrorKind).
    fn execute_all_and_commit<'a>(
        &'a mut self,
        statements: &'a [(&'a str, &'a [Value])],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send + 'a {
        async move {
            let mut counts = Vec::with_capacity(statements.len());
            for (sql, params) in statements {
                counts.push(self.execute(sql, params).await?);
            }
            self.commit().await?;
            Ok(counts)
        }
    }

    /// Runs one statement once for each parameter set in `rows`, in order, in the open
    /// transaction; returns the rows each run affected. The statement is prepared once. A
    /// backend whose protocol can carry the runs together overrides this so they cost one
    /// round trip (PostgreSQL) or one hop to the connection's thread (SQLite); the default
    /// sends them one after another. The first failing run stops it and its error is
    /// returned; the runs before it stay done in the transaction (on PostgreSQL the error
    /// has aborted the transaction, as any failed statement does).
    fn execute_many<'a>(
        &'a mut self,
        sql: &'a str,
        rows: &'a [&'a [Value]],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send + 'a {
        async move {
            let mut counts = Vec::with_capacity(rows.len());
            for params in rows {
                counts.push(self.execute(sql, params).await?);
            }
            Ok(counts)
        }
    }

    /// Whether the combined calls cost one round trip each: BEGIN with the first statement
    /// ([`begin_and_query`](Connection::begin_and_query),
    /// [`begin_and_execute`](Connection::begin_and_execute)), every run of
    /// [`execute_many`](Connection::execute_many) once the statement is prepared, and the
    /// statements with COMMIT
    /// ([`execute_all_and_commit`](Connection::execute_all_and_commit)), rather than one
    /// round trip per statement. Used to count round trips honestly.
    fn pipelines(&self) -> bool {
        false
    }

    /// Rolls back the open transaction; succeeds when none is open.
    fn rollback(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Sets a savepoint.
    fn savepoint<'a>(&'a mut self, name: &'a str) -> impl Future<Output = Result<()>> + Send + 'a {
        async move {
            let sql = self.dialect().savepoint_sql(name)?;
            self.batch(&sql).await
        }
    }

    /// Releases (commits into its parent) a savepoint.
    fn release_savepoint<'a>(
        &'a mut self,
        name: &'a str,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        async move {
            let sql = self.dialect().release_savepoint_sql(name)?;
            self.batch(&sql).await
        }
    }

    /// Rolls back to a savepoint.
    fn rollback_to_savepoint<'a>(
        &'a mut self,
        name: &'a str,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        async move {
            let sql = self.dialect().rollback_to_savepoint_sql(name)?;
            self.batch(&sql).await
        }
    }

    /// Locks a whole table until the transaction ends, as `lock` asks, or refuses with
    /// Unsupported when the backend cannot give at least that much exclusion.
    fn lock_table<'a>(
        &'a mut self,
        table: &'a str,
        lock: &'a TableLock,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        async move {
            for sql in self.dialect().table_lock_sql(table, lock)? {
                self.batch(&sql).await?;
            }
            Ok(())
        }
    }

    /// Checks the connection is alive with the cheapest round trip the protocol has.
    fn ping(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Asks the server (not txkit's bookkeeping) whether a transaction is open: for checks
    /// and tests, which txkit's own bookkeeping never needs. Optional; the default answers
    /// Unsupported.
    fn server_in_transaction(&mut self) -> impl Future<Output = Result<bool>> + Send {
        let name = self.dialect().name();
        async move {
            Err(Error::unsupported(format!(
                "this {name} connection cannot ask its server whether a transaction is open"
            )))
        }
    }

    /// Brings the connection back to idle after an operation was abandoned part-way (its
    /// future dropped): waits out or discards any answer still owed, and rolls back any open
    /// transaction. An error means the connection cannot be trusted and must be closed.
    fn recover(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Resets session state as `mode` asks, when the connection goes back to a pool.
    fn reset(&mut self, mode: ResetMode) -> impl Future<Output = Result<()>> + Send;

    /// A cheap, local check: has the connection seen a fatal error or lost its socket?
    fn is_broken(&self) -> bool;

    /// The server's own number for this session — PostgreSQL's backend process id,
    /// MySQL/MariaDB's connection (thread) id — as the server's views show it
    /// (`pg_stat_activity.pid`, `PROCESSLIST.ID`), for pool events and logs. `None` where
    /// there is no server (SQLite) or the driver does not say.
    fn server_session_id(&self) -> Option<u64> {
        None
    }

    /// How long this connection may sit idle in a pool before a checkout must ping it to
    /// learn whether the server closed it. `None` (the default) for a backend whose
    /// [`is_broken`](Self::is_broken) already sees a socket the server closed; `Some` for
    /// one whose driver hides its socket (mysql_async), so that a connection killed while
    /// idle is found at checkout without the pool's `pre_ping`.
    fn ping_after_idle(&self) -> Option<std::time::Duration> {
        None
    }

    /// Closes the connection politely.
    fn close(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized;
}
