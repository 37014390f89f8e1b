//! How a pool opens new connections.

use std::future::Future;

use crate::connection::BoxFuture;
use crate::error::Result;

/// Opens connections for a pool. Implemented for any `Fn() -> impl Future<Output =
/// Result<C>>`, so a closure over a parsed URL is a connector.
pub trait Connect<C>: Send + Sync + 'static {
    /// Opens one new connection.
    fn connect(&self) -> BoxFuture<'_, Result<C>>;
}

impl<C, F, Fut> Connect<C> for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<C>> + Send + 'static,
{
    fn connect(&self) -> BoxFuture<'_, Result<C>> {
        Box::pin(self())
    }
}
