//! Server notices (`RAISE NOTICE`, `RAISE WARNING`) reach `tracing` from both PostgreSQL
//! drivers, before the statement that caused them returns, and the connection goes on.

use crate::common::{Kind, TestDb, poll_then_drop, unique};
use crate::logs;

async fn notices_are_logged(db: Option<TestDb>) {
    let Some(db) = db else {
        return;
    };
    let captured = logs::captured();
    let engine = db.engine().await;
    let (notice, warning) = (unique("txkit_notice"), unique("txkit_warning"));
    engine
        .execute(
            &format!(
                "DO $$ BEGIN RAISE NOTICE '{notice}'; \
                 RAISE WARNING '{warning}' USING HINT = 'a hint of {warning}'; END $$"
            ),
            &[],
        )
        .await
        .unwrap();
    let text = captured.text();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle}:\n{text}"))
            .to_owned()
    };
    let logged = line(&notice);
    assert!(logged.contains(" INFO "), "{logged}");
    assert!(logged.contains("severity=\"NOTICE\""), "{logged}");
    assert!(logged.contains("code=\"00000\""), "{logged}");
    let logged = line(&warning);
    assert!(logged.contains(" WARN "), "{logged}");
    assert!(logged.contains("code=\"01000\""), "{logged}");
    assert!(
        logged.contains(&format!("hint=\"a hint of {warning}\"")),
        "{logged}"
    );
    let rows = engine.query("SELECT 2 AS two", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>("two").unwrap(), 2);
    engine.close().await;
}

#[tokio::test]
async fn notices_are_logged_through_tokio_postgres() {
    notices_are_logged(TestDb::new(Kind::Postgres)).await;
}

#[tokio::test]
async fn notices_are_logged_through_driver_txkit() {
    notices_are_logged(TestDb::new_postgres_wire()).await;
}

/// A query cancelled outside any transaction leaves an idle session: recovery sends no
/// ROLLBACK (`driver=txkit` reads the abandoned answer and the session's status;
/// tokio-postgres's connection task drops the answer and txkit knew no transaction was
/// open), so the server has nothing to warn about ("there is no transaction in progress"),
/// and the connection goes on.
async fn recovering_an_idle_session_sends_no_rollback(db: Option<TestDb>) {
    let Some(db) = db else {
        return;
    };
    let captured = logs::captured();
    let engine = db.engine().await;
    let mut conn = engine.connection().await.unwrap();
    let cut = poll_then_drop(conn.query("SELECT pg_sleep(0.05)", &[]), 2).await;
    assert!(cut.is_none(), "the query was cancelled before its answer");
    let rows = conn.query("SELECT 3 AS three", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>("three").unwrap(), 3);
    assert!(!conn.server_in_transaction().await.unwrap());
    drop(conn);
    engine.close().await;
    let text = captured.text();
    let ours: Vec<&str> = text.lines().filter(|l| l.contains(&db.app)).collect();
    assert!(
        !ours
            .iter()
            .any(|l| l.contains("no transaction in progress")),
        "{ours:#?}"
    );
}

#[tokio::test]
async fn recovering_an_idle_session_sends_no_rollback_through_tokio_postgres() {
    recovering_an_idle_session_sends_no_rollback(TestDb::new(Kind::Postgres)).await;
}

#[tokio::test]
async fn recovering_an_idle_session_sends_no_rollback_through_driver_txkit() {
    recovering_an_idle_session_sends_no_rollback(TestDb::new_postgres_wire()).await;
}
