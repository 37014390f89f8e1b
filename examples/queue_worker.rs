//! The queue worker: many tasks hand their writes to one worker that runs them one at a
//! time. On SQLite this turns lock contention (SQLITE_BUSY) into a queue; results return
//! to each submitter; a full queue makes submitters wait; shutdown drains the queue.
//!
//! `cargo run --example queue_worker [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use txkit::{Engine, QueueWorker, params};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    common::main_with(&common::temp_sqlite_url("queue"), |url| async move {
        run(&url).await
    });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    let t = "example_queue_counter";
    engine
        .execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await?;
    engine
        .execute(
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"),
            &[],
        )
        .await?;
    engine
        .execute(&format!("INSERT INTO {t} (id, n) VALUES (1, 0)"), &[])
        .await?;

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
                        let mut tx = engine.begin().await?;
                        tx.execute(&format!("UPDATE {t} SET n = n + 1 WHERE id = 1"), &[])
                            .await?;
                        let n: i64 = tx
                            .query_one(&format!("SELECT n FROM {t} WHERE id = ?"), &params![1])
                            .await?
                            .get("n")?;
                        tx.commit().await?;
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
    let n: i64 = engine
        .query(&format!("SELECT n FROM {t} WHERE id = 1"), &[])
        .await?[0]
        .get("n")?;
    println!("{ran} units ran; counter = {n}");
    assert_eq!((ran, n), (200, 200));
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
