//! simple-write-skew: s1 turns every pear into an apple, s2 every apple into a pear
//! (1 = apple, 2 = pear, 3 = banana). Any serial order leaves all apples or all pears;
//! PostgreSQL below SERIALIZABLE and MariaDB READ COMMITTED (its semi-consistent read skips
//! the row s1 holds) swap them — the write skew. PostgreSQL SERIALIZABLE fails the second
//! commit; MariaDB REPEATABLE READ / SERIALIZABLE lock every row the UPDATE scans, so s2
//! waits for s1 and then sees its change; SQLite's one writer serializes them.

use txkit::{Engine, IsolationLevel};

use super::{Observed, SpecSession, commit, join, opts, run, setup, sql};
use crate::common::{TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str, level: Option<IsolationLevel>) -> &'static str {
    use IsolationLevel::*;
    match (backend, level) {
        ("postgres", Some(ReadCommitted | RepeatableRead))
        | ("mariadb" | "mysql", Some(ReadCommitted)) => "blocked=[] errors=[] reads=[] state=2/1/3",
        ("postgres", Some(Serializable)) => {
            "blocked=[] errors=[s2:c2=SerializationFailure] reads=[] state=1/1/3"
        }
        ("mariadb" | "mysql", Some(RepeatableRead | Serializable)) | ("sqlite", None) => {
            "blocked=[s2:rwx2] errors=[] reads=[] state=2/2/3"
        }
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    super::at_every_level(&db, "simple-write-skew", expected, async |engine, level| {
        cell(&engine, level).await
    })
    .await;
}

async fn cell(engine: &Engine, level: Option<IsolationLevel>) -> Observed {
    let t = unique("fruit");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (i BIGINT PRIMARY KEY, t BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (i, t) VALUES (5, 1), (7, 2), (11, 3)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
    ];
    let mut o = run(
        &s,
        &[
            sql(0, "rwx1", format!("UPDATE {t} SET t = 1 WHERE t = 2")),
            sql(1, "rwx2", format!("UPDATE {t} SET t = 2 WHERE t = 1")),
            commit(0, "c1"),
            commit(1, "c2"),
        ],
    )
    .await;
    o.state(join(
        &super::ints(engine, &format!("SELECT t FROM {t} ORDER BY i")).await,
    ));
    o
}
