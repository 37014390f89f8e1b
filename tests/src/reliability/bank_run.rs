//! Runs one cell of the bank test: creates the bank, runs the workers (with the fault
//! injector beside them when asked), checks that no session is left in a transaction,
//! judges the final state, prints the cell's `RELIABILITY` line, then asserts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use txkit::IsolationLevel;
use txkit::pool::CloseReason;

use super::bank_check::verify;
use super::bank_faults::{KillReport, MAX_GAP, inject, side_engine};
use super::bank_schema::Bank;
use super::bank_sessions::{dirty_pooled, open_transactions};
use super::bank_transfer::{Locking, Plan};
use super::bank_workload::{Settings, Shared, run};
use crate::common::{Kind, TestDb};

/// Runs the cell `label` (isolation, locking) on `kind`, with faults if `faults`; skips
/// (printing why) when `kind`'s server is not configured.
pub(crate) async fn cell(
    kind: Kind,
    label: &'static str,
    isolation: Option<IsolationLevel>,
    locking: Locking,
    faults: bool,
) {
    let Some(db) = TestDb::new(kind) else {
        return;
    };
    cell_on(db, label, isolation, locking, faults).await;
}

/// [`cell`] on a given database (e.g. SQLite with inline execution).
pub(crate) async fn cell_on(
    mut db: TestDb,
    label: &'static str,
    isolation: Option<IsolationLevel>,
    locking: Locking,
    faults: bool,
) {
    let kind = db.kind;
    if kind == Kind::Postgres && locking == Locking::RandomOrder {
        // PostgreSQL looks for a deadlock only after `deadlock_timeout` (1 s by default),
        // which would make this cell measure that wait rather than the retries; InnoDB
        // detects deadlocks at once. The test's sessions use 100 ms.
        db.url.push_str("&options=-c%20deadlock_timeout%3D100ms");
    }
    let plan = Plan {
        isolation,
        locking,
        // MariaDB shows a snapshot read the half-rolled-back writes of a session that was
        // killed mid-transaction (reproduced with mysql_async alone: docs/reliability.md);
        // under kills its cell reads with shared locks, which wait for that rollback.
        shared_read: faults && kind == Kind::MySql,
    };
    let settings = Settings::from_env();
    let mut builder = db
        .builder()
        .pool_size(settings.workers)
        .max_overflow(0)
        .pool_timeout(Duration::from_secs(20));
    if faults {
        // Every checkout pings, so a pooled connection killed while idle is replaced.
        builder = builder.pool_pre_ping(Duration::ZERO);
    }
    let engine = builder.build().await.expect("engine");
    let bank = Bank::create(&db, engine.clone()).await;
    let side = side_engine(&db).await;
    let shared = Arc::new(Shared::new(bank.clone(), plan, settings));

    let started = Instant::now();
    let workers = run(Arc::clone(&shared), settings.workers);
    let (record, kills) = if faults {
        tokio::join!(
            workers,
            inject(
                &db,
                &side,
                Arc::clone(&shared.signals),
                shared.deadline,
                settings.seed
            )
        )
    } else {
        (workers.await, KillReport::default())
    };
    let secs = started.elapsed().as_secs_f64();
    let (open_first, open_last) = open_transactions(&db, &side, &shared.signals.sessions).await;
    let dirty = dirty_pooled(kind, &engine, settings.workers).await;
    let verdict = verify(&bank, &record).await;

    let retries = &shared.retries;
    let stats = engine.stats();
    let load = std::sync::atomic::Ordering::Relaxed;
    let backend = match kind {
        Kind::Postgres => "postgres",
        Kind::MySql => "mysql",
        Kind::Sqlite => "sqlite",
    };
    let mut line = format!(
        "RELIABILITY {} {backend} {label} workers={} secs={secs:.1} seed={} commits={} \
         refused={} gave_up={} reads={} bad_reads={} deadlocks={} serialization_failures={} \
         lock_timeouts={} unknown={} lost={} duplicated={} phantom={} mismatched={} \
         negative={} total={} idle_in_tx={open_first}/{open_last} dirty_pooled={dirty} max_op_ms={} \
         read={}",
        if faults { "bank-faults" } else { "bank" },
        settings.workers,
        settings.seed,
        record.committed.len(),
        record.refused.len(),
        record.gave_up.len(),
        record.reads,
        record.bad_reads.len(),
        retries.deadlock.load(load),
        retries.serialization.load(load),
        retries.lock_timeout.load(load),
        record.unknown.len(),
        verdict.lost,
        verdict.duplicated,
        verdict.phantom,
        verdict.invariants.balances_not_matching_ledger,
        verdict.invariants.negative_balances,
        verdict.invariants.total_after,
        record.max_op.as_millis(),
        if plan.shared_read {
            "shared"
        } else {
            "snapshot"
        },
    );
    if faults {
        line.push_str(&format!(
            " kills={} missed_kills={} connection_lost={} commit_unknown={} found_by_lookup={} \
             unknown_committed={} unknown_absent={} read_failures={} pre_ping_replaced={} \
             broken_closed={} max_gap_ms={} max_victim_ms={}",
            kills.kills,
            kills.missed,
            record.lost_connection,
            record.commit_unknown,
            record.found_by_lookup,
            verdict.unknown_committed,
            verdict.unknown_absent,
            record.read_failures,
            stats.closed_for(CloseReason::PrePingFailed),
            stats.closed_for(CloseReason::Broken),
            kills.max_gap.as_millis(),
            kills.max_victim.as_millis(),
        ));
    }
    println!("{line}");

    assert!(record.errors.is_empty(), "{:#?}", record.errors);
    assert!(
        verdict.clean(),
        "ledger rows {}, acknowledged {}: {:#?}",
        verdict.invariants.ledger_rows,
        record.committed.len(),
        verdict.details
    );
    assert!(record.bad_reads.is_empty(), "{:#?}", record.bad_reads);
    assert!(!record.committed.is_empty(), "no transfer committed");
    assert!(record.reads > 0, "no read finished");
    assert_eq!(
        dirty, 0,
        "the pool handed out a connection inside a transaction"
    );
    assert_eq!(
        open_last, 0,
        "sessions of the test still inside a transaction 5 s after the run"
    );
    if faults {
        assert!(kills.kills > 0, "no session was killed");
        assert!(
            kills.late.is_empty(),
            "recovery slower than {MAX_GAP:?}: {:#?}",
            kills.late
        );
    } else {
        let ambiguous = record.lost_connection + record.commit_unknown;
        assert_eq!(ambiguous, 0, "a connection died with no fault injected");
        assert!(record.unknown.is_empty());
    }
    bank.drop_tables().await;
    engine.close().await;
    side.close().await;
}
