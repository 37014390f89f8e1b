//! A transfer transaction — lock two accounts in id order (`SELECT … FOR UPDATE`; SQLite:
//! a transaction begun IMMEDIATE), debit, credit, ledger INSERT, COMMIT — written as each
//! library's users write it, on PostgreSQL, MariaDB and SQLite; plus a point read, a
//! 100-row INSERT batch in one transaction, `SELECT 1`, the flush of 100 changed versioned
//! rows (a session's unit of work against 100 hand-written UPDATEs, `flush.rs`), and
//! SQLite writes from 8 tasks (txkit's queue worker against naive concurrent transactions
//! and one lone connection).
//!
//! Contenders: txkit (`engine.begin()`, each statement awaited), txkit-pipelined
//! (PostgreSQL: `engine.session()` + `commit_with`, 2 round trips per transfer), the raw
//! driver (tokio-postgres, mysql_async, rusqlite — one connection per task, statements
//! prepared once), sqlx 0.9 and sea-orm 2 with their default pools. Round trips per
//! operation are counted through a TCP (or Unix-socket) proxy.
//!
//! Modes (environment): none — criterion; `TXKIT_BENCH_RATIOS=1` — the ratio table
//! (`TXKIT_BENCH_ROUNDS`, default 7); `TXKIT_BENCH_SMOKE=1` — every contender for a
//! handful of operations per cell, with the invariants checked after every batch (no cent
//! created or lost, exactly the expected ledger and item rows, every flushed row's balance
//! and version exactly as expected) and the documented round
//! trips asserted. `TXKIT_BENCH_BACKENDS=postgres,mariadb,sqlite` picks backends. Servers:
//! `TXKIT_POSTGRES_URL`, `TXKIT_MYSQL_URL` (defaults `postgres://postgres@127.0.0.1:5432/test`,
//! `mysql://root@127.0.0.1:3306/test`); one that does not answer is skipped with a message.

// A benchmark is a binary: panicking on a setup error is the right answer.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod cells;
mod contenders;
mod flush;
mod mysql_raw;
mod pg_raw;
mod proxy;
mod random_order;
mod report;
mod round_trips;
mod schema;
mod seaorm_side;
mod shared;
mod sqlite_raw;
mod sqlite_writers;
mod sqlx_side;
mod txkit_side;
mod workload;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use tokio::runtime::Runtime;

use crate::cells::Cell;
use crate::contenders::Server;
use crate::workload::{Contender, Sizing, batch, workers};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_MYSQL: &str = "mysql://root@127.0.0.1:3306/test";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Criterion,
    Ratios,
    Smoke,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The servers that answer, in the order PostgreSQL, MariaDB, SQLite.
fn servers(rt: &Runtime) -> Vec<Server> {
    let wanted = std::env::var("TXKIT_BENCH_BACKENDS").ok();
    let wants = |name: &str| {
        wanted
            .as_deref()
            .is_none_or(|w| w.split(',').any(|x| x == name))
    };
    let mut out = Vec::new();
    if wants("postgres") {
        let url = std::env::var("TXKIT_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned());
        let answer = rt.block_on(async {
            let connect = tokio_postgres::connect(&url, tokio_postgres::NoTls);
            tokio::time::timeout(Duration::from_secs(3), connect).await
        });
        match answer {
            Ok(Ok(_)) => out.push(Server::Postgres(url)),
            Ok(Err(e)) => println!("transfer: PostgreSQL skipped (TXKIT_POSTGRES_URL): {e}"),
            Err(_) => println!("transfer: PostgreSQL skipped: no answer within 3 s"),
        }
    }
    if wants("mariadb") {
        let url = std::env::var("TXKIT_MYSQL_URL").unwrap_or_else(|_| DEFAULT_MYSQL.to_owned());
        let answer = rt.block_on(async {
            let opts = mysql_async::Opts::from_url(&url).map_err(|e| e.to_string())?;
            match tokio::time::timeout(Duration::from_secs(3), mysql_async::Conn::new(opts)).await {
                Ok(Ok(conn)) => conn.disconnect().await.map_err(|e| e.to_string()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer within 3 s".to_owned()),
            }
        });
        match answer {
            Ok(()) => out.push(Server::Mysql(url)),
            Err(e) => println!("transfer: MariaDB skipped (TXKIT_MYSQL_URL): {e}"),
        }
    }
    if wants("sqlite") {
        let path = std::env::temp_dir().join("txkit-bench-transfer.sqlite3");
        out.push(Server::Sqlite(path));
    }
    out
}

/// Each sizing the cells need (ascending), with the indices of its cells.
fn by_sizing(cells: &[Cell]) -> BTreeMap<Sizing, Vec<usize>> {
    let mut out: BTreeMap<Sizing, Vec<usize>> = BTreeMap::new();
    for (i, cell) in cells.iter().enumerate() {
        out.entry(cell.sizing()).or_default().push(i);
    }
    out
}

async fn close_all(contenders: &[Arc<dyn Contender>]) {
    for c in contenders {
        c.close().await;
    }
}

/// Ratio table (or smoke run) for one server.
fn table(rt: &Runtime, server: &Server, mode: Mode, rounds: usize) {
    let backend = server.backend();
    let smoke = mode == Mode::Smoke;
    let rts = round_trips::count(server);
    if smoke {
        round_trips::check(backend, &rts);
    }
    let checker = rt
        .block_on(txkit::Engine::connect(&server.txkit_url()))
        .expect("engine");
    let cells = cells::cells(backend);
    println!(
        "\n{} ({} round{} per cell{})\n",
        backend.name(),
        rounds,
        if rounds == 1 { "" } else { "s" },
        if smoke {
            ", smoke: invariants checked after every batch"
        } else {
            ""
        }
    );
    report::header();
    // Only one sizing's pools are open at a time: the servers are shared.
    let mut results = BTreeMap::new();
    for (sizing, indices) in by_sizing(&cells) {
        let make = || -> workload::BoxFut<'_, Vec<Arc<dyn Contender>>> {
            Box::pin(contenders::all(server, sizing, None))
        };
        for i in indices {
            let cell = cells[i];
            let measured = rt.block_on(cells::run(
                &make,
                cell,
                rounds,
                cell.per_task(smoke),
                smoke.then_some((&checker, backend)),
            ));
            results.insert(i, measured);
        }
    }
    let lines: Vec<String> = results
        .iter()
        .map(|(i, measured)| {
            let cell = cells[*i];
            report::cell(backend, cell, measured, &rts, cell.per_task(smoke))
        })
        .collect();
    println!();
    for line in lines {
        println!("{line}");
    }
    rt.block_on(schema::check(&checker, backend));
    if let Server::Sqlite(_) = server
        && cells::wanted("sqlite writers")
    {
        let per_task = if smoke { 5 } else { 200 };
        let outcomes = rt.block_on(sqlite_writers::run(&server.txkit_url(), per_task, rounds));
        sqlite_writers::print(&outcomes, per_task);
    }
    rt.block_on(checker.close());
}

fn criterion(rt: &Runtime, servers: &[Server]) {
    let mut c = Criterion::default().configure_from_args();
    for server in servers {
        let backend = server.backend();
        let cells = cells::cells(backend);
        let mut group = c.benchmark_group(backend.name());
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for cell in cells {
            let contenders = rt.block_on(contenders::all(server, cell.sizing(), None));
            for contender in &contenders {
                if !contender.runs(cell.plan.work) {
                    continue;
                }
                let ws = rt.block_on(workers(contender.as_ref(), cell.tasks));
                let ws = Arc::new(tokio::sync::Mutex::new(Some(ws)));
                let per_task = cell.per_task(false);
                let id = BenchmarkId::new(
                    format!("{} {}", cell.plan.work.name(), cell.contention()),
                    format!(
                        "tasks{}conns{}/{}",
                        cell.tasks,
                        cell.connections,
                        contender.name()
                    ),
                );
                group.bench_function(id, |b| {
                    b.to_async(rt).iter_custom(|iters| {
                        let ws = ws.clone();
                        async move {
                            let mut slot = ws.lock().await;
                            let mut w = slot.take().expect("workers");
                            let start = Instant::now();
                            for i in 0..iters {
                                w = batch(w, cell.plan, per_task, i).await.0;
                            }
                            let elapsed = start.elapsed();
                            *slot = Some(w);
                            elapsed
                        }
                    });
                });
            }
            rt.block_on(close_all(&contenders));
        }
        group.finish();
    }
    c.final_summary();
}

fn main() {
    let mode = if std::env::var_os("TXKIT_BENCH_SMOKE").is_some() {
        Mode::Smoke
    } else if std::env::var_os("TXKIT_BENCH_RATIOS").is_some() {
        Mode::Ratios
    } else {
        Mode::Criterion
    };
    let rt = runtime();
    let servers = servers(&rt);
    for server in &servers {
        let engine = rt
            .block_on(txkit::Engine::connect(&server.txkit_url()))
            .expect("engine");
        rt.block_on(schema::prepare(&engine, server.backend()));
        rt.block_on(engine.close());
    }
    match mode {
        Mode::Criterion => criterion(&rt, &servers),
        Mode::Ratios | Mode::Smoke => {
            let rounds = match mode {
                Mode::Smoke => 1,
                _ => std::env::var("TXKIT_BENCH_ROUNDS")
                    .ok()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(7)
                    .max(5),
            };
            for server in &servers {
                table(&rt, server, mode, rounds);
            }
        }
    }
}
