//! Sending one statement — prepared under a name, or unnamed behind a pooler — with its rows
//! or its count, the request future kept off the caller's.

use std::sync::{Arc, LazyLock};

use futures_util::TryStreamExt;
use tokio_postgres::types::{Kind, Type};
use tokio_postgres::{Client, Statement};
use txkit_core::{Result, Value};

use crate::decode;
use crate::encode::{Encoded, EncodedParams, encode_all, encode_untyped};

/// A statement ready to be sent: prepared under a name (its result's column names shared
/// by every row), or, behind a pooler, its text (placeholders rewritten) to be parsed,
/// bound and run unnamed in one round trip.
#[derive(Clone)]
pub(crate) enum Ready {
    /// Prepared and cached.
    Named(Statement, Arc<[String]>),
    /// Sent unnamed each time.
    Unnamed(Arc<str>),
}

/// The parameter type "unspecified" (oid 0): the server infers each parameter's type from
/// the statement and parses the text sent for it with that type's input function.
static UNSPECIFIED: LazyLock<Type> =
    LazyLock::new(|| Type::new("unspecified".to_owned(), 0, Kind::Pseudo, String::new()));

impl Ready {
    /// `params` encoded for this statement: for the types the server inferred when it was
    /// prepared, or as text for an unnamed one. A value that cannot be had in its type, or
    /// a count mismatch, is a Config error naming the placeholder.
    pub(crate) fn encode<'a>(&self, params: &'a [Value]) -> Result<EncodedParams<'a>> {
        match self {
            Self::Named(stmt, _) => encode_all(params, stmt.params()),
            Self::Unnamed(sql) => encode_untyped(sql, params),
        }
    }
}

/// Runs `stmt` with its encoded parameters: every row (with the result's column names) when
/// `want_rows`, else the affected count. The parameters go to tokio-postgres as an
/// iterator, so no list of references is built for them.
///
/// tokio-postgres's request future is about a kilobyte. Boxed here, the future of a txkit
/// statement stays a few hundred bytes; unboxed, it would be over 1,200, and the engine's
/// type-erased connection boxes each call's future, so every statement would pay for one
/// allocation too large for the allocator's per-thread cache (glibc's slow path: about 700
/// more instructions per statement, measured with callgrind). Two small allocations cost
/// less.
pub(crate) async fn send(
    client: &Client,
    stmt: &Ready,
    encoded: &[Encoded<'_>],
    want_rows: bool,
) -> std::result::Result<Reply, tokio_postgres::Error> {
    match stmt {
        Ready::Named(stmt, names) if want_rows => {
            let rows = Box::pin(client.query_raw(stmt, encoded)).await?;
            Ok(Reply::Rows(rows.try_collect().await?, Arc::clone(names)))
        }
        Ready::Named(stmt, _) => Box::pin(client.execute_raw(stmt, encoded))
            .await
            .map(Reply::Count),
        Ready::Unnamed(sql) => {
            let params = encoded.iter().map(|e| (e, UNSPECIFIED.clone()));
            let stream = Box::pin(client.query_typed_raw(sql, params)).await?;
            let mut stream = std::pin::pin!(stream);
            let mut rows = Vec::new();
            while let Some(row) = stream.try_next().await? {
                rows.push(row);
            }
            if want_rows {
                let names = rows
                    .first()
                    .map_or_else(|| Arc::from([]), |r| decode::column_names(r.columns()));
                Ok(Reply::Rows(rows, names))
            } else {
                let count = stream.rows_affected().unwrap_or(rows.len() as u64);
                Ok(Reply::Count(count))
            }
        }
    }
}

/// What a statement returned.
pub(crate) enum Reply {
    /// Its rows, and the column names they share.
    Rows(Vec<tokio_postgres::Row>, Arc<[String]>),
    /// Its affected-row count.
    Count(u64),
}

impl Reply {
    /// The affected-row count (for rows, how many came).
    pub(crate) fn count(self) -> u64 {
        match self {
            Self::Count(n) => n,
            Self::Rows(rows, _) => rows.len() as u64,
        }
    }
}
