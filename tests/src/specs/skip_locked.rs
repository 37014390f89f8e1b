//! skip-locked: two consumers of a queue each take the first row
//! `FOR UPDATE SKIP LOCKED`: neither waits, and they get different rows. SQLite has no row
//! locks and refuses the clause; its consumers take the database write lock instead, so
//! the second one waits for the first to commit and then takes the next free row.

use txkit::{Engine, ErrorKind, IsolationLevel, RowLock};

use super::{Observed, SpecSession, commit, join, opts, run, setup, sql};
use crate::common::{TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str) -> &'static str {
    match backend {
        "postgres" | "mariadb" | "mysql" => "blocked=[] errors=[] reads=[s1a=1,s2a=2] state=1/2/0",
        "sqlite" => "blocked=[s2:s2a] errors=[clause=Unsupported] reads=[] state=1/2/0",
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    let engine = super::engine(&db).await;
    let backend = super::backend_name(&engine).await;
    let level = super::default_level(db.kind);
    super::check("skip-locked", backend, level, expected(backend), || {
        cell(&engine, level)
    })
    .await;
}

async fn cell(engine: &Engine, level: Option<IsolationLevel>) -> Observed {
    let t = unique("queue");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, taken_by BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, taken_by) VALUES (1, 0), (2, 0), (3, 0)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
    ];
    let mut o = match super::lock_clause(engine, &RowLock::update().skip_locked()).await {
        Ok(skip) => {
            let take = format!("SELECT id FROM {t} WHERE taken_by = 0 ORDER BY id LIMIT 1 {skip}");
            // Each consumer marks the row it got; the ids are the ones read above.
            run(
                &s,
                &[
                    sql(0, "s1a", &take),
                    sql(1, "s2a", &take),
                    sql(
                        0,
                        "s1u",
                        format!("UPDATE {t} SET taken_by = 1 WHERE id = 1"),
                    ),
                    sql(
                        1,
                        "s2u",
                        format!("UPDATE {t} SET taken_by = 2 WHERE id = 2"),
                    ),
                    commit(0, "c1"),
                    commit(1, "c2"),
                ],
            )
            .await
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            let mut o = Observed::default();
            o.error("clause", e.kind());
            let take = |n: i64| {
                format!(
                    "UPDATE {t} SET taken_by = {n} WHERE id = \
                     (SELECT min(id) FROM {t} WHERE taken_by = 0)"
                )
            };
            o.merge(
                run(
                    &s,
                    &[
                        sql(0, "s1a", take(1)),
                        sql(1, "s2a", take(2)),
                        commit(0, "c1"),
                        commit(1, "c2"),
                    ],
                )
                .await,
            );
            o
        }
    };
    o.state(join(
        &super::ints(engine, &format!("SELECT taken_by FROM {t} ORDER BY id")).await,
    ));
    o
}
