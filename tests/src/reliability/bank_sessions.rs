//! The test's server sessions: which worker used which (for the fault injector), and the
//! end-of-run checks that none is left inside a transaction — seen from the server
//! (PostgreSQL `pg_stat_activity`, MariaDB `INNODB_TRX`) and, on MariaDB, from each pooled
//! connection itself (`@@in_transaction` on a connection the pool hands out as clean).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use txkit::{Engine, params};

use crate::common::{Kind, TestDb};

/// Which worker last used each server session (by the server's session id).
#[derive(Debug, Default)]
pub(crate) struct Sessions(Mutex<HashMap<i64, usize>>);

impl Sessions {
    /// Worker `worker` is running a transaction on session `id`.
    pub(crate) fn note(&self, id: i64, worker: usize) {
        self.0.lock().unwrap().insert(id, worker);
    }

    pub(crate) fn worker_of(&self, id: i64) -> Option<usize> {
        self.0.lock().unwrap().get(&id).copied()
    }

    /// The ids as an SQL list (`3, 17, 42`), or `None` when there are none.
    pub(crate) fn id_list(&self) -> Option<String> {
        let ids = self.0.lock().unwrap();
        (!ids.is_empty()).then(|| {
            ids.keys()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
    }
}

/// How many of the test's sessions are inside a transaction, waiting (bounded) for the
/// count to reach zero: a transaction dropped at the end of a worker is rolled back by a
/// background task, so a moment's delay is allowed, a session stuck in one is not. Returns
/// (the count at the first look, the count at the end of the wait).
pub(crate) async fn open_transactions(
    db: &TestDb,
    side: &Engine,
    sessions: &Sessions,
) -> (i64, i64) {
    let count = async || -> i64 {
        match db.kind {
            Kind::Postgres => {
                let rows = side
                    .query(
                        "SELECT count(*) AS n FROM pg_stat_activity \
                         WHERE application_name = ? AND state LIKE 'idle in transaction%'",
                        &params![db.app.clone()],
                    )
                    .await
                    .expect("pg_stat_activity");
                rows[0].get("n").unwrap()
            }
            Kind::MySql => {
                let Some(list) = sessions.id_list() else {
                    return 0;
                };
                let rows = side
                    .query(
                        &format!(
                            "SELECT count(*) AS n FROM information_schema.INNODB_TRX \
                             WHERE trx_mysql_thread_id IN ({list})"
                        ),
                        &[],
                    )
                    .await
                    .expect("innodb_trx");
                rows[0].get("n").unwrap()
            }
            Kind::Sqlite => 0,
        }
    };
    let first = count().await;
    let mut last = first;
    let give_up = Instant::now() + Duration::from_secs(5);
    while last > 0 && Instant::now() < give_up {
        // MariaDB refreshes INNODB_TRX only when it was not read for 100 ms: a faster poll
        // would keep reading the same stale rows.
        tokio::time::sleep(Duration::from_millis(250)).await;
        last = count().await;
    }
    if last > 0 {
        describe_open(db, side, sessions).await;
    }
    (first, last)
}

/// Prints what the server says about the test's sessions still inside a transaction.
async fn describe_open(db: &TestDb, side: &Engine, sessions: &Sessions) {
    let rows = match db.kind {
        Kind::Postgres => side
            .query(
                "SELECT pid, state, backend_xid::text AS xid, query FROM pg_stat_activity \
                 WHERE application_name = ? AND state LIKE 'idle in transaction%'",
                &params![db.app.clone()],
            )
            .await
            .expect("pg_stat_activity"),
        Kind::MySql => {
            let list = sessions.id_list().unwrap_or_else(|| "NULL".to_owned());
            side.query(
                &format!(
                    "SELECT t.trx_mysql_thread_id, t.trx_state, t.trx_started, \
                     t.trx_isolation_level, t.trx_rows_locked, t.trx_rows_modified, \
                     t.trx_is_read_only, t.trx_query, p.COMMAND, p.TIME, p.INFO \
                     FROM information_schema.INNODB_TRX t \
                     LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                     WHERE t.trx_mysql_thread_id IN ({list})"
                ),
                &[],
            )
            .await
            .expect("innodb_trx")
        }
        Kind::Sqlite => return,
    };
    for row in rows {
        println!("bank: session still in a transaction: {row:?}");
    }
}

/// On MariaDB, checks out every pooled connection at once and asks the server whether it
/// is inside a transaction: a connection the pool hands out must never be. Returns how
/// many were (always 0 elsewhere).
pub(crate) async fn dirty_pooled(kind: Kind, engine: &Engine, connections: usize) -> usize {
    if kind != Kind::MySql {
        return 0;
    }
    let mut held = Vec::new();
    for _ in 0..connections {
        held.push(engine.connection().await.expect("checkout"));
    }
    let mut dirty = 0;
    for conn in &mut held {
        let rows = conn
            .query(
                "SELECT @@in_transaction AS t, CAST(CONNECTION_ID() AS SIGNED) AS id",
                &[],
            )
            .await
            .expect("@@in_transaction");
        if rows[0].get::<i64>("t").unwrap() != 0 {
            dirty += 1;
            println!(
                "bank: the pool handed out connection {} inside a transaction",
                rows[0].get::<i64>("id").unwrap()
            );
        }
    }
    dirty
}
