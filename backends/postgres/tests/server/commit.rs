//! A connection killed while its COMMIT is in flight.
//!
//! What this proves: the victim's COMMIT was sent and was being executed by the server —
//! it is blocked inside a deferred constraint trigger, waiting for an advisory lock another
//! session holds, as `pg_locks` shows — when the backend is terminated. The answer never
//! comes, and `commit` reports `CommitOutcomeUnknown`, not success and not a plain lost
//! connection. (Here the server had not committed yet, so the row is absent; a client in
//! this position cannot know that, which is the point of the kind.)

use txkit_core::{Connection, ErrorKind, TxOptions, Value, params};

use super::support::{backend_pid, connect, count, exec, table, unique_key, wait_until};

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_during_commit_is_outcome_unknown() {
    super::support::require_server();
    let mut admin = connect().await;
    let t = table("commit_kill");
    let key = unique_key();
    exec(&mut admin, &format!("CREATE TABLE {t} (a int4)")).await;
    exec(
        &mut admin,
        &format!(
            "CREATE FUNCTION {t}_wait() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NULL; END $$"
        ),
    )
    .await;
    exec(
        &mut admin,
        &format!(
            "CREATE CONSTRAINT TRIGGER {t}_trg AFTER INSERT ON {t} DEFERRABLE INITIALLY \
             DEFERRED FOR EACH ROW EXECUTE FUNCTION {t}_wait()"
        ),
    )
    .await;

    // The holder takes the lock the deferred trigger will wait for at COMMIT.
    let mut holder = connect().await;
    holder
        .query("SELECT pg_advisory_lock(?)", &params![key])
        .await
        .unwrap();

    let mut victim = connect().await;
    let pid = backend_pid(&mut victim).await;
    victim.begin(&TxOptions::new()).await.unwrap();
    exec(&mut victim, &format!("INSERT INTO {t} VALUES (1)")).await;
    let committing = tokio::spawn(async move {
        let result = victim.commit().await;
        (victim, result)
    });

    // Wait until the server shows the victim blocked on the advisory lock: COMMIT is running.
    let waiting = format!(
        "SELECT count(*) FROM pg_locks WHERE pid = {pid} AND locktype = 'advisory' \
         AND NOT granted"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while admin.query(&waiting, &[]).await.unwrap()[0]
        .get::<i64>(0)
        .unwrap()
        != 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "COMMIT never blocked in the trigger"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let killed = admin
        .query("SELECT pg_terminate_backend(?::int4)", &params![pid])
        .await
        .unwrap();
    assert_eq!(killed[0].value(0).unwrap(), &Value::Bool(true));

    let (victim, result) = committing.await.unwrap();
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitOutcomeUnknown, "{e}");
    assert!(!e.is_retryable());
    assert!(
        e.to_string().contains("may or may not have committed"),
        "{e}"
    );
    wait_until("the victim is broken", || {
        std::future::ready(victim.is_broken())
    })
    .await;

    holder
        .query("SELECT pg_advisory_unlock(?)", &params![key])
        .await
        .unwrap();
    assert_eq!(count(&mut admin, &t).await, 0);
    exec(&mut admin, &format!("DROP TABLE {t}")).await;
    exec(&mut admin, &format!("DROP FUNCTION {t}_wait()")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_on_a_closed_connection_is_never_success() {
    super::support::require_server();
    let mut victim = connect().await;
    let mut admin = connect().await;
    let pid = backend_pid(&mut victim).await;
    victim.begin(&TxOptions::new()).await.unwrap();
    admin
        .query("SELECT pg_terminate_backend(?::int4)", &params![pid])
        .await
        .unwrap();
    wait_until("the victim is broken", || {
        std::future::ready(victim.is_broken())
    })
    .await;
    // Known to be closed before COMMIT was sent: a lost connection, nothing committed.
    let e = victim.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert!(e.to_string().contains("COMMIT was not sent"), "{e}");
}

/// COMMIT sends the `SELECT 1` probe only when the transaction may have failed unseen;
/// each way a transaction can fail is still reported, and nothing of it is committed.
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_reports_every_failed_transaction() {
    super::support::require_server();
    let mut c = connect().await;
    let t = table("commit_failed");
    exec(&mut c, &format!("CREATE TABLE {t} (a int4 PRIMARY KEY)")).await;
    let insert = format!("INSERT INTO {t} VALUES (?)");

    // Nothing failed: COMMIT alone, and the row is there.
    c.begin(&TxOptions::new()).await.unwrap();
    c.execute(&insert, &params![1]).await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(count(&mut c, &t).await, 1);

    // A statement failed and the caller commits anyway: refused, nothing committed.
    c.begin(&TxOptions::new()).await.unwrap();
    c.execute(&insert, &params![2]).await.unwrap();
    assert!(c.execute(&insert, &params![1]).await.is_err());
    let e = c.commit().await.unwrap_err();
    assert!(e.to_string().contains("nothing was committed"), "{e}");

    // A statement failed through the lent tokio-postgres client, unseen by txkit: still
    // refused.
    c.begin(&TxOptions::new()).await.unwrap();
    c.execute(&insert, &params![3]).await.unwrap();
    assert!(c.client().batch_execute("SELECT 1/0").await.is_err());
    let e = c.commit().await.unwrap_err();
    assert!(e.to_string().contains("nothing was committed"), "{e}");

    // The flush: a statement failing in it refuses the flush; after an earlier failure
    // the flush is refused too.
    c.begin(&TxOptions::new()).await.unwrap();
    let e = c
        .execute_all_and_commit(&[(&insert, &params![4]), (&insert, &params![1])])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nothing was committed"), "{e}");
    c.begin(&TxOptions::new()).await.unwrap();
    assert!(c.execute(&insert, &params![1]).await.is_err());
    let e = c
        .execute_all_and_commit(&[(&insert, &params![5])])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nothing was committed"), "{e}");

    // And a clean transaction after all that commits.
    c.begin(&TxOptions::new()).await.unwrap();
    c.execute_all_and_commit(&[(&insert, &params![6])])
        .await
        .unwrap();
    let rows = c
        .query(&format!("SELECT a FROM {t} ORDER BY a"), &[])
        .await
        .unwrap();
    let keys: Vec<i64> = rows.iter().map(|r| r.get::<i64>("a").unwrap()).collect();
    assert_eq!(keys, [1, 6]);
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}
