//! The job-queue claim: lock up to n unclaimed rows that no other worker holds, run each
//! job, store what it returns, commit.

use std::future::Future;

use super::Session;
use super::query::{Detached, Query};
use crate::connection::Connection;
use crate::entity::{Entity, Filter, ops};
use crate::error::Result;
use crate::lock::RowLock;

impl<C: Connection> Session<'_, C> {
    /// Claims up to `n` rows of `E` matching `filter` (in primary-key order) that no other
    /// transaction has locked — `SELECT … FOR UPDATE SKIP LOCKED LIMIT n` on PostgreSQL and
    /// MySQL/MariaDB; on SQLite an IMMEDIATE transaction, whose write lock keeps every
    /// other worker out until it ends — then runs `job` on each row, UPDATEs the row with
    /// the entity `job` returns (mark it done there, so `filter` no longer matches it) and
    /// commits. Returns how many jobs ran; 0 means nothing was claimable.
    ///
    /// A job's error ends the claim: the session rolls back and every claimed row is
    /// claimable again. Pending work added before is flushed with the claim.
    pub async fn run_jobs<E, F, Fut>(mut self, filter: Filter, n: u64, mut job: F) -> Result<usize>
    where
        E: Entity,
        F: FnMut(E) -> Fut + Send,
        Fut: Future<Output = Result<E>> + Send,
    {
        // The claimed rows are handed to `job` by value, so they are read detached: the
        // session does not track them, and each is written back whole.
        let claimed = Query::<E, Detached>::new(&mut self)
            .filter(filter)
            .limit(n)
            .with_for_update(RowLock::update().skip_locked())
            .all()
            .await?;
        let count = claimed.len();
        for row in claimed {
            let mut done = job(row).await?;
            ops::update(&mut self.lazy, &mut done).await?;
        }
        self.commit().await?;
        Ok(count)
    }
}
