//! The queue worker: one task that runs submitted units of work one at a time.
//!
//! SQLite lets one connection write at a time; many tasks writing at once mostly wait on
//! each other's locks (and meet `SQLITE_BUSY`). Handing every write to one worker instead
//! turns lock contention into a queue: each unit runs alone, its result goes back to its
//! submitter, a bounded queue makes submitters wait when the worker falls behind
//! (backpressure), and shutdown finishes everything already queued.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};

type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Runs submitted units of work one at a time, in submission order, on one tokio task.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> txkit_core::Result<()> {
/// use txkit_core::QueueWorker;
///
/// let worker = QueueWorker::spawn(16);
/// let answer = worker.submit(|| async { 6 * 7 }).await?;
/// assert_eq!(answer, 42);
/// let finished = worker.shutdown().await;
/// assert_eq!(finished, 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct QueueWorker {
    queue: mpsc::Sender<Job>,
    task: JoinHandle<u64>,
}

impl QueueWorker {
    /// Starts the worker on the current tokio runtime; at most `capacity` units wait in its
    /// queue (at least 1).
    pub fn spawn(capacity: usize) -> Self {
        let (queue, mut jobs) = mpsc::channel::<Job>(capacity.max(1));
        let task = tokio::spawn(async move {
            let mut done = 0_u64;
            while let Some(job) = jobs.recv().await {
                job().await;
                done += 1;
            }
            done
        });
        Self { queue, task }
    }

    /// Queues `work` (waiting while the queue is full) and returns its output once the
    /// worker has run it. If the submitter stops waiting (its future is dropped), the unit
    /// still runs — it may already be writing — but its output is discarded.
    pub async fn submit<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, answer) = job(work);
        self.queue.send(job).await.map_err(|_| shut_down())?;
        answer_of(answer).await
    }

    /// Like [`submit`](Self::submit), but refuses at once when the queue is full, so a
    /// caller can shed load instead of waiting.
    pub async fn try_submit<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, answer) = job(work);
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Error::new(
                ErrorKind::PoolTimeout,
                "the queue worker's queue is full; retry later or raise its capacity",
            ),
            mpsc::error::TrySendError::Closed(_) => shut_down(),
        })?;
        answer_of(answer).await
    }

    /// How many more units fit in the queue right now.
    pub fn free_capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Stops taking new units, runs every unit already queued, and returns how many units
    /// the worker ran in all.
    pub async fn shutdown(self) -> u64 {
        let Self { queue, task } = self;
        drop(queue);
        task.await.unwrap_or(0)
    }
}

type Answer<T> = oneshot::Receiver<std::result::Result<T, tokio::task::JoinError>>;

/// Wraps `work` as a job that runs it as its own task (so a panic in it is reported to its
/// submitter instead of stopping the worker) and sends back its outcome.
fn job<T, F, Fut>(work: F) -> (Job, Answer<T>)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move || {
        Box::pin(async move {
            let outcome = tokio::spawn(work()).await;
            let _ = reply.send(outcome);
        })
    });
    (job, answer)
}

/// The output of a submitted unit, or why there is none.
async fn answer_of<T>(answer: Answer<T>) -> Result<T> {
    match answer.await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(join)) => Err(Error::new(
            ErrorKind::Database,
            format!("the unit of work failed without an answer: {join}"),
        )),
        Err(_) => Err(shut_down()),
    }
}

fn shut_down() -> Error {
    Error::usage("the queue worker has shut down; submit units of work before shutdown()")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn units_run_one_at_a_time_in_order() {
        let worker = Arc::new(QueueWorker::spawn(4));
        let running = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut submitters = Vec::new();
        for i in 0..50 {
            let (worker, running, order) = (
                Arc::clone(&worker),
                Arc::clone(&running),
                Arc::clone(&order),
            );
            submitters.push(tokio::spawn(async move {
                worker
                    .submit(move || async move {
                        assert_eq!(
                            running.fetch_add(1, Ordering::SeqCst),
                            0,
                            "two units at once"
                        );
                        tokio::task::yield_now().await;
                        order.lock().unwrap().push(i);
                        running.fetch_sub(1, Ordering::SeqCst);
                        i * 2
                    })
                    .await
            }));
        }
        for (i, s) in submitters.into_iter().enumerate() {
            assert_eq!(s.await.unwrap().unwrap(), i * 2);
        }
        assert_eq!(order.lock().unwrap().len(), 50);
        let worker = Arc::into_inner(worker).unwrap();
        assert_eq!(worker.shutdown().await, 50);
    }

    #[tokio::test]
    async fn a_panicking_unit_is_reported_and_the_worker_goes_on() {
        let worker = QueueWorker::spawn(2);
        let err = worker
            .submit(|| async {
                if true {
                    panic!("boom");
                }
            })
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("failed without an answer"),
            "{err}"
        );
        assert_eq!(worker.submit(|| async { 1 }).await.unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backpressure_and_drain_on_shutdown() {
        let worker = QueueWorker::spawn(1);
        let (hold, held) = oneshot::channel::<()>();
        let (began_tx, began) = oneshot::channel::<()>();
        let worker = Arc::new(worker);
        let w = Arc::clone(&worker);
        let blocker = tokio::spawn(async move {
            w.submit(move || async move {
                let _ = began_tx.send(());
                let _ = held.await;
            })
            .await
        });
        began.await.unwrap();
        let w = Arc::clone(&worker);
        let queued = tokio::spawn(async move { w.submit(|| async { "queued" }).await });
        // Wait (bounded) until the queued unit occupies the one slot.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while worker.free_capacity() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the unit never queued"
            );
            tokio::task::yield_now().await;
        }
        let refused = worker.try_submit(|| async { "refused" }).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::PoolTimeout);
        hold.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        assert_eq!(queued.await.unwrap().unwrap(), "queued");
        let worker = Arc::into_inner(worker).unwrap();
        assert_eq!(worker.shutdown().await, 2);
    }
}
