//! Round trips per operation for each contender on PostgreSQL and MariaDB, counted by the
//! proxy (`proxy.rs`) on a current-thread runtime of their own, one contender at a time on
//! one connection, after two warm-up operations (so statement caches are filled).

use std::collections::HashMap;

use txkit_bank::Rng;

use crate::cells::cells;
use crate::contenders::{self, Server};
use crate::proxy::{Proxy, through};
use crate::schema::Backend;
use crate::workload::{Sizing, Work};

/// Operations counted per contender and work, after the warm-up.
const COUNTED: u64 = 4;

/// (contender, work) → round trips per operation.
pub(crate) type RoundTrips = HashMap<(&'static str, &'static str), f64>;

pub(crate) fn count(server: &Server) -> RoundTrips {
    let url = match server {
        Server::Postgres(url) | Server::Mysql(url) => url.clone(),
        Server::Sqlite(_) => return RoundTrips::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime");
    rt.block_on(async {
        let proxy = Proxy::start(through(&url, "").1).await;
        let one = Sizing {
            tasks: 1,
            connections: 1,
        };
        let all = contenders::all(server, one, Some(&proxy)).await;
        let mut works: Vec<Work> = Vec::new();
        for cell in cells(server.backend()) {
            if !works.contains(&cell.plan.work) {
                works.push(cell.plan.work);
            }
        }
        let mut out = RoundTrips::new();
        for c in &all {
            let mut worker = c.worker().await;
            for &work in &works {
                if !c.runs(work) {
                    continue;
                }
                let plan = cells(server.backend())
                    .into_iter()
                    .find(|cell| cell.plan.work == work)
                    .expect("a cell")
                    .plan;
                let mut rng = Rng::new(7, 0);
                for n in 0..2 {
                    worker.run(plan.op(&mut rng, 0, n)).await;
                }
                let t0 = proxy.turns();
                for n in 0..COUNTED {
                    worker.run(plan.op(&mut rng, 0, n as i64)).await;
                }
                let turns = proxy.turns() - t0;
                out.insert((c.name(), work.name()), turns as f64 / COUNTED as f64);
            }
        }
        out
    })
}

/// Asserts the round trips the bench's documentation promises for a transfer, an INSERT
/// batch of 100 rows and a flush of 100 changed rows.
pub(crate) fn check(backend: Backend, counted: &RoundTrips) {
    let expected: &[(&str, &str, f64)] = match backend {
        Backend::Postgres => &[
            ("txkit", "transfer", 6.0),
            ("txkit-pipelined", "transfer", 2.0),
            ("tokio-postgres", "transfer", 6.0),
            // BEGIN, the 100 runs in one write, COMMIT.
            ("txkit", "insert_batch", 3.0),
            ("txkit-loop", "insert_batch", 102.0),
            ("txkit-pipelined", "insert_batch", 2.0),
            // driver=txkit: the same counts; its pipelines end with one Sync each.
            ("txkit-wire", "transfer", 6.0),
            ("txkit-wire-pipelined", "transfer", 2.0),
            ("txkit-wire", "insert_batch", 3.0),
            ("txkit-wire-pipelined", "insert_batch", 2.0),
            // The flush: BEGIN riding with the SELECT, one UPDATE of the 100 rows, COMMIT;
            // by hand BEGIN, SELECT, 100 UPDATEs, COMMIT; pipelined by hand the
            // UPDATEs in one write.
            ("txkit", "flush", 3.0),
            ("txkit-default", "flush", 3.0),
            ("tokio-postgres", "flush", 103.0),
            ("tokio-postgres-pipelined", "flush", 4.0),
        ],
        Backend::Mysql => &[
            ("txkit", "transfer", 6.0),
            ("txkit", "insert_batch", 102.0),
            ("txkit-loop", "insert_batch", 102.0),
            // txkit: START TRANSACTION, SELECT, one UPDATE of the 100 rows, COMMIT; by
            // hand one run of the prepared UPDATE per row.
            ("txkit", "flush", 4.0),
            ("txkit-default", "flush", 4.0),
            ("mysql_async", "flush", 103.0),
        ],
        Backend::Sqlite => &[],
    };
    for &(name, work, rt) in expected {
        if !counted.keys().any(|&(_, w)| w == work) {
            continue; // TXKIT_BENCH_CELLS left this work out
        }
        if !counted.keys().any(|&(n, _)| n == name) {
            continue; // TXKIT_BENCH_CONTENDERS left this contender out
        }
        let got = counted.get(&(name, work)).copied();
        assert_eq!(
            got,
            Some(rt),
            "{} {name}: round trips per {work}",
            backend.name()
        );
    }
    for ((name, work), rt) in counted {
        assert!(
            *rt >= 1.0,
            "{} {name} {work}: {rt} round trips",
            backend.name()
        );
    }
}
