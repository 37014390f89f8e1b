//! `retry`, `#[retry_on_deadlock]` and `RetryPolicy::run_transaction` on every backend: real deadlocks
//! retried until each transfer lands exactly once, the final error's attempt count, what is
//! never or not retried, the deadline, methods, `Send` futures — and CockroachDB's
//! savepoint protocol on PostgreSQL.
//!
//! SQLite has one writer at a time, so it has no deadlocks between row locks: the transfers
//! there begin IMMEDIATE (taking the write lock up front), so concurrent writers queue on
//! `busy_timeout` instead of meeting SQLITE_BUSY half-way through; `lock_timeout` is opted
//! in so that a wait that outlasts it is retried rather than failing the transfer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Barrier, Notify};
use txkit::{
    Engine, Error, ErrorKind, RetryPolicy, RowLock, SqliteBehavior, TxOptions, params,
    retry_on_deadlock,
};

use crate::common::{Kind, TestDb, assert_waits_for_lock, unique};

crate::matrix!(
    sea_orm:
    transfers_survive_deadlocks,
    final_error_counts_attempts,
    deadline_stops_retries,
    unique_violation_is_returned_at_once,
    methods_and_spawned_futures,
    run_transaction_per_attempt,
);
// These two drive txkit's own PostgreSQL driver (a recorder around it, a proxy before it).
crate::matrix!(
    commit_outcome_unknown_is_not_retried,
    cockroach_savepoint_protocol
);

const INITIAL: i64 = 1_000;
const TASKS: i64 = 8;
const ROUNDS: i64 = 3;

/// Two accounts, a ledger, and the engine.
struct Bank {
    engine: Engine,
    kind: Kind,
    accounts: String,
    ledger: String,
}

impl Bank {
    async fn create(db: &TestDb) -> Bank {
        let engine = Self::engine(db).await;
        let accounts = unique("retry_accounts");
        let ledger = unique("retry_ledger");
        engine
            .execute(
                &format!(
                    "CREATE TABLE {accounts} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"
                ),
                &[],
            )
            .await
            .unwrap();
        engine
            .execute(
                &format!(
                    "CREATE TABLE {ledger} (id BIGINT PRIMARY KEY, from_id BIGINT NOT NULL, \
                     to_id BIGINT NOT NULL, cents BIGINT NOT NULL)"
                ),
                &[],
            )
            .await
            .unwrap();
        engine
            .execute(
                &format!("INSERT INTO {accounts} (id, balance) VALUES (1, ?), (2, ?)"),
                &params![INITIAL, INITIAL],
            )
            .await
            .unwrap();
        Bank {
            engine,
            kind: db.kind,
            accounts,
            ledger,
        }
    }

    /// An engine for the test; on PostgreSQL with a 100 ms `deadlock_timeout` (when the
    /// test user may set it), so that each deadlock is found in a tenth of the default.
    async fn engine(db: &TestDb) -> Engine {
        let pool = TASKS as usize;
        if db.kind == Kind::Postgres {
            let url = format!("{}&options=-c%20deadlock_timeout%3D100ms", db.url);
            if let Ok(engine) = Engine::builder(&url).pool_size(pool).build().await {
                return engine;
            }
        }
        db.builder().pool_size(pool).build().await.unwrap()
    }

    fn options() -> TxOptions {
        TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate)
    }

    async fn balance(&self, id: i64) -> i64 {
        self.engine
            .query(
                &format!("SELECT balance FROM {} WHERE id = ?", self.accounts),
                &params![id],
            )
            .await
            .unwrap()[0]
            .get("balance")
            .unwrap()
    }

    /// A method: `&self` captured by reference in every attempt.
    #[retry_on_deadlock(also = [lock_timeout])]
    async fn deposit(&self, account: i64, cents: i64) -> txkit::Result<u64> {
        let mut tx = self.engine.begin_with(Bank::options()).await?;
        let n = tx
            .execute(
                &format!(
                    "UPDATE {} SET balance = balance + ? WHERE id = ?",
                    self.accounts
                ),
                &params![cents, account],
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A `&mut self` method (which, being re-run, reads `self` only).
    #[retry_on_deadlock(max_attempts = 5, base_delay_ms = 1)]
    async fn withdraw(&mut self, account: i64, cents: i64, tries: &AtomicU32) -> txkit::Result<()> {
        let mut tx = self.engine.begin_with(Bank::options()).await?;
        tx.execute(
            &format!(
                "UPDATE {} SET balance = balance - ? WHERE id = ?",
                self.accounts
            ),
            &params![cents, account],
        )
        .await?;
        if tries.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::new(
                ErrorKind::Deadlock,
                "a simulated deadlock victim",
            ));
        }
        tx.commit().await
    }
}

/// Where a first transfer stops, holding its first row, on its first attempt only: it meets
/// the test (and, on the servers, the other side of a pair holding its first row too: a
/// deadlock for sure) at `met`; on SQLite it then holds the write lock until `go`.
struct Pause {
    met: Barrier,
    go: Option<Notify>,
}

/// Moves `cents` from `from` to `to` and writes ledger row `id`, in one transaction,
/// stopping at `pause` between its two updates. Eight of them on two rows deadlock again and
/// again on PostgreSQL (each deadlock found after the server's 1 s `deadlock_timeout`): one
/// needed 11 attempts on a quiet machine, and through PgBouncer on a loaded one 10 were used
/// up in 34 s, so it may take 20.
#[retry_on_deadlock(max_attempts = 20, also = [lock_timeout])]
async fn transfer(
    bank: &Bank,
    id: i64,
    from: i64,
    to: i64,
    cents: i64,
    tries: &AtomicU32,
    pause: Option<&Pause>,
) -> txkit::Result<()> {
    let attempt = tries.fetch_add(1, Ordering::SeqCst) + 1;
    let mut tx = bank.engine.begin_with(Bank::options()).await?;
    let update = format!(
        "UPDATE {} SET balance = balance + ? WHERE id = ?",
        bank.accounts
    );
    tx.execute(&update, &params![-cents, from]).await?;
    if let (1, Some(pause)) = (attempt, pause) {
        pause.met.wait().await;
        if let Some(go) = &pause.go {
            go.notified().await;
        }
    }
    tx.execute(&update, &params![cents, to]).await?;
    tx.execute(
        &format!(
            "INSERT INTO {} (id, from_id, to_id, cents) VALUES (?, ?, ?, ?)",
            bank.ledger
        ),
        &params![id, from, to, cents],
    )
    .await?;
    tx.commit().await
}

async fn transfers_survive_deadlocks(db: TestDb) {
    let bank = Arc::new(Bank::create(&db).await);
    // On the servers, the first transfers of tasks 0 (1 → 2) and 1 (2 → 1) each lock their
    // first row, meet at the barrier with the test, and then each wants the other's row.
    // SQLite has one writer at a time, so no deadlock: there the contention is a queue.
    // Task 0 holds the write lock (IMMEDIATE) while task 1 is proven to wait for it (in line
    // at txkit's write gate, or for sea-orm in SQLite's busy handler: the lock held, the
    // transfer unfinished); the rest then crowd in while both are still running.
    let paired = bank.kind != Kind::Sqlite;
    let pause = Arc::new(Pause {
        met: Barrier::new(if paired { 3 } else { 2 }),
        go: (!paired).then(Notify::new),
    });
    let tries: Arc<Vec<AtomicU32>> =
        Arc::new((0..TASKS * ROUNDS).map(|_| AtomicU32::new(0)).collect());
    let spawn = |task: i64| {
        let (bank, pause, tries) = (Arc::clone(&bank), Arc::clone(&pause), Arc::clone(&tries));
        tokio::spawn(async move {
            for round in 0..ROUNDS {
                let id = task * ROUNDS + round;
                let (from, to) = if task % 2 == 0 { (1, 2) } else { (2, 1) };
                let stops = round == 0 && (task == 0 || (paired && task == 1));
                let pause = stops.then_some(&*pause);
                transfer(&bank, id, from, to, task + 1, &tries[id as usize], pause).await?;
            }
            Ok::<_, Error>(())
        })
    };
    let mut tasks = vec![spawn(0)];
    if paired {
        tasks.push(spawn(1));
        pause.met.wait().await;
    } else {
        pause.met.wait().await;
        let second = spawn(1);
        assert_waits_for_lock(&db, &bank.accounts, &second).await;
        tasks.push(second);
        pause.go.as_ref().expect("SQLite's pause").notify_one();
    }
    tasks.extend((2..TASKS).map(spawn));
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    // Every transfer is in the ledger exactly once, and the money adds up.
    let ids: Vec<i64> = bank
        .engine
        .query(&format!("SELECT id FROM {} ORDER BY id", bank.ledger), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("id").unwrap())
        .collect();
    assert_eq!(ids, (0..TASKS * ROUNDS).collect::<Vec<_>>());
    let (a, b) = (bank.balance(1).await, bank.balance(2).await);
    assert_eq!(a + b, 2 * INITIAL);
    let net_from_1: i64 = (0..TASKS)
        .map(|t| if t % 2 == 0 { t + 1 } else { -(t + 1) })
        .sum::<i64>()
        * ROUNDS;
    assert_eq!(a, INITIAL - net_from_1);

    let attempts: u32 = tries.iter().map(|t| t.load(Ordering::SeqCst)).sum();
    let retries = attempts - (TASKS * ROUNDS) as u32;
    let most = tries.iter().map(|t| t.load(Ordering::SeqCst)).max();
    println!(
        "{:?}: {retries} retries over {} transfers, at most {most:?} attempts for one",
        db.kind,
        TASKS * ROUNDS
    );
    assert!(
        tries
            .iter()
            .all(|t| (1..=20).contains(&t.load(Ordering::SeqCst)))
    );
    if paired {
        assert!(retries >= 1, "the paired transfers must have deadlocked");
    }
    db.assert_no_idle_in_transaction().await;
}

/// Fails with a lock conflict while `holder` keeps the row: NOWAIT on the servers, a
/// busy timeout on SQLite.
#[retry_on_deadlock(max_attempts = 3, base_delay_ms = 1, also = [lock_not_available, lock_timeout])]
async fn locked_out(engine: &Engine, table: &str, tries: &AtomicU32) -> txkit::Result<()> {
    tries.fetch_add(1, Ordering::SeqCst);
    let mut tx = engine.begin_with(Bank::options()).await?;
    // SQLite has no row locks (BEGIN IMMEDIATE has already met the writer there).
    let clause = tx
        .dialect()
        .row_lock_clause(&RowLock::update().nowait())
        .unwrap_or_default();
    tx.query(
        &format!("SELECT balance FROM {table} WHERE id = 1 {clause}"),
        &[],
    )
    .await?;
    tx.commit().await
}

async fn final_error_counts_attempts(db: TestDb) {
    let url = db.url.replace("busy_timeout=10000", "busy_timeout=20");
    let engine = Engine::builder(&url).pool_size(2).build().await.unwrap();
    let table = unique("retry_locked");
    engine
        .execute(
            &format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    engine
        .execute(
            &format!("INSERT INTO {table} (id, balance) VALUES (1, 0)"),
            &[],
        )
        .await
        .unwrap();
    let mut holder = engine.begin_with(Bank::options()).await.unwrap();
    holder
        .execute(&format!("UPDATE {table} SET balance = 1 WHERE id = 1"), &[])
        .await
        .unwrap();

    let tries = AtomicU32::new(0);
    // Bounded: a NOWAIT that waited would otherwise hang here until the holder ends.
    let err = crate::common::bounded(
        "three NOWAIT attempts on a locked row",
        locked_out(&engine, &table, &tries),
    )
    .await
    .unwrap_err();
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    let expected = if db.kind == Kind::Sqlite {
        ErrorKind::LockTimeout
    } else {
        ErrorKind::LockNotAvailable
    };
    assert_eq!(err.kind(), expected, "{err}");
    assert!(
        err.to_string().contains("gave up after 3 attempts (max 3)"),
        "{err}"
    );
    assert!(err.code().is_some(), "the server's code is kept: {err:?}");
    holder.rollback().await.unwrap();
}

#[retry_on_deadlock(max_attempts = 5, base_delay_ms = 1, also = [lock_timeout, lock_not_available, stale_data])]
async fn commit_lost(engine: &Engine, table: &str, tries: &AtomicU32) -> txkit::Result<()> {
    tries.fetch_add(1, Ordering::SeqCst);
    let mut tx = engine.begin().await?;
    tx.execute(&format!("INSERT INTO {table} (name) VALUES ('x')"), &[])
        .await?;
    // As if the connection had died while COMMIT was on its way.
    Err(Error::new(
        ErrorKind::CommitOutcomeUnknown,
        "connection lost while waiting for the answer to COMMIT",
    ))
}

async fn commit_outcome_unknown_is_not_retried(db: TestDb) {
    let engine = db.engine().await;
    let table = crate::common::people_table(&db, &engine).await;
    let tries = AtomicU32::new(0);
    let err = commit_lost(&engine, &table, &tries).await.unwrap_err();
    assert_eq!(tries.load(Ordering::SeqCst), 1, "the body ran once");
    assert_eq!(err.kind(), ErrorKind::CommitOutcomeUnknown);
    assert!(err.to_string().contains("not retried"), "{err}");
    assert_eq!(crate::common::count(&engine, &table).await, 0);
}

#[retry_on_deadlock(
    max_attempts = 100,
    base_delay_ms = 20,
    jitter = false,
    deadline_ms = 300
)]
async fn always_deadlocked(engine: &Engine, tries: &AtomicU32) -> txkit::Result<()> {
    tries.fetch_add(1, Ordering::SeqCst);
    let tx = engine.begin().await?;
    tx.rollback().await?;
    Err(Error::new(
        ErrorKind::Deadlock,
        "chosen as the deadlock victim",
    ))
}

async fn deadline_stops_retries(db: TestDb) {
    let engine = db.engine().await;
    let tries = AtomicU32::new(0);
    let started = Instant::now();
    let err = always_deadlocked(&engine, &tries).await.unwrap_err();
    let n = tries.load(Ordering::SeqCst);
    // Backoffs 20, 40, 80, 160 ms: the fourth retry would end after 300 ms (fewer attempts
    // fit when the machine is so loaded that an attempt itself is slow).
    assert!((1..=4).contains(&n), "{n} attempts");
    // Stopped at the deadline rather than running its 100 attempts (whose backoffs alone
    // would take minutes); the bound is loose so a loaded machine's slow attempt cannot fail
    // it (1.5 s did, once, on sea-orm's PostgreSQL cell amid a parallel test run) — the
    // attempt count above is the exact check.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Deadlock);
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(
        err.to_string().contains(&format!("after {n} attempts")),
        "{err}"
    );
}

#[retry_on_deadlock(max_attempts = 5, also = [lock_timeout, lock_not_available, stale_data])]
async fn insert_person(
    engine: &Engine,
    table: &str,
    id: i64,
    tries: &AtomicU32,
) -> txkit::Result<()> {
    tries.fetch_add(1, Ordering::SeqCst);
    let mut tx = engine.begin().await?;
    tx.execute(
        &format!("INSERT INTO {table} (id, name) VALUES (?, 'x')"),
        &params![id],
    )
    .await?;
    tx.commit().await
}

async fn unique_violation_is_returned_at_once(db: TestDb) {
    let engine = db.engine().await;
    let table = crate::common::people_table(&db, &engine).await;
    let tries = AtomicU32::new(0);
    insert_person(&engine, &table, 7, &tries).await.unwrap();
    let err = insert_person(&engine, &table, 7, &tries).await.unwrap_err();
    assert_eq!(tries.load(Ordering::SeqCst), 2, "one run each");
    assert_eq!(err.kind(), ErrorKind::UniqueViolation, "{err}");
    assert!(
        !err.to_string().contains("attempt"),
        "left as the server said it: {err}"
    );
}

async fn methods_and_spawned_futures(db: TestDb) {
    let bank = Arc::new(Bank::create(&db).await);
    // `&self` method in a spawned task: its future is Send.
    let deposit = {
        let bank = Arc::clone(&bank);
        tokio::spawn(async move { bank.deposit(1, 5).await })
    };
    assert_eq!(deposit.await.unwrap().unwrap(), 1);
    // `&mut self` method of a struct holding an Engine, retried once, in a spawned task.
    let withdraw = tokio::spawn(async move {
        let mut bank = Bank::create(&db).await;
        let tries = AtomicU32::new(0);
        bank.withdraw(2, 7, &tries).await?;
        let balance = bank.balance(2).await;
        Ok::<_, Error>((tries.load(Ordering::SeqCst), balance))
    });
    assert_eq!(withdraw.await.unwrap().unwrap(), (2, INITIAL - 7));
    assert_eq!(bank.balance(1).await, INITIAL + 5);
}

async fn run_transaction_per_attempt(db: TestDb) {
    let engine = db.engine().await;
    let table = crate::common::people_table(&db, &engine).await;
    let tries = AtomicU32::new(0);
    let policy = RetryPolicy::new().base_delay(Duration::from_millis(1));
    let sql = format!("INSERT INTO {table} (name) VALUES (?)");
    let n = policy
        .run_transaction(&engine, async |tx| {
            let attempt = tries.fetch_add(1, Ordering::SeqCst) + 1;
            tx.execute(&sql, &params![format!("attempt {attempt}")])
                .await?;
            if attempt == 1 {
                return Err(Error::new(ErrorKind::SerializationFailure, "simulated"));
            }
            Ok(attempt)
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    // The first attempt's row was rolled back with its transaction.
    assert_eq!(crate::common::names(&engine, &table).await, ["attempt 2"]);
}

async fn cockroach_savepoint_protocol(db: TestDb) {
    if db.kind != Kind::Postgres {
        // Refused where a conflict ends the whole transaction (or the snapshot is stale).
        let engine = db.engine().await;
        let err = RetryPolicy::new()
            .cockroach_savepoints()
            .run_transaction(&engine, async |_tx| Ok::<_, Error>(()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        return;
    }
    savepoints::on_postgres(db).await;
}

/// CockroachDB's protocol on PostgreSQL, through a connection that records every statement.
mod savepoints {
    use std::sync::{Arc, Mutex};

    use txkit::core::{Backend, DatabaseUrl};
    use txkit::core::{Connection, Dialect};
    use txkit::pool::{ManagedConnection, ResetMode};
    use txkit::postgres::Postgres;
    use txkit::{Row, TableLock, Value};

    use super::*;

    /// A connection that logs the statements it sends.
    struct Recorder<C> {
        inner: C,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl<C: Connection> Recorder<C> {
        fn note(&self, sql: &str) {
            self.log.lock().unwrap().push(sql.to_owned());
        }
    }

    impl<C: Connection> Connection for Recorder<C> {
        fn dialect(&self) -> &dyn Dialect {
            self.inner.dialect()
        }
        async fn execute(&mut self, sql: &str, params: &[Value]) -> txkit::Result<u64> {
            self.note(sql);
            self.inner.execute(sql, params).await
        }
        async fn query(&mut self, sql: &str, params: &[Value]) -> txkit::Result<Vec<Row>> {
            self.note(sql);
            self.inner.query(sql, params).await
        }
        async fn batch(&mut self, sql: &str) -> txkit::Result<()> {
            self.note(sql);
            self.inner.batch(sql).await
        }
        async fn begin(&mut self, opts: &TxOptions) -> txkit::Result<()> {
            self.note("BEGIN");
            self.inner.begin(opts).await
        }
        async fn commit(&mut self) -> txkit::Result<()> {
            self.note("COMMIT");
            self.inner.commit().await
        }
        async fn rollback(&mut self) -> txkit::Result<()> {
            self.note("ROLLBACK");
            self.inner.rollback().await
        }
        async fn lock_table(&mut self, table: &str, lock: &TableLock) -> txkit::Result<()> {
            self.inner.lock_table(table, lock).await
        }
        async fn ping(&mut self) -> txkit::Result<()> {
            self.inner.ping().await
        }
        async fn server_in_transaction(&mut self) -> txkit::Result<bool> {
            self.inner.server_in_transaction().await
        }
        async fn recover(&mut self) -> txkit::Result<()> {
            self.inner.recover().await
        }
        async fn reset(&mut self, mode: ResetMode) -> txkit::Result<()> {
            self.inner.reset(mode).await
        }
        fn is_broken(&self) -> bool {
            self.inner.is_broken()
        }
        async fn close(self) {
            self.inner.close().await;
        }
    }

    pub(super) async fn on_postgres(db: TestDb) {
        let engine = db.engine().await;
        let (rows, marks) = (unique("restart_rows"), unique("restart_marks"));
        engine
            .execute(
                &format!("CREATE TABLE {rows} (id INT PRIMARY KEY, v INT NOT NULL)"),
                &[],
            )
            .await
            .unwrap();
        engine
            .execute(&format!("INSERT INTO {rows} (id, v) VALUES (1, 0)"), &[])
            .await
            .unwrap();
        engine
            .execute(&format!("CREATE TABLE {marks} (attempt INT NOT NULL)"), &[])
            .await
            .unwrap();

        // Another session holds row 1 until the third attempt tells it to commit.
        let (holding, commit_now, committed) = (
            Arc::new(Notify::new()),
            Arc::new(Notify::new()),
            Arc::new(Notify::new()),
        );
        let holder = {
            let (engine, rows) = (engine.clone(), rows.clone());
            let (holding, commit_now, committed) = (
                Arc::clone(&holding),
                Arc::clone(&commit_now),
                Arc::clone(&committed),
            );
            tokio::spawn(async move {
                let mut tx = engine.begin().await?;
                tx.execute(&format!("UPDATE {rows} SET v = v + 100 WHERE id = 1"), &[])
                    .await?;
                holding.notify_one();
                commit_now.notified().await;
                tx.commit().await?;
                committed.notify_one();
                Ok::<_, Error>(())
            })
        };
        holding.notified().await;

        let url = DatabaseUrl::parse(&db.url).unwrap();
        let raw = Postgres::connect(&Postgres::options_from_url(&url).unwrap())
            .await
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut conn = ManagedConnection::new(Recorder {
            inner: raw,
            log: Arc::clone(&log),
        });
        let policy = RetryPolicy::new()
            .cockroach_savepoints()
            .retry_on(ErrorKind::LockNotAvailable)
            .retry_on(ErrorKind::LockTimeout)
            .base_delay(Duration::from_millis(1));
        let tries = AtomicU32::new(0);
        let seen = Mutex::new(Vec::new());
        let (who, mark, nowait, timeout, update) = (
            "SELECT pg_backend_pid() AS pid, txid_current() AS xid".to_owned(),
            format!("INSERT INTO {marks} (attempt) VALUES (?)"),
            format!("SELECT v FROM {rows} WHERE id = 1 FOR UPDATE NOWAIT"),
            "SET LOCAL lock_timeout = '100ms'".to_owned(),
            format!("UPDATE {rows} SET v = v + 1 WHERE id = 1"),
        );
        let result = policy
            .run_transaction(&mut conn, async |tx| {
                let attempt = tries.fetch_add(1, Ordering::SeqCst) + 1;
                let row = tx.query_one(&who, &[]).await?;
                let (pid, xid): (i32, i64) = (row.get("pid")?, row.get("xid")?);
                seen.lock().unwrap().push((pid, xid));
                tx.execute(&mark, &params![attempt as i32]).await?;
                match attempt {
                    // LockNotAvailable: PostgreSQL aborts the subtransaction only.
                    1 => {
                        tx.query(&nowait, &[]).await?;
                    }
                    // LockTimeout: a failure that otherwise dooms the whole transaction.
                    2 => {
                        tx.execute(&timeout, &[]).await?;
                        tx.execute(&update, &[]).await?;
                    }
                    _ => {
                        commit_now.notify_one();
                        committed.notified().await;
                        tx.execute(&update, &[]).await?;
                    }
                }
                Ok::<_, Error>(attempt)
            })
            .await;
        assert_eq!(result.unwrap(), 3);
        holder.await.unwrap().unwrap();

        // One session, one transaction for all three attempts.
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter().all(|s| *s == seen[0]),
            "pid and txid kept: {seen:?}"
        );
        // Attempts 1 and 2 were rolled back to the savepoint; attempt 3 committed.
        let marks: Vec<i32> = engine
            .query(&format!("SELECT attempt FROM {marks}"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("attempt").unwrap())
            .collect();
        assert_eq!(marks, [3]);
        let v: i32 = engine
            .query(&format!("SELECT v FROM {rows} WHERE id = 1"), &[])
            .await
            .unwrap()[0]
            .get("v")
            .unwrap();
        assert_eq!(v, 101);

        let (sp, back, release) = (
            "SAVEPOINT \"cockroach_restart\"",
            "ROLLBACK TO SAVEPOINT \"cockroach_restart\"",
            "RELEASE SAVEPOINT \"cockroach_restart\"",
        );
        let log = log.lock().unwrap().clone();
        assert_eq!(
            log,
            [
                "BEGIN", sp, &who, &mark, &nowait, back, //
                sp, &who, &mark, &timeout, &update, back, //
                sp, &who, &mark, &update, release, "COMMIT",
            ],
        );
        assert!(conn.is_clean());
        conn.close().await;
        db.assert_no_idle_in_transaction().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_retry_is_logged_in_a_span() {
    let logs = crate::logs::captured();
    let marker = unique("retry_log_marker");
    let policy = RetryPolicy::new()
        .named("logged_unit")
        .base_delay(Duration::from_millis(1))
        .jitter(false);
    let tries = AtomicU32::new(0);
    let n = txkit::retry(&policy, async || {
        if tries.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(Error::new(ErrorKind::Deadlock, marker.clone()))
        } else {
            Ok(2)
        }
    })
    .await
    .unwrap();
    assert_eq!(n, 2);
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains(&marker))
        .unwrap_or_else(|| panic!("no retry event for {marker} in:\n{text}"));
    for field in [
        "txkit.retry{unit=\"logged_unit\" max_attempts=3}",
        "WARN",
        "attempt=1",
        "max_attempts=3",
        "kind=\"deadlock\"",
        "delay_ms=1",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}
