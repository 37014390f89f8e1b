//! A link cut around COMMIT is reported as `CommitOutcomeUnknown`, is never retried, and the
//! ledger shows what really happened.
//!
//! The engine reaches the server through the fault proxy (`proxy.rs`). Each run writes one
//! ledger row with a fresh id in a transaction, arms the proxy and commits; the proxy cuts
//! both directions at one of three points: before the last byte of COMMIT (the server
//! cannot have committed), right after COMMIT (a race the server decides), or after the
//! server's answer to COMMIT (it committed). Every run must fail with
//! `CommitOutcomeUnknown` after exactly one attempt — half the runs go through
//! `txkit::retry` with a policy that asks for retries on lost connections and unknown
//! outcomes, half through `#[retry_on_deadlock]` — and, once the server session is gone,
//! the ledger row must be absent for the first cut, present for the third, and either for
//! the second; the counts are reported. PostgreSQL and MariaDB (SQLite has no network).

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use txkit::{Engine, ErrorKind, RetryPolicy, params, retry, retry_on_deadlock};

use super::proxy::{Cut, Proxy, Wire};
use super::{backend_name, long, through};
use crate::common::{Kind, TestDb, host_port, unique};

/// One run's unit of work and what it saw.
struct Unit<'a> {
    proxy: &'a Proxy,
    kind: Kind,
    table: &'a str,
    id: i64,
    cut: Cut,
    attempts: AtomicU32,
    session: AtomicI64,
    host: Mutex<String>,
}

impl Unit<'_> {
    /// BEGIN, note the server session, write the ledger row, arm the proxy, COMMIT.
    async fn run(&self, engine: &Engine) -> txkit::Result<()> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let mut tx = engine.begin().await?;
        let who = match self.kind {
            Kind::MySql => {
                "SELECT CONNECTION_ID() AS id, (SELECT host FROM information_schema.processlist \
                 WHERE id = CONNECTION_ID()) AS host"
            }
            _ => "SELECT pg_backend_pid()::int8 AS id, 'tcp:' || inet_client_addr()::text AS host",
        };
        let row = tx.query_one(who, &[]).await?;
        self.session.store(row.get("id")?, Ordering::SeqCst);
        *self.host.lock().unwrap() = row.get("host")?;
        tx.execute(
            &format!("INSERT INTO {} (id, note) VALUES (?, ?)", self.table),
            &params![self.id, self.cut.name()],
        )
        .await?;
        self.proxy.arm(self.cut);
        tx.commit().await
    }
}

#[retry_on_deadlock(max_attempts = 5, base_delay_ms = 1)]
async fn run_with_attribute(engine: &Engine, unit: &Unit<'_>) -> txkit::Result<()> {
    unit.run(engine).await
}

/// Waits (bounded) until server session `id` has ended, so its fate is settled.
async fn wait_session_gone(kind: Kind, checker: &Engine, id: i64) {
    let sql = match kind {
        Kind::MySql => "SELECT count(*) AS n FROM information_schema.processlist WHERE id = ?",
        _ => "SELECT count(*) AS n FROM pg_stat_activity WHERE pid::int8 = ?",
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = checker.query(sql, &params![id]).await.unwrap()[0]
            .get("n")
            .unwrap();
        if n == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server session {id} still there 10 s after its link was cut"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Default)]
struct Tally {
    runs: u32,
    unknown: u32,
    committed: u32,
    rolled_back: u32,
    max_attempts: u32,
    max_ms: u128,
}

async fn commit_outcome(kind: Kind) {
    let (Some(db), Some(check_db)) = (TestDb::new(kind), TestDb::new(kind)) else {
        return;
    };
    let checker = check_db.engine().await;
    let wire = match kind {
        Kind::MySql => Wire::MySql,
        _ => Wire::Postgres,
    };
    let proxy = Proxy::start(host_port(&db.url), wire).await;
    let engine = Engine::builder(&through(&db.url, proxy.addr()))
        .pool_size(1)
        .build()
        .await
        .unwrap();
    let table = unique("ledger");
    checker
        .execute(
            &format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, note VARCHAR(40))"),
            &[],
        )
        .await
        .unwrap();
    let policy = RetryPolicy::new()
        .max_attempts(5)
        .base_delay(Duration::from_millis(1))
        .retry_on(ErrorKind::ConnectionLost)
        .retry_on(ErrorKind::CommitOutcomeUnknown);
    let racy = if long() { 200 } else { 20 };
    let sure = if long() { 20 } else { 4 };
    let mut next_id = 0i64;
    for (cut, runs) in [
        (Cut::BeforeCommitEnds, sure),
        (Cut::AfterCommit, racy),
        (Cut::AfterAnswer, sure),
    ] {
        let mut tally = Tally::default();
        for i in 0..runs {
            next_id += 1;
            let unit = Unit {
                proxy: &proxy,
                kind,
                table: &table,
                id: next_id,
                cut,
                attempts: AtomicU32::new(0),
                session: AtomicI64::new(0),
                host: Mutex::new(String::new()),
            };
            let started = Instant::now();
            let work = async {
                if i % 2 == 0 {
                    retry(&policy, || unit.run(&engine)).await
                } else {
                    run_with_attribute(&engine, &unit).await
                }
            };
            let result = tokio::time::timeout(Duration::from_secs(20), work)
                .await
                .unwrap_or_else(|_| panic!("{cut:?} run {i}: commit hung for 20 s"));
            tally.max_ms = tally.max_ms.max(started.elapsed().as_millis());
            let host = unit.host.lock().unwrap().clone();
            assert!(
                host.contains(':'),
                "the session did not come through the TCP proxy (host {host:?})"
            );
            assert!(
                !proxy.disarm(),
                "{cut:?} run {i}: the COMMIT never reached the proxy"
            );
            let e = result.expect_err("a cut commit reported success");
            assert_eq!(
                e.kind(),
                ErrorKind::CommitOutcomeUnknown,
                "{cut:?} run {i}: {e}"
            );
            tally.unknown += 1;
            let attempts = unit.attempts.load(Ordering::SeqCst);
            assert_eq!(
                attempts, 1,
                "{cut:?} run {i}: an unknown outcome was retried"
            );
            tally.max_attempts = tally.max_attempts.max(attempts);
            wait_session_gone(kind, &checker, unit.session.load(Ordering::SeqCst)).await;
            let found: i64 = checker
                .query(
                    &format!("SELECT count(*) AS n FROM {table} WHERE id = ?"),
                    &params![next_id],
                )
                .await
                .unwrap()[0]
                .get("n")
                .unwrap();
            match (cut, found) {
                (_, 1) => tally.committed += 1,
                (_, 0) => tally.rolled_back += 1,
                (_, n) => panic!("ledger id {next_id} found {n} times"),
            }
            tally.runs += 1;
        }
        match cut {
            Cut::BeforeCommitEnds => assert_eq!(
                tally.committed, 0,
                "a COMMIT the server never fully received committed"
            ),
            Cut::AfterAnswer => assert_eq!(
                tally.rolled_back, 0,
                "the server answered COMMIT, yet the row is missing"
            ),
            Cut::AfterCommit => {}
        }
        println!(
            "RELIABILITY commit-outcome {} cut={} runs={} unknown={} committed={} \
             rolled_back={} attempts_max={} retried=0 max_ms={}",
            backend_name(&db),
            cut.name(),
            tally.runs,
            tally.unknown,
            tally.committed,
            tally.rolled_back,
            tally.max_attempts,
            tally.max_ms
        );
    }
    assert_eq!(
        u64::try_from(next_id).unwrap(),
        proxy.cuts(),
        "every run was cut exactly once"
    );
    engine.close().await;
    checker
        .execute(&format!("DROP TABLE {table}"), &[])
        .await
        .unwrap();
    checker.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_outcome_postgres() {
    commit_outcome(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_outcome_mysql() {
    commit_outcome(Kind::MySql).await;
}
