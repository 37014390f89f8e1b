//! receipt-report: s1 inserts a receipt dated with the control row's current date, s2
//! closes that day (moves the control date on) and commits, s3 (read-only) then reads the
//! control date and the closed day's receipts. Permutation rxwy1 wx2 c2 rx3 ry3 c3 c1: the
//! report shows the day closed, yet a receipt for it commits afterwards. PostgreSQL
//! SERIALIZABLE fails s1's commit; PostgreSQL below it and MariaDB READ COMMITTED allow
//! the anomaly. MariaDB REPEATABLE READ / SERIALIZABLE lock the control row read by the
//! INSERT … SELECT, so s2 waits for s1; SQLite's one writer makes s2 wait too.

use txkit::{Engine, IsolationLevel};

use super::{Observed, SpecSession, commit, join, opts, run, setup, sql};
use crate::common::{TestDb, unique};

crate::matrix!(spec);

fn expected(backend: &str, level: Option<IsolationLevel>) -> &'static str {
    use IsolationLevel::*;
    match (backend, level) {
        // The report (day 23 open, day 22 has receipts 1 and 2) is contradicted by receipt 3.
        ("postgres", Some(ReadCommitted | RepeatableRead))
        | ("mariadb" | "mysql", Some(ReadCommitted)) => {
            "blocked=[] errors=[] reads=[rx3=23,ry3=1/2] state=1/2/3"
        }
        ("postgres", Some(Serializable)) => {
            "blocked=[] errors=[s1:c1=SerializationFailure] reads=[rx3=23,ry3=1/2] state=1/2"
        }
        // s2 waits for s1: the report runs before either commits and is consistent.
        ("mariadb" | "mysql", Some(RepeatableRead)) | ("sqlite", None) => {
            "blocked=[s2:wx2] errors=[] reads=[rx3=22,ry3=1/2] state=1/2/3"
        }
        ("mariadb" | "mysql", Some(Serializable)) => {
            "blocked=[s2:wx2,s3:rx3] errors=[] reads=[rx3=23,ry3=1/2/3] state=1/2/3"
        }
        _ => "no expectation",
    }
}

async fn spec(db: TestDb) {
    super::at_every_level(&db, "receipt-report", expected, async |engine, level| {
        cell(&engine, level).await
    })
    .await;
}

async fn cell(engine: &Engine, level: Option<IsolationLevel>) -> Observed {
    let ctl = unique("ctl");
    let receipt = unique("receipt");
    setup(
        engine,
        &[
            format!("CREATE TABLE {ctl} (k BIGINT PRIMARY KEY, deposit_date BIGINT NOT NULL)"),
            format!(
                "CREATE TABLE {receipt} (receipt_no BIGINT PRIMARY KEY, \
                 deposit_date BIGINT NOT NULL, amount BIGINT NOT NULL)"
            ),
            format!("INSERT INTO {ctl} (k, deposit_date) VALUES (1, 22)"),
            format!("INSERT INTO {receipt} VALUES (1, 22, 100), (2, 22, 200)"),
        ],
    )
    .await;
    let read_only = opts(level).read_only();
    let s = [
        SpecSession::new("s1", engine, opts(level)),
        SpecSession::new("s2", engine, opts(level)),
        SpecSession::new("s3", engine, read_only),
    ];
    let day22 =
        format!("SELECT receipt_no FROM {receipt} WHERE deposit_date = 22 ORDER BY receipt_no");
    let mut o = run(
        &s,
        &[
            sql(
                0,
                "rxwy1",
                format!(
                    "INSERT INTO {receipt} (receipt_no, deposit_date, amount) \
                     SELECT 3, deposit_date, 400 FROM {ctl} WHERE k = 1"
                ),
            ),
            sql(
                1,
                "wx2",
                format!("UPDATE {ctl} SET deposit_date = 23 WHERE k = 1"),
            ),
            commit(1, "c2"),
            sql(
                2,
                "rx3",
                format!("SELECT deposit_date FROM {ctl} WHERE k = 1"),
            ),
            sql(2, "ry3", &day22),
            commit(2, "c3"),
            commit(0, "c1"),
        ],
    )
    .await;
    o.state(join(&super::ints(engine, &day22).await));
    o
}
