//! Sending one prepared statement: its rows or its count, with the request future kept off
//! the caller's.

use std::sync::Arc;

use futures_util::TryStreamExt;
use tokio_postgres::{Client, Statement};

use crate::encode::Encoded;

/// Runs the prepared `stmt` with its encoded parameters: every row (with the statement's
/// column `names`) when `want_rows`, else the affected count. The parameters go to tokio-postgres as an iterator, so no list of
/// references is built for them.
///
/// tokio-postgres's request future is about a kilobyte. Boxed here, the future of a txkit
/// statement stays a few hundred bytes; unboxed, it would be over 1,200, and the engine's
/// type-erased connection boxes each call's future, so every statement would pay for one
/// allocation too large for the allocator's per-thread cache (glibc's slow path: about 700
/// more instructions per statement, measured with callgrind). Two small allocations cost
/// less.
pub(crate) async fn send(
    client: &Client,
    stmt: &Statement,
    encoded: &[Encoded<'_>],
    names: Arc<[String]>,
    want_rows: bool,
) -> std::result::Result<Reply, tokio_postgres::Error> {
    if want_rows {
        let rows = Box::pin(client.query_raw(stmt, encoded)).await?;
        Ok(Reply::Rows(rows.try_collect().await?, names))
    } else {
        Box::pin(client.execute_raw(stmt, encoded))
            .await
            .map(Reply::Count)
    }
}

/// What a statement returned.
pub(crate) enum Reply {
    /// Its rows, and the column names they share.
    Rows(Vec<tokio_postgres::Row>, Arc<[String]>),
    /// Its affected-row count.
    Count(u64),
}
