//! nowait: s1 locks a row FOR UPDATE; s2's FOR UPDATE NOWAIT fails at once with
//! LockNotAvailable instead of waiting; after s1 commits, s3's NOWAIT gets the row.
//! SQLite has no row locks and refuses the clause (Unsupported); its NOWAIT is
//! busy_timeout=0, with which a second writer fails at once with SQLITE_BUSY (LockTimeout).

use txkit::{Engine, ErrorKind, IsolationLevel, RowLock};

use super::{Observed, SpecSession, commit, join, opts, run, setup, sql};
use crate::common::{Kind, TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str) -> &'static str {
    match backend {
        "postgres" | "mariadb" | "mysql" => {
            "blocked=[] errors=[s2:s2a=LockNotAvailable] reads=[s1a=1,s3a=1] state=0/0"
        }
        "sqlite" => "blocked=[] errors=[clause=Unsupported,s2:s2a=LockTimeout] reads=[] state=1/2",
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    let engine = match db.kind {
        Kind::Sqlite => super::sqlite_engine_with_busy_timeout(&db, 0).await,
        _ => super::engine(&db).await,
    };
    let backend = super::backend_name(&engine).await;
    let level = super::default_level(db.kind);
    super::check("nowait", backend, level, expected(backend), || {
        cell(&engine, level)
    })
    .await;
}

async fn cell(engine: &Engine, level: Option<IsolationLevel>) -> Observed {
    let t = unique("nowait");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, v) VALUES (1, 0), (2, 0)"),
        ],
    )
    .await;
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
        SpecSession::new("s3", engine, opts(level)),
    ];
    let select = format!("SELECT id FROM {t} WHERE id = 1");
    let mut o = match (
        super::lock_clause(engine, &RowLock::update()).await,
        super::lock_clause(engine, &RowLock::update().nowait()).await,
    ) {
        (Ok(update), Ok(nowait)) => {
            run(
                &s,
                &[
                    sql(0, "s1a", format!("{select} {update}")),
                    sql(1, "s2a", format!("{select} {nowait}")),
                    commit(0, "c1"),
                    sql(2, "s3a", format!("{select} {nowait}")),
                    commit(2, "c3"),
                ],
            )
            .await
        }
        (_, Err(e)) => {
            let mut o = Observed::default();
            o.error("clause", e.kind());
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            // SQLite: the write lock is the only lock; busy_timeout=0 is its NOWAIT.
            let write = |n: i64| format!("UPDATE {t} SET v = {n} WHERE id = {n}");
            let more = run(
                &s,
                &[
                    sql(0, "s1a", write(1)),
                    sql(1, "s2a", write(2)),
                    commit(0, "c1"),
                    sql(2, "s3a", write(2)),
                    commit(2, "c3"),
                ],
            )
            .await;
            o.merge(more);
            o
        }
        (Err(e), Ok(_)) => panic!("FOR UPDATE refused but NOWAIT accepted: {e}"),
    };
    o.state(join(
        &super::ints(engine, &format!("SELECT v FROM {t} ORDER BY id")).await,
    ));
    o
}
