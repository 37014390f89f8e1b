//! The queue worker: many tasks hand their writes to one worker that runs them one at a
//! time. On SQLite this turns lock contention (SQLITE_BUSY) into a queue; results return
//! to each submitter; a full queue makes submitters wait; shutdown drains the queue.
//!
//! `cargo run --example queue_worker [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use txkit::{Engine, Entity, QueueWorker, create_all};

use common::BoxError;

/// A counter every unit of work advances.
#[derive(Debug, Entity)]
#[txkit(table = "example_queue_counter")]
pub(crate) struct Counter {
    #[txkit(primary_key)]
    id: i64,
    n: i64,
}

fn main() {
    common::main_with(&common::temp_sqlite_url("queue"), |url| async move {
        run(&url).await
    });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    engine.connection().await?.drop_table::<Counter>().await?;
    create_all(&engine, &[Counter::table()]).await?;
    let mut session = engine.session();
    session.add(Counter { id: 1, n: 0 });
    session.commit().await?;

    let worker = Arc::new(QueueWorker::spawn(8));
    let mut submitters = Vec::new();
    for task in 0..8 {
        let (worker, engine) = (Arc::clone(&worker), engine.clone());
        submitters.push(tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..25 {
                let engine = engine.clone();
                last = worker
                    .submit(move || async move {
                        // One unit at a time: a plain read, change, commit is safe here.
                        let mut session = engine.session();
                        let counter = session
                            .get::<Counter>(1)
                            .await?
                            .ok_or_else(|| txkit::Error::config("no counter row"))?;
                        counter.n += 1;
                        let n = counter.n;
                        session.commit().await?;
                        Ok::<i64, txkit::Error>(n)
                    })
                    .await??;
            }
            println!("task {task} done; it saw the counter at {last}");
            Ok::<(), txkit::Error>(())
        }));
    }
    for s in submitters {
        s.await??;
    }
    let worker = Arc::into_inner(worker).ok_or("the worker is still shared")?;
    let ran = worker.shutdown().await;
    let mut conn = engine.connection().await?;
    let n = conn.find::<Counter>(1).await?.ok_or("no counter row")?.n;
    println!("{ran} units ran; counter = {n}");
    assert_eq!((ran, n), (200, 200));
    conn.drop_table::<Counter>().await?;
    Ok(())
}
