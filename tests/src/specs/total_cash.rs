//! total-cash: two SERIALIZABLE withdrawals from different accounts, each reading the total
//! first. Permutation wx1 wy2 rxy1 rxy2 c1 c2: on PostgreSQL SERIALIZABLE the second commit
//! fails (a write skew the serial orders forbid); below it, and on MariaDB READ COMMITTED /
//! REPEATABLE READ, both commit having read a total that misses the other's withdrawal.
//! MariaDB SERIALIZABLE turns the reads into shared locks: rxy1 blocks on s2's row and
//! rxy2 closes a deadlock. SQLite's one writer makes wy2 wait for c1.

use txkit::{Engine, IsolationLevel};

use super::{Observed, SpecSession, commit, join, opts, run, setup, sql};
use crate::common::{TestDb, unique};

crate::matrix!(spec);

/// The expectation table: (backend, level) → outcome.
fn expected(backend: &str, level: Option<IsolationLevel>) -> &'static str {
    use IsolationLevel::*;
    match (backend, level) {
        // Both commit, each having read only its own withdrawal: 800 left, reads say 1000.
        ("postgres" | "mariadb" | "mysql", Some(ReadCommitted | RepeatableRead)) => {
            "blocked=[] errors=[] reads=[rxy1=400/600,rxy2=600/400] state=400/400"
        }
        ("postgres", Some(Serializable)) => {
            "blocked=[] errors=[s2:c2=SerializationFailure] reads=[rxy1=400/600,rxy2=600/400] state=400/600"
        }
        // Locking reads: rxy1 waits for s2's row lock, rxy2 then waits for s1's: deadlock.
        ("mariadb" | "mysql", Some(Serializable)) => {
            "blocked=[s1:rxy1] errors=[s2:rxy2=Deadlock] reads=[rxy1=400/600] state=400/600"
        }
        // One writer: s2's first write waits until s1 commits, then sees it.
        ("sqlite", None) => {
            "blocked=[s2:wy2] errors=[] reads=[rxy1=400/600,rxy2=400/400] state=400/400"
        }
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    super::at_every_level(&db, "total-cash", expected, async |engine, level| {
        cell(&engine, level).await
    })
    .await;
}

async fn cell(engine: &Engine, level: Option<IsolationLevel>) -> Observed {
    let t = unique("accounts");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, balance) VALUES (1, 600), (2, 600)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
    ];
    let read = format!("SELECT balance FROM {t} ORDER BY id");
    let mut o = run(
        &s,
        &[
            sql(
                0,
                "wx1",
                format!("UPDATE {t} SET balance = balance - 200 WHERE id = 1"),
            ),
            sql(
                1,
                "wy2",
                format!("UPDATE {t} SET balance = balance - 200 WHERE id = 2"),
            ),
            sql(0, "rxy1", &read),
            sql(1, "rxy2", &read),
            commit(0, "c1"),
            commit(1, "c2"),
        ],
    )
    .await;
    o.state(join(&super::ints(engine, &read).await));
    o
}
