//! delete-abort-savept: s1 takes a weak lock on the rows (FOR KEY SHARE; MariaDB: LOCK IN
//! SHARE MODE), then in a savepoint deletes them and rolls the savepoint back. The lock
//! taken before the savepoint must survive the rollback: s2's FOR UPDATE still waits until
//! s1 commits, and the rows are all there. On SQLite the savepoint's delete took the write
//! lock, which the rollback to savepoint keeps: s2's write waits until s1 commits.

use txkit::{Engine, IsolationLevel, RowLock};

use super::{Act, Observed, SpecSession, StepDef, commit, join, opts, run, setup, sql};
use crate::common::{Kind, TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str) -> &'static str {
    match backend {
        "postgres" | "mariadb" | "mysql" => {
            "blocked=[s2:s2l] errors=[] reads=[s1l=1/2,s2l=1/2] state=1/2"
        }
        "sqlite" => "blocked=[s2:s2l] errors=[] reads=[s1l=1/2] state=1/2",
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    let engine = super::engine(&db).await;
    let backend = super::backend_name(&engine).await;
    let level = super::default_level(db.kind);
    super::check(
        "delete-abort-savept",
        backend,
        level,
        expected(backend),
        || cell(&engine, db.kind, level),
    )
    .await;
}

async fn cell(engine: &Engine, kind: Kind, level: Option<IsolationLevel>) -> Observed {
    let t = unique("foo");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, v) VALUES (1, 1), (2, 2)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
    ];
    let all = format!("SELECT id FROM {t} ORDER BY id");
    let (weak, strong) = match kind {
        Kind::Sqlite => (all.clone(), format!("UPDATE {t} SET v = v WHERE id = 1")),
        Kind::Postgres => (
            format!(
                "{all} {}",
                super::lock_clause(engine, &RowLock::key_share())
                    .await
                    .unwrap()
            ),
            format!(
                "{all} {}",
                super::lock_clause(engine, &RowLock::update())
                    .await
                    .unwrap()
            ),
        ),
        Kind::MySql => (
            format!(
                "{all} {}",
                super::lock_clause(engine, &RowLock::share()).await.unwrap()
            ),
            format!(
                "{all} {}",
                super::lock_clause(engine, &RowLock::update())
                    .await
                    .unwrap()
            ),
        ),
    };
    let mut o = run(
        &s,
        &[
            sql(0, "s1l", weak),
            StepDef {
                session: 0,
                label: "s1svp_d_r",
                act: Act::SavepointRolledBack(vec![format!("DELETE FROM {t}")]),
            },
            sql(1, "s2l", strong),
            commit(0, "c1"),
            commit(1, "c2"),
        ],
    )
    .await;
    o.state(join(&super::ints(engine, &all).await));
    o
}
