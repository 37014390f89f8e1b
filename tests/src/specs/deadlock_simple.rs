//! deadlock-simple: both sessions take a weak lock on the same object, then both ask for
//! an exclusive one. s1's request waits for s2's weak lock; s2's then closes the cycle and
//! fails with Deadlock, after which s1's goes through. PostgreSQL: table locks (ACCESS SHARE,
//! then ACCESS EXCLUSIVE). MariaDB refuses table locks inside a transaction, so the same
//! upgrade deadlock is played with a shared row lock and an UPDATE. SQLite never waits in
//! this shape: a reader that asks to write while another connection holds the write lock
//! gets SQLITE_BUSY at once (LockTimeout), its way of refusing the deadlock.

use txkit::lock::TableLockMode;
use txkit::{Engine, IsolationLevel, RowLock, TableLock};

use super::{Act, Observed, SpecSession, StepDef, commit, join, opts, run, setup, sql};
use crate::common::{Kind, TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str) -> &'static str {
    match backend {
        "postgres" => "blocked=[s1:s1ae] errors=[s2:s2ae=Deadlock] reads=[] state=1",
        "mariadb" | "mysql" => {
            "blocked=[s1:s1ae] errors=[s2:s2ae=Deadlock] reads=[s1as=1,s2as=1] state=1"
        }
        "sqlite" => "blocked=[] errors=[s2:s2ae=LockTimeout] reads=[s1as=1,s2as=1] state=1",
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    let engine = super::engine(&db).await;
    let backend = super::backend_name(&engine).await;
    let level = super::default_level(db.kind);
    super::check("deadlock-simple", backend, level, expected(backend), || {
        cell(&engine, db.kind, level)
    })
    .await;
}

fn step(session: usize, label: &'static str, act: Act) -> StepDef {
    StepDef {
        session,
        label,
        act,
    }
}

async fn cell(engine: &Engine, kind: Kind, level: Option<IsolationLevel>) -> Observed {
    let t = unique("a1");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, v) VALUES (1, 0)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
    ];
    let perm = match kind {
        Kind::Postgres => {
            let weak = Act::Lock(t.clone(), TableLock::new(TableLockMode::AccessShare));
            let strong = Act::Lock(t.clone(), TableLock::new(TableLockMode::AccessExclusive));
            vec![
                step(0, "s1as", weak.clone()),
                step(1, "s2as", weak),
                step(0, "s1ae", strong.clone()),
                step(1, "s2ae", strong),
                step(0, "s1w", Act::Sql(format!("UPDATE {t} SET v = v + 1"))),
                commit(0, "c1"),
                commit(1, "c2"),
            ]
        }
        Kind::MySql | Kind::Sqlite => {
            let clause = match kind {
                Kind::MySql => super::lock_clause(engine, &RowLock::share()).await.unwrap(),
                _ => String::new(),
            };
            let weak = format!("SELECT id FROM {t} WHERE id = 1 {clause}");
            let strong = format!("UPDATE {t} SET v = v + 1 WHERE id = 1");
            vec![
                sql(0, "s1as", &weak),
                sql(1, "s2as", &weak),
                sql(0, "s1ae", &strong),
                sql(1, "s2ae", &strong),
                commit(0, "c1"),
                commit(1, "c2"),
            ]
        }
    };
    let mut o = run(&s, &perm).await;
    o.state(join(
        &super::ints(engine, &format!("SELECT v FROM {t}")).await,
    ));
    o
}
