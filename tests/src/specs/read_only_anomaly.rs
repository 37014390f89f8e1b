//! read-only-anomaly (Fekete, O'Neil, O'Neil 2004): s2 reads X and Y, s1 deposits 20 into Y
//! and commits, s3 reads both (0, 20) and commits, then s2 withdraws 10 from X with an
//! overdraft charge (-11) computed from the old Y. Only the read-only s3 sees a state no
//! serial order produces. PostgreSQL SERIALIZABLE fails s2's write; snapshot isolation
//! (PostgreSQL REPEATABLE READ, MariaDB REPEATABLE READ) and READ COMMITTED allow it.
//! MariaDB SERIALIZABLE's shared read locks make s1 wait for s2 and s3 queue behind s1;
//! s2's write then closes a deadlock and InnoDB aborts the reader s3, so s2 and s1 commit
//! and no reader saw the anomalous state. On SQLite s2's write meets a newer commit than its snapshot: SQLITE_BUSY_SNAPSHOT.

use txkit::{Engine, IsolationLevel};

use super::{Observed, SpecSession, commit, join, opts, run, setup, sql};
use crate::common::{TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str, level: Option<IsolationLevel>) -> &'static str {
    use IsolationLevel::*;
    match (backend, level) {
        ("postgres" | "mariadb" | "mysql", Some(ReadCommitted | RepeatableRead)) => {
            "blocked=[] errors=[] reads=[s2rx=0,s2ry=0,s1ry=0,s3r=0/20] state=-11/20"
        }
        ("postgres", Some(Serializable)) => {
            "blocked=[] errors=[s2:s2wx=SerializationFailure] reads=[s2rx=0,s2ry=0,s1ry=0,s3r=0/20] state=0/20"
        }
        ("mariadb" | "mysql", Some(Serializable)) => {
            "blocked=[s1:s1wy,s3:s3r] errors=[s3:s3r=Deadlock] reads=[s2rx=0,s2ry=0,s1ry=0] state=-11/20"
        }
        ("sqlite", None) => {
            "blocked=[] errors=[s2:s2wx=SerializationFailure] reads=[s2rx=0,s2ry=0,s1ry=0,s3r=0/20] state=0/20"
        }
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    super::at_every_level(&db, "read-only-anomaly", expected, async |engine, level| {
        cell(&engine, level).await
    })
    .await;
}

async fn cell(engine: &Engine, level: Option<IsolationLevel>) -> Observed {
    let t = unique("bank_account");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, balance) VALUES (1, 0), (2, 0)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
        SpecSession::new("s3", engine, opts(level)),
    ];
    let both = format!("SELECT balance FROM {t} ORDER BY id");
    let mut o = run(
        &s,
        &[
            sql(1, "s2rx", format!("SELECT balance FROM {t} WHERE id = 1")),
            sql(1, "s2ry", format!("SELECT balance FROM {t} WHERE id = 2")),
            sql(0, "s1ry", format!("SELECT balance FROM {t} WHERE id = 2")),
            sql(
                0,
                "s1wy",
                format!("UPDATE {t} SET balance = 20 WHERE id = 2"),
            ),
            commit(0, "s1c"),
            sql(2, "s3r", &both),
            commit(2, "s3c"),
            sql(
                1,
                "s2wx",
                format!("UPDATE {t} SET balance = -11 WHERE id = 1"),
            ),
            commit(1, "s2c"),
        ],
    )
    .await;
    o.state(join(&super::ints(engine, &both).await));
    o
}
