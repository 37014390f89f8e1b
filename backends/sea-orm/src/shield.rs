//! Every sea-orm call runs to completion on a task of its own, whatever its caller does.
//!
//! sqlx is not safe to stop half-way: a MySQL exchange cut between packets leaves the
//! stream out of step ("lenenc int: no bytes remaining" on the next read), and a BEGIN cut
//! after it was sent but before its answer leaves the server in a transaction that sqlx
//! does not know to roll back — the connection goes back to sea-orm's pool mid-transaction,
//! and its next user's statements run inside it. txkit's own MySQL backend finishes a
//! dropped request for the same reason. So each call is spawned, and the caller awaits its
//! answer: a caller that gives up (its future dropped) leaves the call to finish; the open
//! transaction is shared with the task, and ending it waits until no task still uses it.

use std::future::Future;
use std::sync::Arc;

use sea_orm::{DatabaseTransaction, DbErr, RuntimeErr};
use tokio::sync::Semaphore;

/// Tasks that may use one transaction at once; far more than any caller can start.
const TASKS: u32 = 1 << 16;

/// Runs `call` on a task of its own and awaits its result.
pub(crate) async fn spawned<T, Fut>(call: Fut) -> Result<T, DbErr>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T, DbErr>> + Send + 'static,
{
    tokio::spawn(call).await.unwrap_or_else(|e| {
        Err(DbErr::Conn(RuntimeErr::Internal(format!(
            "a sea-orm call stopped without an answer: {e}"
        ))))
    })
}

/// An open sea-orm transaction, shared with the tasks running calls in it.
#[derive(Debug)]
pub(crate) struct SharedTx {
    tx: Arc<DatabaseTransaction>,
    /// One permit per running task; ending the transaction takes them all.
    gate: Arc<Semaphore>,
}

impl SharedTx {
    pub(crate) fn new(tx: DatabaseTransaction) -> Self {
        Self {
            tx: Arc::new(tx),
            gate: Arc::new(Semaphore::new(TASKS as usize)),
        }
    }

    /// The transaction, for what needs no round trip (its backend).
    pub(crate) fn get(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Runs `call` with the transaction on a task of its own.
    pub(crate) async fn run<T, F, Fut>(&self, call: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: FnOnce(Arc<DatabaseTransaction>) -> Fut,
        Fut: Future<Output = Result<T, DbErr>> + Send + 'static,
    {
        // Taken here, before the task exists, so that `into_inner` cannot take every permit
        // between the spawn and the task's start.
        let permit = self.gate.clone().try_acquire_owned().map_err(|_| {
            DbErr::Conn(RuntimeErr::Internal(
                "the transaction is ending; no more statements can run in it".to_owned(),
            ))
        })?;
        let work = call(Arc::clone(&self.tx));
        spawned(async move {
            // The statement's future (and its handle on the transaction) is dropped at the
            // end of this `let`, before the permit is given back.
            let out = work.await;
            drop(permit);
            out
        })
        .await
    }

    /// The transaction itself, once no task uses it any more (to commit or roll back).
    pub(crate) async fn into_inner(self) -> Result<DatabaseTransaction, DbErr> {
        let _all = self.gate.acquire_many(TASKS).await.map_err(|_| {
            DbErr::Conn(RuntimeErr::Internal(
                "the transaction gate closed".to_owned(),
            ))
        })?;
        Arc::try_unwrap(self.tx).map_err(|_| {
            DbErr::Conn(RuntimeErr::Internal(
                "a statement still holds the transaction after every task ended".to_owned(),
            ))
        })
    }
}
