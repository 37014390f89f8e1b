//! deadlock-hard: eight sessions in a ring. Each locks its own object, then asks for its
//! neighbour's; the first seven wait, the eighth closes the cycle. PostgreSQL (table locks,
//! the eighth with a short deadlock_timeout as in the original spec so it is the one that
//! detects the cycle) fails the eighth with Deadlock and the ring unwinds. MariaDB (row
//! locks) detects the cycle at once when the eighth asks. SQLite's one writer admits one
//! session at a time: the other seven wait at their first write, and all commit in turn.

use txkit::{Engine, IsolationLevel, TableLock};

use super::{Act, Observed, SpecSession, StepDef, commit, join, opts, run, setup};
use crate::common::{Kind, TestDb, unique};

crate::matrix!(spec);

const N: usize = 8;

fn expected(backend: &str) -> String {
    let ring: Vec<String> = (1..N).map(|i| format!("s{i}:s{i}a{}", i + 1)).collect();
    match backend {
        "postgres" => format!(
            "blocked=[{}] errors=[s8:s8a1=Deadlock] reads=[] state=0/1/1/1/1/1/1/1",
            ring.join(",")
        ),
        "mariadb" | "mysql" => format!(
            "blocked=[{}] errors=[s8:s8a1=Deadlock] reads=[] state=1/2/2/2/2/2/2/1",
            ring.join(",")
        ),
        "sqlite" => {
            let firsts: Vec<String> = (2..=N).map(|i| format!("s{i}:s{i}a{i}")).collect();
            format!(
                "blocked=[{}] errors=[] reads=[] state=2/2/2/2/2/2/2/2",
                firsts.join(",")
            )
        }
        _ => "no expectation".to_owned(),
    }
}

async fn spec(db: TestDb) {
    let engine = super::engine(&db).await;
    let backend = super::backend_name(&engine).await;
    let level = super::default_level(db.kind);
    let want = expected(backend);
    super::check("deadlock-hard", backend, level, &want, || {
        cell(&engine, db.kind, level)
    })
    .await;
}

fn label(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

async fn cell(engine: &Engine, kind: Kind, level: Option<IsolationLevel>) -> Observed {
    let base = unique("ring");
    let names: Vec<&'static str> = (1..=N).map(|i| format!("s{i}")).map(label).collect();
    let sessions: Vec<SpecSession> = names
        .iter()
        .map(|n| SpecSession::new(n, engine, opts(level)))
        .collect();
    let mut perm = Vec::new();
    let state_sql;
    match kind {
        Kind::Postgres => {
            // One table per session; a row per table counts who got the neighbour's lock.
            for i in 1..=N {
                setup(
                    engine,
                    &[
                        format!("CREATE TABLE {base}_{i} (v BIGINT NOT NULL)"),
                        format!("INSERT INTO {base}_{i} (v) VALUES (0)"),
                    ],
                )
                .await;
            }
            for i in 1..=N {
                let timeout = if i == N { "10ms" } else { "10s" };
                perm.push(StepDef {
                    session: i - 1,
                    label: label(format!("s{i}dt")),
                    act: Act::Sql(format!("SET LOCAL deadlock_timeout = '{timeout}'")),
                });
            }
            for i in 1..=N {
                perm.push(StepDef {
                    session: i - 1,
                    label: label(format!("s{i}a{i}")),
                    act: Act::Lock(format!("{base}_{i}"), TableLock::exclusive()),
                });
            }
            for i in 1..=N {
                let next = i % N + 1;
                perm.push(StepDef {
                    session: i - 1,
                    label: label(format!("s{i}a{next}")),
                    act: Act::Lock(format!("{base}_{next}"), TableLock::exclusive()),
                });
                perm.push(StepDef {
                    session: i - 1,
                    label: label(format!("s{i}w")),
                    act: Act::Sql(format!("UPDATE {base}_{next} SET v = v + 1")),
                });
            }
            state_sql = (1..=N)
                .map(|i| format!("SELECT v FROM {base}_{i}"))
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
        }
        Kind::MySql | Kind::Sqlite => {
            let values: Vec<String> = (1..=N).map(|i| format!("({i}, 0)")).collect();
            setup(
                engine,
                &[
                    format!("CREATE TABLE {base} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"),
                    format!("INSERT INTO {base} (id, v) VALUES {}", values.join(", ")),
                ],
            )
            .await;
            for i in 1..=N {
                perm.push(StepDef {
                    session: i - 1,
                    label: label(format!("s{i}a{i}")),
                    act: Act::Sql(format!("UPDATE {base} SET v = v + 1 WHERE id = {i}")),
                });
            }
            for i in 1..=N {
                let next = i % N + 1;
                perm.push(StepDef {
                    session: i - 1,
                    label: label(format!("s{i}a{next}")),
                    act: Act::Sql(format!("UPDATE {base} SET v = v + 1 WHERE id = {next}")),
                });
            }
            state_sql = format!("SELECT v FROM {base} ORDER BY id");
        }
    }
    for i in 1..=N {
        perm.push(commit(i - 1, label(format!("c{i}"))));
    }
    let mut o = run(&sessions, &perm).await;
    o.state(join(&super::ints(engine, &state_sql).await));
    o
}
