//! The fault injector of the bank test: every 2 s it kills one server session of the test
//! (PostgreSQL `pg_terminate_backend`, MariaDB `KILL CONNECTION`) from a separate engine,
//! then measures how long until some transfer commits, and how long until the worker whose
//! session died finishes an operation again.
//!
//! The test's sessions are found on PostgreSQL by the `application_name` the harness gives
//! them (the killer's own engine uses another name); on MariaDB by the ids the workers
//! report (`CONNECTION_ID()`, read in the same statement that locks the first row), filtered
//! through the process list so only live ones are picked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use txkit::{Engine, params};
use txkit_bank::Rng;

use super::bank_sessions::Sessions;
use crate::common::{Kind, TestDb};

/// Time between two kills.
pub(crate) const KILL_EVERY: Duration = Duration::from_secs(2);
/// No kill this close to the end of the run: its recovery would not be measurable.
const QUIET_END: Duration = Duration::from_millis(1_500);
/// How long a commit after a kill may take before the test fails.
pub(crate) const MAX_GAP: Duration = Duration::from_secs(1);
/// How long the measurements wait before giving up (a hang).
const GIVE_UP: Duration = Duration::from_secs(10);

/// What the workers publish for the injector to watch.
#[derive(Debug)]
pub(crate) struct Signals {
    /// Transfers committed so far (bumped on each acknowledged commit).
    pub(crate) commits: watch::Sender<u64>,
    /// Per worker, operations finished so far.
    pub(crate) finished: Vec<watch::Sender<u64>>,
    pub(crate) sessions: Sessions,
}

impl Signals {
    pub(crate) fn new(workers: usize) -> Signals {
        Signals {
            commits: watch::Sender::new(0),
            finished: (0..workers).map(|_| watch::Sender::new(0)).collect(),
            sessions: Sessions::default(),
        }
    }
}

/// What the injector did and measured.
#[derive(Debug, Default)]
pub(crate) struct KillReport {
    pub(crate) kills: u64,
    /// Kills that found no session to kill, or whose statement failed.
    pub(crate) missed: u64,
    /// The longest wait from a kill to the next acknowledged commit.
    pub(crate) max_gap: Duration,
    /// The longest wait from a kill to the victim worker's next finished operation.
    pub(crate) max_victim: Duration,
    /// Kills after which no commit came within [`MAX_GAP`] (or at all), with the wait.
    pub(crate) late: Vec<String>,
}

/// An engine for the injector and the checks, on the same server but outside the test's
/// sessions (another `application_name` on PostgreSQL).
pub(crate) async fn side_engine(db: &TestDb) -> Engine {
    let url = db.url.replace(
        &format!("application_name={}", db.app),
        &format!("application_name={}_side", db.app),
    );
    Engine::builder(&url)
        .pool_size(2)
        .pool_pre_ping(Duration::ZERO)
        .build()
        .await
        .expect("side engine")
}

/// Kills a session of the test every [`KILL_EVERY`] until `end` (less a quiet tail).
pub(crate) async fn inject(
    db: &TestDb,
    side: &Engine,
    signals: Arc<Signals>,
    end: Instant,
    seed: u64,
) -> KillReport {
    let mut rng = Rng::new(seed, 0xFA17);
    let mut report = KillReport::default();
    let mut ticks = tokio::time::interval_at((Instant::now() + KILL_EVERY).into(), KILL_EVERY);
    let mut measures = Vec::new();
    loop {
        let tick = ticks.tick().await.into_std();
        if tick + QUIET_END >= end {
            break;
        }
        let live = live_sessions(db, side, &signals.sessions).await;
        if live.is_empty() {
            report.missed += 1;
            continue;
        }
        let victim = live[usize::try_from(rng.below(live.len() as u64)).unwrap()];
        let sql = match db.kind {
            Kind::Postgres => format!("SELECT pg_terminate_backend({victim}) AS ok"),
            _ => format!("KILL CONNECTION {victim}"),
        };
        // Subscribed before the kill, marked seen once it returned: the waits below count
        // only what happens after the kill, from the moment it returned.
        let mut any = signals.commits.subscribe();
        let worker = signals.sessions.worker_of(victim);
        let mut own = worker.map(|w| signals.finished[w].subscribe());
        if let Err(e) = side.execute(&sql, &[]).await {
            println!("bank faults: killing session {victim} failed: {e}");
            report.missed += 1;
            continue;
        }
        let killed = Instant::now();
        any.mark_unchanged();
        if let Some(own) = own.as_mut() {
            own.mark_unchanged();
        }
        report.kills += 1;
        measures.push(tokio::spawn(async move {
            let gap = tokio::time::timeout(GIVE_UP, any.changed())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|()| killed.elapsed());
            let victim_wait = match own.as_mut() {
                Some(own) => tokio::time::timeout(GIVE_UP, own.changed())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(|()| killed.elapsed()),
                None => Some(Duration::ZERO),
            };
            (victim, gap, victim_wait)
        }));
    }
    for m in measures {
        let (victim, gap, victim_wait) = m.await.expect("measurement task");
        match gap {
            Some(gap) => {
                report.max_gap = report.max_gap.max(gap);
                if gap > MAX_GAP {
                    report
                        .late
                        .push(format!("after killing {victim}: next commit in {gap:?}"));
                }
            }
            None => report.late.push(format!(
                "after killing {victim}: no commit within {GIVE_UP:?}"
            )),
        }
        match victim_wait {
            Some(wait) => report.max_victim = report.max_victim.max(wait),
            None => report.late.push(format!(
                "after killing {victim}: its worker finished nothing within {GIVE_UP:?}"
            )),
        }
    }
    report
}

/// The server ids of the test's live sessions.
async fn live_sessions(db: &TestDb, side: &Engine, sessions: &Sessions) -> Vec<i64> {
    let rows = match db.kind {
        Kind::Postgres => side
            .query(
                "SELECT CAST(pid AS BIGINT) AS id FROM pg_stat_activity WHERE application_name = ?",
                &params![db.app.clone()],
            )
            .await
            .expect("pg_stat_activity"),
        Kind::MySql => {
            let Some(list) = sessions.id_list() else {
                return Vec::new();
            };
            side.query(
                &format!(
                    "SELECT CAST(ID AS SIGNED) AS id FROM information_schema.PROCESSLIST \
                     WHERE ID IN ({list})"
                ),
                &[],
            )
            .await
            .expect("processlist")
        }
        Kind::Sqlite => return Vec::new(),
    };
    rows.iter().map(|r| r.get("id").unwrap()).collect()
}
