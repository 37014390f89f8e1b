//! The cells of the bench (backend × work × contention × tasks), and running one cell:
//! every contender's batches in rotating order, on connections opened afresh for each
//! round, optionally checking the invariants after each batch.

use std::sync::Arc;
use std::time::Duration;

use txkit::Engine;

use crate::flush;
use crate::schema::{self, ACCOUNTS, Backend, HOT_ACCOUNTS};
use crate::workload::{BATCH_ROWS, BoxFut, Contender, Plan, Sizing, Work, batch, workers};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Cell {
    pub(crate) plan: Plan,
    pub(crate) tasks: usize,
    /// Connections every contender puts its tasks over: its pool's size, or the raw
    /// driver's dedicated connections shared through [`crate::shared::Shared`] when fewer
    /// than the tasks.
    pub(crate) connections: usize,
}

impl Cell {
    /// `tasks` tasks, each with a connection of its own.
    fn new(plan: Plan, tasks: usize) -> Self {
        Self {
            plan,
            tasks,
            connections: tasks,
        }
    }

    pub(crate) fn sizing(&self) -> Sizing {
        Sizing {
            tasks: self.tasks,
            connections: self.connections,
        }
    }

    pub(crate) fn contention(&self) -> &'static str {
        if self.plan.accounts == HOT_ACCOUNTS {
            "contended"
        } else {
            "uncontended"
        }
    }

    pub(crate) fn label(&self, backend: Backend) -> String {
        match self.plan.work {
            Work::Transfer => format!(
                "{} {} {} tasks={}{}",
                backend.name(),
                self.plan.work.name(),
                self.contention(),
                self.tasks,
                self.shared_label()
            ),
            w => format!(
                "{} {} tasks={}{}",
                backend.name(),
                w.name(),
                self.tasks,
                self.shared_label()
            ),
        }
    }

    /// ` connections=N` when the tasks share fewer connections than they are.
    fn shared_label(&self) -> String {
        if self.connections < self.tasks {
            format!(" connections={}", self.connections)
        } else {
            String::new()
        }
    }

    /// Ops per task in one batch (smoke: a handful).
    pub(crate) fn per_task(&self, smoke: bool) -> usize {
        match (self.plan.work, smoke) {
            (Work::InsertBatch, true) => 1,
            (Work::Flush, true) => 2,
            (_, true) => 3,
            (Work::Transfer, false) => 50,
            // Hand-written code locking in a random order waits out PostgreSQL's 1 s
            // deadlock_timeout now and then: fewer transfers keep a batch short.
            (Work::RandomOrder, false) => 10,
            (Work::InsertBatch, false) => 5,
            (Work::Flush, false) => 50,
            (Work::PointRead | Work::Select1, false) => 200,
        }
    }
}

/// Every cell on `backend`: transfers uncontended and contended at 1 and 8 tasks (and 16
/// for PostgreSQL's hot rows), the other work uncontended at 1 and 8, the flush at 1 and
/// [`flush::MAX_TASKS`] tasks (each on rows of its own). With
/// `TXKIT_BENCH_CELLS` (comma-separated), only the cells whose label contains one of its
/// parts (e.g. `transfer contended tasks=16`).
pub(crate) fn cells(backend: Backend) -> Vec<Cell> {
    let mut out = every_cell(backend);
    out.retain(|c| wanted(&c.label(backend)));
    out
}

/// Whether `TXKIT_BENCH_CELLS` (when set) asks for `label`: a part of it is in the label.
/// SQLite's writers run is labelled `sqlite writers`.
pub(crate) fn wanted(label: &str) -> bool {
    std::env::var("TXKIT_BENCH_CELLS").map_or(true, |wanted| {
        wanted.split(',').any(|w| label.contains(w.trim()))
    })
}

fn every_cell(backend: Backend) -> Vec<Cell> {
    let mut out = Vec::new();
    for accounts in [ACCOUNTS, HOT_ACCOUNTS] {
        let plan = Plan {
            work: Work::Transfer,
            accounts,
        };
        out.push(Cell::new(plan, 1));
        out.push(Cell::new(plan, 8));
        if backend == Backend::Postgres && accounts == HOT_ACCOUNTS {
            out.push(Cell::new(plan, 16));
            // The same 16 tasks over 8 connections, for every contender alike: on hot
            // rows fewer transactions at the server wait less on each other's locks.
            out.push(Cell {
                connections: 8,
                ..Cell::new(plan, 16)
            });
        }
    }
    if backend != Backend::Sqlite {
        // Locks asked for in a random order, 16 tasks on the hot rows (SQLite has no row
        // locks to order).
        let plan = Plan {
            work: Work::RandomOrder,
            accounts: HOT_ACCOUNTS,
        };
        out.push(Cell::new(plan, 16));
    }
    for work in [Work::PointRead, Work::InsertBatch, Work::Select1] {
        for tasks in [1, 8] {
            let plan = Plan {
                work,
                accounts: ACCOUNTS,
            };
            out.push(Cell::new(plan, tasks));
        }
    }
    let plan = Plan {
        work: Work::Flush,
        accounts: flush::TABLE_ROWS,
    };
    out.push(Cell::new(plan, 1));
    out.push(Cell::new(plan, flush::MAX_TASKS));
    out
}

/// One contender's measurements in a cell.
pub(crate) struct Measured {
    pub(crate) name: &'static str,
    /// Batch times, fastest first.
    pub(crate) batches: Vec<Duration>,
    /// The same batch times in round order, to pair each with the other contenders' batches
    /// of the same round.
    pub(crate) by_round: Vec<Duration>,
    pub(crate) latencies: Vec<Duration>,
}

/// Makes every contender of a backend, with new pools and no connection shared with an
/// earlier set.
pub(crate) type MakeContenders<'a> = dyn Fn() -> BoxFut<'a, Vec<Arc<dyn Contender>>> + Sync + 'a;

/// Runs `rounds` rounds (after one warm-up round) of one batch per contender, in an order
/// that rotates every round. With `check`, the invariants are checked after every batch:
/// no cent created or lost, exactly the expected ledger and item rows added, and in the
/// flush cells every row's balance and version exactly as expected (`flush::check`).
///
/// Each round makes the contenders afresh (`make`): new pools and new connections, warmed
/// by a short untimed batch. On a small VM the same connection stays faster or slower than
/// another by up to a third for as long as it lives (where the scheduler keeps its server
/// process against the client's threads: two identical tokio-postgres connections measured
/// 0.71–1.04× each other's `SELECT 1` time in one run), so connections kept for a whole run
/// would hand one contender a lucky or unlucky draw for every round.
pub(crate) async fn run(
    make: &MakeContenders<'_>,
    cell: Cell,
    rounds: usize,
    per_task: usize,
    check: Option<(&Engine, Backend)>,
) -> Vec<Measured> {
    let mut out: Vec<Measured> = Vec::new();
    let ops = (cell.tasks * per_task) as i64;
    let warm_up = (per_task / 4).max(1);
    for round in 0..=rounds {
        let contenders = make().await;
        let playing: Vec<&Arc<dyn Contender>> = contenders
            .iter()
            .filter(|c| c.runs(cell.plan.work))
            .collect();
        if out.is_empty() {
            out = playing
                .iter()
                .map(|c| Measured {
                    name: c.name(),
                    batches: Vec::new(),
                    by_round: Vec::new(),
                    latencies: Vec::new(),
                })
                .collect();
        }
        let mut pools = Vec::new();
        for c in &playing {
            let ws = workers(c.as_ref(), cell.tasks).await;
            let seed = (round * 1000 + pools.len()) as u64;
            pools.push(Some(batch(ws, cell.plan, warm_up, seed).await.0));
        }
        let n = playing.len();
        for k in 0..n {
            let which = (round + k) % n;
            let before = match check {
                Some((engine, backend)) => Some(schema::check(engine, backend).await),
                None => None,
            };
            let rows_before = match (check, cell.plan.work) {
                (Some((engine, _)), Work::Flush) => Some(flush::snapshot(engine).await),
                _ => None,
            };
            let ws = pools[which].take().expect("workers");
            let seed = (round * n + k) as u64;
            let (ws, measured) = batch(ws, cell.plan, per_task, seed).await;
            pools[which] = Some(ws);
            if let (Some((engine, backend)), Some(before)) = (check, before) {
                let after = schema::check(engine, backend).await;
                let (ledger, items) = match cell.plan.work {
                    Work::Transfer | Work::RandomOrder => (ops, 0),
                    Work::InsertBatch => (0, ops * BATCH_ROWS),
                    _ => (0, 0),
                };
                assert_eq!(
                    (after.ledger - before.ledger, after.items - before.items),
                    (ledger, items),
                    "{}: {} wrote the wrong number of rows",
                    cell.label(backend),
                    playing[which].name()
                );
            }
            if let (Some((engine, backend)), Some(rows_before)) = (check, rows_before) {
                let who = format!("{}: {}", cell.label(backend), playing[which].name());
                let rows_after = flush::snapshot(engine).await;
                flush::check(&who, &rows_before, &rows_after, cell.tasks, per_task as i64);
            }
            if round > 0 {
                out[which].batches.push(measured.elapsed);
                out[which].by_round.push(measured.elapsed);
                out[which].latencies.extend(measured.latencies);
            }
        }
        drop(pools);
        for c in &contenders {
            c.close().await;
        }
    }
    for m in &mut out {
        m.batches.sort_unstable();
        m.latencies.sort_unstable();
    }
    out
}
