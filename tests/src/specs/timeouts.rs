//! timeouts: s1 holds a row (UPDATE) and a table lock; other sessions that wait for them
//! give up after a lock timeout or a statement timeout, without waiting for s1.
//! PostgreSQL: `SET LOCAL lock_timeout` → LockTimeout (55P03 "lock timeout"), `SET LOCAL
//! statement_timeout` → 57014, which txkit classifies as Database (a cancelled statement,
//! not a lock conflict). MariaDB (`SET STATEMENT … FOR`, which leaves nothing on the
//! session): innodb_lock_wait_timeout → 1205 LockTimeout; max_statement_time → Database.
//! SQLite: busy_timeout is its only timeout (LockTimeout); it has no statement timeout.
//!
//! Every waiting step is seen blocked by the database's lock view first, and s1 commits only
//! after each has ended by its own timeout (`AwaitBlocked`). The timeouts are a second or
//! more, half a second apart, so that the lock view sees each wait (a MariaDB look takes
//! 150 ms) and they end in the order they were started.

use std::time::{Duration, Instant};

use txkit::{Engine, IsolationLevel, TableLock};

use super::{Act, Observed, SpecSession, StepDef, commit, join, opts, run, setup, sql};
use crate::common::{Kind, TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str) -> &'static str {
    match backend {
        "postgres" => {
            "blocked=[s2:upd2,s3:upd3,s4:lock4] \
             errors=[s2:upd2=LockTimeout,s3:upd3=Database,s4:lock4=LockTimeout] \
             reads=[] state=700/600"
        }
        "mariadb" | "mysql" => {
            "blocked=[s2:upd2,s3:upd3] errors=[s2:upd2=LockTimeout,s3:upd3=Database] \
             reads=[] state=700/600"
        }
        "sqlite" => "blocked=[s2:upd2] errors=[s2:upd2=LockTimeout] reads=[] state=700/600",
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    let engine = match db.kind {
        Kind::Sqlite => super::sqlite_engine_with_busy_timeout(&db, 1000).await,
        _ => super::engine(&db).await,
    };
    let backend = super::backend_name(&engine).await;
    let level = super::default_level(db.kind);
    super::check("timeouts", backend, level, expected(backend), || {
        cell(&engine, db.kind, level)
    })
    .await;
}

/// Waits for session `i`'s blocked step to end by its own timeout.
fn await_blocked(session: usize, label: &'static str) -> StepDef {
    StepDef {
        session,
        label,
        act: Act::AwaitBlocked,
    }
}

async fn cell(engine: &Engine, kind: Kind, level: Option<IsolationLevel>) -> Observed {
    let t = unique("accounts");
    setup(
        engine,
        &[
            format!("CREATE TABLE {t} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"),
            format!("INSERT INTO {t} (id, balance) VALUES (1, 600), (2, 600)"),
        ],
    )
    .await;
    let s: Vec<SpecSession> = ["s1", "s2", "s3", "s4"]
        .into_iter()
        .map(|n| SpecSession::new(n, engine, opts(level)))
        .collect();
    let delete = format!("DELETE FROM {t} WHERE id = 1");
    let mut perm = vec![sql(
        0,
        "wrtbl",
        format!("UPDATE {t} SET balance = balance + 100 WHERE id = 1"),
    )];
    match kind {
        Kind::Postgres => perm.extend([
            sql(1, "lto2", "SET LOCAL lock_timeout = '1s'"),
            sql(1, "upd2", &delete),
            sql(2, "sto3", "SET LOCAL statement_timeout = '1500ms'"),
            sql(2, "upd3", &delete),
            sql(3, "lto4", "SET LOCAL lock_timeout = '2s'"),
            StepDef {
                session: 3,
                label: "lock4",
                act: Act::Lock(t.clone(), TableLock::exclusive()),
            },
            await_blocked(1, "wait2"),
            await_blocked(2, "wait3"),
            await_blocked(3, "wait4"),
        ]),
        Kind::MySql => perm.extend([
            sql(
                1,
                "upd2",
                format!("SET STATEMENT innodb_lock_wait_timeout = 1 FOR {delete}"),
            ),
            sql(
                2,
                "upd3",
                format!("SET STATEMENT max_statement_time = 1.5 FOR {delete}"),
            ),
            await_blocked(1, "wait2"),
            await_blocked(2, "wait3"),
        ]),
        Kind::Sqlite => perm.extend([sql(1, "upd2", &delete), await_blocked(1, "wait2")]),
    }
    perm.push(commit(0, "c1"));
    let started = Instant::now();
    let mut o = run(&s, &perm).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeouts did not end the waits early"
    );
    o.state(join(
        &super::ints(engine, &format!("SELECT balance FROM {t} ORDER BY id")).await,
    ));
    o
}
