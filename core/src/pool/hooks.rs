//! Hooks that get the connection: code of the application's run on a pooled connection
//! when it is opened (`after_connect`), before a caller gets it (`on_checkout`), and when
//! it comes back (`on_checkin`) — to `SET search_path`, set a `PRAGMA`, tag a session,
//! or check something. Each is async, bounded by the pool's timeouts, and a failure
//! discards that connection.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::connection::{AnyConnection, BoxFuture, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::managed::ManagedConnection;

/// A hook given a pooled connection to run statements on; its error discards the
/// connection. Made from a closure by [`ConnectionHook::new`]:
///
/// ```
/// use txkit_core::ConnectionHook;
/// let hook: ConnectionHook = ConnectionHook::new(|conn| {
///     Box::pin(async move {
///         conn.execute("SELECT 1", &[]).await?;
///         Ok(())
///     })
/// });
/// ```
pub struct ConnectionHook<C: Connection = AnyConnection> {
    run: Arc<HookFn<C>>,
}

/// The closure behind a [`ConnectionHook`].
type HookFn<C> =
    dyn for<'c> Fn(&'c mut ManagedConnection<C>) -> BoxFuture<'c, Result<()>> + Send + Sync;

impl<C: Connection> Clone for ConnectionHook<C> {
    fn clone(&self) -> Self {
        Self {
            run: Arc::clone(&self.run),
        }
    }
}

impl<C: Connection> fmt::Debug for ConnectionHook<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectionHook")
    }
}

impl<C: Connection> ConnectionHook<C> {
    /// A hook from a closure that returns a boxed future borrowing the connection.
    pub fn new<F>(hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut ManagedConnection<C>) -> BoxFuture<'c, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        Self {
            run: Arc::new(hook),
        }
    }

    /// Runs the hook named `name` on `conn` within `limit`. A hook that fails, hangs, or
    /// leaves a transaction open is an error naming it; the caller discards the connection.
    pub(crate) async fn run(
        &self,
        name: &'static str,
        conn: &mut ManagedConnection<C>,
        limit: Duration,
    ) -> Result<()> {
        let outcome = tokio::time::timeout(limit, (self.run)(conn)).await;
        let failed = |kind: ErrorKind, why: String| {
            Error::new(
                kind,
                format!("the pool's {name} hook {why}; the connection was discarded"),
            )
        };
        match outcome {
            Err(_) => Err(failed(
                ErrorKind::PoolTimeout,
                format!("did not finish within {limit:?}"),
            )),
            Ok(Err(e)) => Err(failed(e.kind(), format!("failed: {e}"))),
            Ok(Ok(())) if !conn.is_clean() => Err(failed(
                ErrorKind::Config,
                "left a transaction open (or the connection broken); a hook must leave the \
                 connection as it found it"
                    .to_owned(),
            )),
            Ok(Ok(())) => Ok(()),
        }
    }
}

/// The hooks of one pool.
#[derive(Debug)]
pub struct PoolHooks<C: Connection = AnyConnection> {
    /// Run once on each new connection, before its first use.
    pub after_connect: Option<ConnectionHook<C>>,
    /// Run on each checkout, before the caller gets the connection.
    pub on_checkout: Option<ConnectionHook<C>>,
    /// Run when a connection comes back (after its rollback), before it is reused.
    pub on_checkin: Option<ConnectionHook<C>>,
}

impl<C: Connection> Default for PoolHooks<C> {
    fn default() -> Self {
        Self {
            after_connect: None,
            on_checkout: None,
            on_checkin: None,
        }
    }
}

impl<C: Connection> Clone for PoolHooks<C> {
    fn clone(&self) -> Self {
        Self {
            after_connect: self.after_connect.clone(),
            on_checkout: self.on_checkout.clone(),
            on_checkin: self.on_checkin.clone(),
        }
    }
}
