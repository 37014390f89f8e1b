//! `execute_many`: one statement run for many parameter sets in one round trip.
//!
//! As in the flush ([`flush`](super::flush)), the runs' Bind/Execute/Sync messages are
//! handed to tokio-postgres's connection task before any answer is awaited, so they leave
//! in one write and their answers come back in one. Inside a transaction PostgreSQL runs
//! them in order and refuses every one after a failure (25P02), so the first failure is the
//! one reported.

use txkit_core::{Result, Value};

use super::connection::PgConnection;
use super::send::{Reply, send};
use crate::encode::EncodedParams;

impl PgConnection {
    /// Runs `sql` once per parameter set in `rows`, all in one round trip once `sql` is
    /// prepared (see the module docs). Returns each run's affected rows.
    pub(crate) async fn execute_pipelined(
        &mut self,
        sql: &str,
        rows: &[&[Value]],
    ) -> Result<Vec<u64>> {
        let stmt = self.prepare(sql).await?;
        let encoded: Vec<EncodedParams<'_>> = rows
            .iter()
            .map(|params| stmt.encode(params))
            .collect::<Result<_>>()?;
        let client = &self.client;
        let answers = futures_util::future::join_all(
            encoded
                .iter()
                .map(|params| send(client, &stmt, params, false)),
        )
        .await;
        answers
            .into_iter()
            .map(|answer| answer.map(Reply::count))
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|e| self.statement_failed(e, sql))
    }
}
