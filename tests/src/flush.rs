//! `commit_with`: a unit of work's last statements and COMMIT as one flush — correct on every
//! backend (counts, all-or-nothing on failure, a clean connection after), and on PostgreSQL
//! one round trip, so a session's locked read + flush is a whole transfer in two.

use std::sync::atomic::Ordering;

use txkit::{Engine, ErrorKind, params};

use crate::common::{Kind, TestDb, host_port, unique};
use crate::session_lazy_begin::{proxy, through};

crate::matrix!(sea_orm: flush_commits_all_or_nothing);

async fn accounts(engine: &Engine) -> (String, String) {
    let accounts = unique("flush_accounts");
    let ledger = unique("flush_ledger");
    engine
        .execute(
            &format!("CREATE TABLE {accounts} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    engine
        .execute(
            &format!("CREATE TABLE {ledger} (id BIGINT PRIMARY KEY, cents BIGINT NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    engine
        .execute(
            &format!("INSERT INTO {accounts} (id, balance) VALUES (1, 100), (2, 100)"),
            &[],
        )
        .await
        .unwrap();
    (accounts, ledger)
}

async fn balances(engine: &Engine, accounts: &str) -> Vec<i64> {
    engine
        .query(&format!("SELECT balance FROM {accounts} ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64>("balance").unwrap())
        .collect()
}

async fn flush_commits_all_or_nothing(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let (accounts, ledger) = accounts(&engine).await;
    let debit = format!("UPDATE {accounts} SET balance = balance - ? WHERE id = ?");
    let credit = format!("UPDATE {accounts} SET balance = balance + ? WHERE id = ?");
    let record = format!("INSERT INTO {ledger} (id, cents) VALUES (?, ?)");

    // A transfer: the locked read, then the writes and COMMIT as one flush.
    let mut s = engine.session();
    let locked = if db.kind == Kind::Sqlite {
        format!("SELECT id FROM {accounts} WHERE id IN (1, 2) ORDER BY id")
    } else {
        format!("SELECT id FROM {accounts} WHERE id IN (1, 2) ORDER BY id FOR UPDATE")
    };
    assert_eq!(s.query_sql(&locked, &[]).await.unwrap().len(), 2);
    let counts = s
        .commit_with(&[
            (&debit, &params![30, 1]),
            (&credit, &params![30, 2]),
            (&record, &params![1, 30]),
        ])
        .await
        .unwrap();
    assert_eq!(counts, vec![1, 1, 1]);
    assert_eq!(balances(&engine, &accounts).await, vec![70, 130]);

    // The ledger id is taken: the flush fails at its third statement, and the first two
    // are not committed either. Then the third statement lacks a parameter: the flush
    // fails, and nothing queued before it is run or committed (on PostgreSQL it is refused
    // before anything is sent).
    let mut errors = Vec::new();
    for ledger_params in [params![1, 30], params![2]] {
        let mut tx = engine.begin().await.unwrap();
        tx.query(&locked, &[]).await.unwrap();
        let err = tx
            .commit_with(&[
                (&debit, &params![30, 1]),
                (&credit, &params![30, 2]),
                (&record, &ledger_params),
            ])
            .await
            .unwrap_err();
        assert_eq!(balances(&engine, &accounts).await, vec![70, 130]);
        errors.push(err);
    }
    assert_eq!(
        errors[0].kind(),
        ErrorKind::UniqueViolation,
        "{}",
        errors[0]
    );
    if db.kind == Kind::Postgres && !db.sea_orm {
        assert_eq!(errors[1].kind(), ErrorKind::Config, "{}", errors[1]);
    }

    // Transaction control is refused, and the connection is clean for the next user.
    let tx = engine.begin().await.unwrap();
    let err = tx.commit_with(&[("COMMIT", &[])]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&debit, &params![1, 1]).await.unwrap();
    let counts = tx.commit_with(&[]).await.unwrap();
    assert!(counts.is_empty());
    assert_eq!(balances(&engine, &accounts).await, vec![69, 130]);
    engine.close().await;
    db.assert_no_idle_in_transaction().await;
}

/// Round trips of a transfer on PostgreSQL, counted by a TCP proxy: a session's locked read
/// (carrying BEGIN) and `commit_with` (two UPDATEs, the ledger INSERT, COMMIT) — against the
/// same transfer with each statement awaited.
#[tokio::test(flavor = "current_thread")]
async fn a_transfer_is_two_round_trips_on_postgres() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let (addr, turns) = proxy(host_port(&db.url)).await;
    let url = through(&db.url, &addr);
    let engine = Engine::builder(&url).pool_size(1).build().await.unwrap();
    let (accounts, ledger) = accounts(&engine).await;
    let locked = format!("SELECT id FROM {accounts} WHERE id IN (?, ?) ORDER BY id FOR UPDATE");
    let debit = format!("UPDATE {accounts} SET balance = balance - ? WHERE id = ?");
    let credit = format!("UPDATE {accounts} SET balance = balance + ? WHERE id = ?");
    let record = format!("INSERT INTO {ledger} (id, cents) VALUES (?, ?)");
    let pipelined = |n: i64| {
        let (engine, locked, debit, credit, record) = (&engine, &locked, &debit, &credit, &record);
        async move {
            let mut s = engine.session();
            s.query_sql(locked, &params![1, 2]).await.unwrap();
            s.commit_with(&[
                (debit, &params![1, 1]),
                (credit, &params![1, 2]),
                (record, &params![n, 1]),
            ])
            .await
            .unwrap();
        }
    };
    let awaited = |n: i64| {
        let (engine, locked, debit, credit, record) = (&engine, &locked, &debit, &credit, &record);
        async move {
            let mut tx = engine.begin().await.unwrap();
            tx.query(locked, &params![1, 2]).await.unwrap();
            tx.execute(debit, &params![1, 1]).await.unwrap();
            tx.execute(credit, &params![1, 2]).await.unwrap();
            tx.execute(record, &params![n, 1]).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    // Warm the statement cache, then count.
    pipelined(1).await;
    awaited(2).await;
    let t0 = turns.turns.load(Ordering::SeqCst);
    let r0 = engine.stats().requests;
    pipelined(3).await;
    let t1 = turns.turns.load(Ordering::SeqCst);
    let r1 = engine.stats().requests;
    awaited(4).await;
    let t2 = turns.turns.load(Ordering::SeqCst);
    let r2 = engine.stats().requests;
    // The pool's request counter (what `txkit bank` reports) agrees with the wire.
    assert_eq!(
        (r1 - r0, r2 - r1),
        (t1 - t0, t2 - t1),
        "requests counted vs round trips"
    );
    println!(
        "postgres transfer: session + commit_with {} round trips; each statement awaited {}",
        t1 - t0,
        t2 - t1
    );
    assert_eq!((t1 - t0, t2 - t1), (2, 6));
    let rows = engine
        .query(&format!("SELECT count(*) AS n FROM {ledger}"), &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i64>("n").unwrap(), 4);
    engine.close().await;
}
