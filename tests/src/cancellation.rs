//! A future cancelled at any await point of begin, execute, savepoint or commit never
//! leaves a connection handed out inside a transaction.

use txkit::core::TxState;
use txkit::{Engine, params};

use crate::common::{TestDb, count, people_table, poll_then_drop};

crate::matrix!(cancel_at_every_await_point);

/// The most polls any single operation is given before we conclude it never finishes.
const MAX_POLLS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
enum Stage {
    Begin,
    Execute,
    Savepoint,
    Release,
    RollbackTo,
    Commit,
    Rollback,
}

/// Runs the operation of `stage`, cancelled after `polls` polls; returns whether it finished.
async fn cancelled_run(engine: &Engine, table: &str, stage: Stage, polls: usize) -> bool {
    let insert = format!("INSERT INTO {table} (name) VALUES (?)");
    match stage {
        Stage::Begin => {
            let done = poll_then_drop(engine.begin(), polls).await;
            // A transaction that did begin is dropped here unfinished.
            done.is_some()
        }
        Stage::Execute => {
            let mut tx = engine.begin().await.unwrap();
            poll_then_drop(tx.execute(&insert, &params!["cancelled"]), polls)
                .await
                .is_some()
        }
        Stage::Savepoint => {
            let mut tx = engine.begin().await.unwrap();
            tx.execute(&insert, &params!["cancelled"]).await.unwrap();
            poll_then_drop(tx.savepoint(), polls).await.is_some()
        }
        Stage::Release => {
            let mut tx = engine.begin().await.unwrap();
            let mut sp = tx.savepoint().await.unwrap();
            sp.execute(&insert, &params!["cancelled"]).await.unwrap();
            poll_then_drop(sp.commit(), polls).await.is_some()
        }
        Stage::RollbackTo => {
            let mut tx = engine.begin().await.unwrap();
            let mut sp = tx.savepoint().await.unwrap();
            sp.execute(&insert, &params!["cancelled"]).await.unwrap();
            poll_then_drop(sp.rollback(), polls).await.is_some()
        }
        Stage::Commit => {
            let mut tx = engine.begin().await.unwrap();
            tx.execute(&insert, &params!["committed"]).await.unwrap();
            match poll_then_drop(tx.commit(), polls).await {
                Some(result) => {
                    result.unwrap();
                    true
                }
                None => false,
            }
        }
        Stage::Rollback => {
            let mut tx = engine.begin().await.unwrap();
            tx.execute(&insert, &params!["cancelled"]).await.unwrap();
            poll_then_drop(tx.rollback(), polls).await.is_some()
        }
    }
}

async fn cancel_at_every_await_point(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let t = people_table(&db, &engine).await;
    for stage in [
        Stage::Begin,
        Stage::Execute,
        Stage::Savepoint,
        Stage::Release,
        Stage::RollbackTo,
        Stage::Commit,
        Stage::Rollback,
    ] {
        let mut finished = false;
        for polls in 0..MAX_POLLS {
            finished = cancelled_run(&engine, &t, stage, polls).await;
            // The single pooled connection: never inside a transaction when handed out.
            let mut conn = engine.connection().await.unwrap();
            assert_eq!(
                conn.tx_state(),
                TxState::Idle,
                "{stage:?} after {polls} polls"
            );
            assert!(
                !conn.server_in_transaction().await.unwrap(),
                "{stage:?} cancelled after {polls} polls left the server in a transaction"
            );
            drop(conn);
            if finished {
                break;
            }
        }
        assert!(
            finished,
            "{stage:?} never finished within {MAX_POLLS} polls"
        );
        // Nothing but committed rows ever became visible.
        let rows = engine
            .query(
                &format!("SELECT count(*) AS n FROM {t} WHERE name <> ?"),
                &params!["committed"],
            )
            .await
            .unwrap();
        assert_eq!(rows[0].get::<i64>("n").unwrap(), 0, "{stage:?}");
    }
    assert!(count(&engine, &t).await >= 1, "the final commit was kept");
    // Connections of cancelled transactions are rolled back on the pool's cleaning task
    // and count as checked out until it is done: wait for it (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while engine.status().checked_out > 0 {
        let status = engine.status();
        assert!(
            std::time::Instant::now() < deadline,
            "still checked out: {status}"
        );
        tokio::task::yield_now().await;
    }
    db.assert_no_idle_in_transaction().await;
}
