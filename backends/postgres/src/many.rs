//! `execute_many`: one statement run for many parameter sets in one round trip.
//!
//! As in the flush ([`flush`](crate::flush)), the runs' Bind/Execute/Sync messages are
//! handed to tokio-postgres's connection task before any answer is awaited, so they leave
//! in one write and their answers come back in one. Inside a transaction PostgreSQL runs
//! them in order and refuses every one after a failure (25P02), so the first failure is the
//! one reported.

use tokio_postgres::types::ToSql;
use txkit_core::{Connection, Result, Value};

use crate::connection::PgConnection;
use crate::encode::{Encoded, encode_all};
use crate::error::{is_stale_plan, statement_error};

impl PgConnection {
    /// Runs `sql` once per parameter set in `rows`, all in one round trip once `sql` is
    /// prepared (see the module docs). Returns each run's affected rows.
    pub(crate) async fn execute_pipelined(
        &mut self,
        sql: &str,
        rows: &[&[Value]],
    ) -> Result<Vec<u64>> {
        if self.is_broken() {
            return Err(self.lost("the statements were not sent"));
        }
        let (stmt, _) = self.prepare(sql).await?;
        let encoded: Vec<Vec<Encoded<'_>>> = rows
            .iter()
            .map(|params| encode_all(params, stmt.params()))
            .collect::<Result<_>>()?;
        let refs: Vec<Vec<&(dyn ToSql + Sync)>> = encoded
            .iter()
            .map(|e| e.iter().map(|v| v as &(dyn ToSql + Sync)).collect())
            .collect();
        let client = &self.client;
        let answers =
            futures_util::future::join_all(refs.iter().map(|params| client.execute(&stmt, params)))
                .await;
        let mut counts = Vec::with_capacity(answers.len());
        for answer in answers {
            match answer {
                Ok(n) => counts.push(n),
                Err(e) => {
                    if is_stale_plan(&e) {
                        // The table changed shape since the statement was prepared: the
                        // next use prepares it afresh.
                        self.statements.remove(sql);
                    }
                    return Err(statement_error(e, sql));
                }
            }
        }
        Ok(counts)
    }
}
