//! The write-behind flush: a unit of work's last statements and its COMMIT in one round
//! trip.
//!
//! tokio-postgres pipelines requests whose futures are polled together: every statement's
//! Bind/Execute/Sync, the `SELECT 1` probe when an earlier statement failed, and COMMIT are
//! handed to the connection task before any answer is awaited, so they leave in one write
//! and their answers come back in one. Statements not yet prepared are prepared first, all in one more round trip (so a
//! flush costs one round trip once its statements are cached). PostgreSQL runs them in
//! order; after a failed one it refuses the rest (25P02) and turns COMMIT into ROLLBACK, so
//! the first failure is the one reported, and nothing is committed.

use txkit_core::{Connection, Result, Value};

use super::connection::{PgConnection, commit_answer, prepare_on};
use super::error::{is_connection_error, statement_error};
use super::send::{Ready, send};
use crate::encode::EncodedParams;

impl PgConnection {
    /// Runs `statements` and COMMIT in one round trip (see the module docs).
    pub(crate) async fn flush_and_commit(
        &mut self,
        statements: &[(&str, &[Value])],
    ) -> Result<Vec<u64>> {
        if self.is_broken() {
            return Err(self.lost(
                "neither the statements nor COMMIT were sent (the server rolls back an open \
                 transaction when its session ends)",
            ));
        }
        let texts: Vec<&str> = statements.iter().map(|(sql, _)| *sql).collect();
        let prepared = self.prepare_all(&texts).await?;
        let encoded: Vec<EncodedParams<'_>> = statements
            .iter()
            .zip(&prepared)
            .map(|((_, params), stmt)| stmt.encode(params))
            .collect::<Result<_>>()?;
        let client = &self.client;
        let executes = futures_util::future::join_all(
            prepared
                .iter()
                .zip(&encoded)
                .map(|(stmt, params)| send(client, stmt, params, false)),
        );
        // The statements here report their own failures; only an earlier one needs the probe.
        let probe = self.probe_if_in_doubt();
        let commit = client.simple_query("COMMIT");
        let (counts, probe, commit) = futures_util::future::join3(executes, probe, commit).await;
        self.in_transaction = false;
        let mut out = Vec::with_capacity(counts.len());
        for (count, text) in counts.into_iter().zip(&texts) {
            match count {
                Ok(reply) => out.push(reply.count()),
                // The first failure: the rest were refused and COMMIT became ROLLBACK —
                // unless the connection itself went, when COMMIT's fate is what matters.
                Err(e) if !is_connection_error(&e) => {
                    return Err(self
                        .statement_failed(e, text)
                        .context("the flush failed, so nothing was committed"));
                }
                Err(_) => break,
            }
        }
        commit_answer(probe, commit.map(drop), &self.target)?;
        Ok(out)
    }

    /// The statement of each of `texts` (as written; the cache's keys), in order: unnamed
    /// behind a pooler, else from the cache, and those not in it prepared now, all in one
    /// round trip.
    async fn prepare_all(&mut self, texts: &[&str]) -> Result<Vec<Ready>> {
        if self.pooler.unnamed() {
            return Ok(texts.iter().filter_map(|t| self.ready(t)).collect());
        }
        let (mut found, missing) = self.statements.get_all(texts);
        if !missing.is_empty() {
            let client = &self.client;
            let prepared =
                futures_util::future::join_all(missing.iter().map(|t| prepare_on(client, t))).await;
            for (text, result) in missing.iter().zip(prepared) {
                let stmt = result.map_err(|e| statement_error(e, text))?;
                let names = crate::decode::column_names(stmt.columns());
                self.statements
                    .insert_found(text, (stmt, names), texts, &mut found);
            }
        }
        Ok(found
            .into_iter()
            .flatten()
            .map(|(stmt, names)| Ready::Named(stmt, names))
            .collect())
    }
}
