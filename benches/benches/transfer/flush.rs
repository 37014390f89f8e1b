//! The flush cell's unit of work and its table: one transaction reads [`ROWS`] rows of a
//! versioned accounts table (`id, balance, version`), adds one cent to every balance,
//! writes each row with a version-checked UPDATE (`… SET balance = ?, version = ? WHERE
//! id = ? AND version = ?`, one row affected each), and commits. Task `i` of a cell owns
//! the ids `i * ROWS + 1 ..= (i + 1) * ROWS`, so tasks never touch one another's rows.
//!
//! txkit runs it as a session (`query::<Versioned>()`, change in place, `commit()`: the
//! UPDATEs of one shape go as one `execute_many`); the raw drivers as their users write it
//! by hand (`pg_raw.rs`, `mysql_raw.rs`, `sqlite_raw.rs`).

use txkit::Engine;

use crate::schema::OPENING;

/// Rows one unit of work reads and writes.
pub(crate) const ROWS: i64 = 100;
/// Tasks the largest flush cell runs, each on its own [`ROWS`] rows.
pub(crate) const MAX_TASKS: usize = 4;
/// Rows in the table.
pub(crate) const TABLE_ROWS: i64 = ROWS * MAX_TASKS as i64;

/// An account with a version column, as txkit's users declare it.
#[derive(Debug, Clone, txkit::Entity)]
#[txkit(table = "txkit_bench_versioned")]
pub(crate) struct Versioned {
    #[txkit(primary_key)]
    pub(crate) id: i64,
    pub(crate) balance: i64,
    #[txkit(version)]
    pub(crate) version: i64,
}

/// The first id of task `task`'s rows.
pub(crate) fn first_id(task: usize) -> i64 {
    (task % MAX_TASKS) as i64 * ROWS + 1
}

/// The hand-written statements, `?` placeholders (mysql_async, rusqlite).
pub(crate) mod q {
    pub(crate) const READ: &str = "SELECT id, balance, version FROM txkit_bench_versioned \
                                   WHERE id >= ? AND id <= ? ORDER BY id";
    pub(crate) const UPDATE: &str = "UPDATE txkit_bench_versioned SET balance = ?, version = ? \
                                     WHERE id = ? AND version = ?";
}

/// The same with PostgreSQL's `$n` placeholders (tokio-postgres).
pub(crate) mod q_pg {
    pub(crate) const READ: &str = "SELECT id, balance, version FROM txkit_bench_versioned \
                                   WHERE id >= $1 AND id <= $2 ORDER BY id";
    pub(crate) const UPDATE: &str = "UPDATE txkit_bench_versioned SET balance = $1, \
                                     version = $2 WHERE id = $3 AND version = $4";
}

/// Recreates the table: [`TABLE_ROWS`] rows at the opening balance and version 0.
pub(crate) async fn prepare(engine: &Engine) {
    engine
        .execute("DROP TABLE IF EXISTS txkit_bench_versioned", &[])
        .await
        .expect("drop versioned");
    engine
        .execute(
            "CREATE TABLE txkit_bench_versioned (id BIGINT PRIMARY KEY, \
             balance BIGINT NOT NULL, version BIGINT NOT NULL)",
            &[],
        )
        .await
        .expect("create versioned");
    let values: Vec<String> = (1..=TABLE_ROWS)
        .map(|id| format!("({id}, {OPENING}, 0)"))
        .collect();
    engine
        .execute(
            &format!(
                "INSERT INTO txkit_bench_versioned (id, balance, version) VALUES {}",
                values.join(", ")
            ),
            &[],
        )
        .await
        .expect("fill versioned");
}

/// Every row as `(id, balance, version)`, in id order.
pub(crate) async fn snapshot(engine: &Engine) -> Vec<(i64, i64, i64)> {
    let rows = engine
        .query(
            "SELECT id, balance, version FROM txkit_bench_versioned ORDER BY id",
            &[],
        )
        .await
        .expect("read versioned");
    rows.iter()
        .map(|r| {
            (
                r.get("id").expect("id"),
                r.get("balance").expect("balance"),
                r.get("version").expect("version"),
            )
        })
        .collect()
}

/// Checks a batch of `units` units of work per task on `tasks` tasks: every row of those
/// tasks advanced by exactly `units` in balance and in version, every other row as it
/// was, and every row's balance its opening balance plus its version (each write adds one
/// cent and one version, so no write was lost or made twice over the whole run).
pub(crate) fn check(
    who: &str,
    before: &[(i64, i64, i64)],
    after: &[(i64, i64, i64)],
    tasks: usize,
    units: i64,
) {
    assert_eq!(
        after.len(),
        before.len(),
        "{who}: rows appeared or vanished"
    );
    let touched = tasks as i64 * ROWS;
    for (&(id, b0, v0), &(id1, b1, v1)) in before.iter().zip(after) {
        assert_eq!(id, id1, "{who}: rows out of order");
        let step = if id <= touched { units } else { 0 };
        assert_eq!(
            (b1 - b0, v1 - v0),
            (step, step),
            "{who}: row {id} moved by (balance, version) = ({}, {}), expected ({step}, {step})",
            b1 - b0,
            v1 - v0
        );
        assert_eq!(
            b1,
            OPENING + v1,
            "{who}: row {id} balance and version disagree"
        );
    }
}
