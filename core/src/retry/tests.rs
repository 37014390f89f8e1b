//! Unit tests of the retry loop and of the statements `RetryPolicy::run_transaction` sends, on a
//! scripted connection that records every statement and fails the ones it is told to.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::connection::{Connection, ResetMode};
use crate::dialect::{Dialect, quote_identifier_with};
use crate::error::{Error, ErrorKind, Result};
use crate::isolation::TxOptions;
use crate::lock::{RowLock, TableLock};
use crate::managed::ManagedConnection;
use crate::row::Row;
use crate::value::Value;

fn fast() -> RetryPolicy {
    RetryPolicy::new()
        .base_delay(Duration::from_millis(1))
        .jitter(false)
}

fn deadlock() -> Error {
    Error::database(
        ErrorKind::Deadlock,
        "postgres",
        "40P01",
        "deadlock detected",
    )
}

#[tokio::test]
async fn retries_until_success() {
    let calls = AtomicU32::new(0);
    let result = retry(&fast(), async || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n < 3 { Err(deadlock()) } else { Ok(n) }
    })
    .await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_final_error_says_how_many_attempts() {
    let calls = AtomicU32::new(0);
    let err = retry(&fast().max_attempts(4), async || -> Result<()> {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(deadlock())
    })
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(err.kind(), ErrorKind::Deadlock);
    assert_eq!(err.code(), Some("40P01"));
    assert!(
        err.to_string().contains("gave up after 4 attempts (max 4)"),
        "{err}"
    );
}

#[tokio::test]
async fn other_kinds_are_returned_at_once() {
    for kind in [
        ErrorKind::UniqueViolation,
        ErrorKind::Database,
        ErrorKind::LockTimeout,
    ] {
        let calls = AtomicU32::new(0);
        let err = retry(&fast(), async || -> Result<()> {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(kind, "no"))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind}");
        assert_eq!(err.to_string(), format!("{kind}: no"));
    }
}

#[tokio::test]
async fn commit_outcome_unknown_is_never_retried() {
    let policy = fast().retry_on(ErrorKind::CommitOutcomeUnknown);
    let calls = AtomicU32::new(0);
    let err = retry(&policy, async || -> Result<()> {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(Error::new(
            ErrorKind::CommitOutcomeUnknown,
            "connection lost during COMMIT",
        ))
    })
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(err.kind(), ErrorKind::CommitOutcomeUnknown);
    assert!(err.to_string().contains("not retried"), "{err}");
}

#[tokio::test]
async fn the_deadline_stops_retries() {
    // Backoffs 40, 80, 160 ms: the third retry would end after 150 ms.
    let policy = RetryPolicy::new()
        .max_attempts(10)
        .base_delay(Duration::from_millis(40))
        .jitter(false)
        .deadline(Duration::from_millis(150));
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let err = retry(&policy, async || -> Result<()> {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(deadlock())
    })
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() < Duration::from_millis(150));
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(err.to_string().contains("3 attempts"), "{err}");
}

/// A foreign error type: implemented through a marker, and inferred at the call.
#[derive(Debug)]
struct Foreign(bool);
impl std::fmt::Display for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "foreign, retryable = {}", self.0)
    }
}
enum ForeignMarker {}
impl RetryError<ForeignMarker> for Foreign {
    fn error_kind(&self) -> Option<ErrorKind> {
        self.0.then_some(ErrorKind::SerializationFailure)
    }
}

#[tokio::test]
async fn foreign_errors_classify_through_a_marker() {
    let calls = AtomicU32::new(0);
    let err = retry(&fast(), async || -> std::result::Result<(), Foreign> {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        Err(Foreign(n == 0))
    })
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(!err.0);
}

#[tokio::test]
async fn the_retry_future_is_send() {
    let shared = Arc::new(AtomicU32::new(0));
    let task = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let counter: &AtomicU32 = &shared;
            retry(&fast(), async || -> Result<u32> {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                if n == 0 { Err(deadlock()) } else { Ok(n) }
            })
            .await
        })
    };
    assert_eq!(task.await.unwrap().unwrap(), 1);
}

// ---- run_transaction on a scripted connection ----

struct ScriptDialect(&'static str);

impl Dialect for ScriptDialect {
    fn name(&self) -> &'static str {
        self.0
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        quote_identifier_with(ident, '"', 63)
    }
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }
    fn begin_sql(&self, _opts: &TxOptions) -> Result<String> {
        Ok("BEGIN".to_owned())
    }
    fn row_lock_clause(&self, _lock: &RowLock) -> Result<String> {
        Ok("FOR UPDATE".to_owned())
    }
    fn table_lock_sql(&self, _table: &str, _lock: &TableLock) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// Records each statement; fails the next statement equal to the front of `failures`.
struct Scripted {
    dialect: ScriptDialect,
    log: Arc<Mutex<Vec<String>>>,
    failures: VecDeque<(&'static str, ErrorKind)>,
}

impl Scripted {
    fn run(&mut self, sql: &str) -> Result<()> {
        self.log.lock().unwrap().push(sql.to_owned());
        if self.failures.front().is_some_and(|(s, _)| *s == sql) {
            let (_, kind) = self.failures.pop_front().unwrap();
            return Err(Error::new(kind, format!("scripted failure of {sql}")));
        }
        Ok(())
    }
}

impl Connection for Scripted {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }
    async fn execute(&mut self, sql: &str, _params: &[Value]) -> Result<u64> {
        self.run(sql).map(|()| 1)
    }
    async fn query(&mut self, sql: &str, _params: &[Value]) -> Result<Vec<Row>> {
        self.run(sql).map(|()| Vec::new())
    }
    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.run(sql)
    }
    async fn begin(&mut self, _opts: &TxOptions) -> Result<()> {
        self.run("BEGIN")
    }
    async fn commit(&mut self) -> Result<()> {
        self.run("COMMIT")
    }
    async fn rollback(&mut self) -> Result<()> {
        self.run("ROLLBACK")
    }
    async fn ping(&mut self) -> Result<()> {
        Ok(())
    }
    async fn server_in_transaction(&mut self) -> Result<bool> {
        Ok(false)
    }
    async fn recover(&mut self) -> Result<()> {
        Ok(())
    }
    async fn reset(&mut self, _mode: ResetMode) -> Result<()> {
        Ok(())
    }
    fn is_broken(&self) -> bool {
        false
    }
    async fn close(self) {}
}

fn scripted(
    dialect: &'static str,
    failures: &[(&'static str, ErrorKind)],
) -> (ManagedConnection<Scripted>, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let conn = ManagedConnection::new(Scripted {
        dialect: ScriptDialect(dialect),
        log: Arc::clone(&log),
        failures: failures.iter().copied().collect(),
    });
    (conn, log)
}

/// Runs the two-statement body under `policy`; returns the result, the log and how many
/// times the body ran.
async fn transfer(
    policy: &RetryPolicy,
    dialect: &'static str,
    failures: &[(&'static str, ErrorKind)],
) -> (Result<()>, Vec<String>, u32) {
    let (mut conn, log) = scripted(dialect, failures);
    let runs = AtomicU32::new(0);
    let result = policy
        .run_transaction(&mut conn, async |tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            tx.execute("UPDATE a", &[]).await?;
            tx.execute("UPDATE b", &[]).await?;
            Ok::<_, Error>(())
        })
        .await;
    let log = log.lock().unwrap().clone();
    (result, log, runs.load(Ordering::SeqCst))
}

const SP: &str = "SAVEPOINT \"cockroach_restart\"";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT \"cockroach_restart\"";
const RELEASE: &str = "RELEASE SAVEPOINT \"cockroach_restart\"";

#[tokio::test]
async fn a_new_transaction_per_attempt_by_default() {
    let (result, log, runs) =
        transfer(&fast(), "postgres", &[("UPDATE b", ErrorKind::Deadlock)]).await;
    result.unwrap();
    assert_eq!(runs, 2);
    assert_eq!(
        log,
        [
            "BEGIN", "UPDATE a", "UPDATE b", "ROLLBACK", "BEGIN", "UPDATE a", "UPDATE b", "COMMIT"
        ]
    );
}

#[tokio::test]
async fn cockroach_savepoints_keep_one_transaction() {
    let policy = fast().cockroach_savepoints();
    for kind in [
        ErrorKind::Deadlock,
        ErrorKind::SerializationFailure,
        ErrorKind::LockTimeout,
        ErrorKind::LockNotAvailable,
    ] {
        let policy = policy.clone().retry_on(kind);
        let (result, log, runs) = transfer(&policy, "postgres", &[("UPDATE b", kind)]).await;
        result.unwrap();
        assert_eq!(runs, 2, "{kind}");
        assert_eq!(
            log,
            [
                "BEGIN",
                SP,
                "UPDATE a",
                "UPDATE b",
                ROLLBACK_TO,
                SP,
                "UPDATE a",
                "UPDATE b",
                RELEASE,
                "COMMIT"
            ],
            "{kind}"
        );
    }
}

#[tokio::test]
async fn a_conflict_at_release_rolls_back_to_the_savepoint() {
    let policy = fast().cockroach_savepoints();
    let (result, log, runs) = transfer(
        &policy,
        "postgres",
        &[(RELEASE, ErrorKind::SerializationFailure)],
    )
    .await;
    result.unwrap();
    assert_eq!(runs, 2);
    assert_eq!(
        log,
        [
            "BEGIN",
            SP,
            "UPDATE a",
            "UPDATE b",
            RELEASE,
            ROLLBACK_TO,
            SP,
            "UPDATE a",
            "UPDATE b",
            RELEASE,
            "COMMIT"
        ]
    );
}

#[tokio::test]
async fn a_failed_commit_starts_a_new_transaction() {
    let policy = fast().cockroach_savepoints();
    let (result, log, runs) = transfer(
        &policy,
        "postgres",
        &[("COMMIT", ErrorKind::SerializationFailure)],
    )
    .await;
    result.unwrap();
    assert_eq!(runs, 2);
    assert_eq!(
        log,
        [
            "BEGIN", SP, "UPDATE a", "UPDATE b", RELEASE, "COMMIT", "ROLLBACK", "BEGIN", SP,
            "UPDATE a", "UPDATE b", RELEASE, "COMMIT"
        ]
    );
}

#[tokio::test]
async fn an_unknown_commit_outcome_ends_the_loop() {
    for policy in [fast(), fast().cockroach_savepoints()] {
        let (result, log, runs) = transfer(
            &policy,
            "postgres",
            &[("COMMIT", ErrorKind::CommitOutcomeUnknown)],
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CommitOutcomeUnknown);
        assert_eq!(runs, 1);
        assert_eq!(log.last().map(String::as_str), Some("COMMIT"));
    }
}

#[tokio::test]
async fn a_lost_connection_at_release_is_an_unknown_outcome() {
    let policy = fast()
        .cockroach_savepoints()
        .retry_on(ErrorKind::ConnectionLost);
    let (result, _, runs) =
        transfer(&policy, "postgres", &[(RELEASE, ErrorKind::ConnectionLost)]).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitOutcomeUnknown, "{err}");
    assert!(err.to_string().contains("RELEASE SAVEPOINT"), "{err}");
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn cockroach_savepoints_are_refused_where_a_conflict_ends_the_transaction() {
    for backend in ["mysql", "mariadb", "sqlite"] {
        let (result, log, runs) = transfer(&fast().cockroach_savepoints(), backend, &[]).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains(backend), "{err}");
        assert_eq!(runs, 0);
        assert_eq!(log, ["BEGIN", "ROLLBACK"]);
    }
}

#[tokio::test]
async fn non_retryable_failures_in_the_body_end_at_once() {
    let policy = fast().cockroach_savepoints();
    let (result, log, runs) = transfer(
        &policy,
        "postgres",
        &[("UPDATE a", ErrorKind::UniqueViolation)],
    )
    .await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::UniqueViolation);
    assert_eq!(runs, 1);
    assert_eq!(log, ["BEGIN", SP, "UPDATE a"]);
}

#[tokio::test]
async fn run_transaction_is_send() {
    let task = tokio::spawn(async move {
        let (mut conn, _) = scripted("postgres", &[("UPDATE a", ErrorKind::Deadlock)]);
        let label = String::from("UPDATE a");
        let label: &str = &label;
        fast()
            .cockroach_savepoints()
            .run_transaction(&mut conn, async |tx| {
                tx.execute(label, &[]).await?;
                tokio::task::yield_now().await;
                Ok::<_, Error>(7)
            })
            .await
    });
    assert_eq!(task.await.unwrap().unwrap(), 7);
}
