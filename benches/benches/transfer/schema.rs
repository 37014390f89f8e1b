//! The bench's tables, the same on every backend: 1,000,000 accounts (created once and
//! reused while the row count is right; the contended cells use ids 1..=10 of the same
//! table), a ledger and an items table (emptied at each run), and the invariants checked
//! after every smoke batch.

use txkit::Engine;

/// Accounts in the table; uncontended cells draw ids from all of them.
pub(crate) const ACCOUNTS: i64 = 1_000_000;
/// Accounts the contended (hot rows) cells draw from.
pub(crate) const HOT_ACCOUNTS: i64 = 10;
/// Every account's opening balance, in cents; transfers move 1 cent, so it never runs out.
pub(crate) const OPENING: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Postgres,
    Mysql,
    Sqlite,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Mysql => "mariadb",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The statements, `?` placeholders (txkit, mysql_async, rusqlite, sqlx on MySQL/SQLite).
pub(crate) mod q {
    pub(crate) const LOCK: &str = "SELECT id, balance FROM txkit_bench_accounts \
                                   WHERE id IN (?, ?) ORDER BY id FOR UPDATE";
    /// SQLite has no row locks: the transaction is begun IMMEDIATE instead.
    pub(crate) const LOCK_SQLITE: &str =
        "SELECT id, balance FROM txkit_bench_accounts WHERE id IN (?, ?) ORDER BY id";
    pub(crate) const DEBIT: &str =
        "UPDATE txkit_bench_accounts SET balance = balance - ? WHERE id = ?";
    pub(crate) const CREDIT: &str =
        "UPDATE txkit_bench_accounts SET balance = balance + ? WHERE id = ?";
    pub(crate) const RECORD: &str =
        "INSERT INTO txkit_bench_ledger (from_id, to_id, cents) VALUES (?, ?, ?)";
    pub(crate) const POINT: &str = "SELECT balance FROM txkit_bench_accounts WHERE id = ?";
    /// One account locked (the random-order transfers lock one at a time).
    pub(crate) const LOCK_ONE: &str =
        "SELECT balance FROM txkit_bench_accounts WHERE id = ? FOR UPDATE";
    pub(crate) const ITEM: &str = "INSERT INTO txkit_bench_items (tag) VALUES (?)";
    pub(crate) const SELECT1: &str = "SELECT 1";
}

/// The same statements with PostgreSQL's `$n` placeholders (tokio-postgres, sqlx).
pub(crate) mod q_pg {
    pub(crate) const LOCK: &str = "SELECT id, balance FROM txkit_bench_accounts \
                                   WHERE id IN ($1, $2) ORDER BY id FOR UPDATE";
    pub(crate) const DEBIT: &str =
        "UPDATE txkit_bench_accounts SET balance = balance - $1 WHERE id = $2";
    pub(crate) const CREDIT: &str =
        "UPDATE txkit_bench_accounts SET balance = balance + $1 WHERE id = $2";
    pub(crate) const RECORD: &str =
        "INSERT INTO txkit_bench_ledger (from_id, to_id, cents) VALUES ($1, $2, $3)";
    pub(crate) const POINT: &str = "SELECT balance FROM txkit_bench_accounts WHERE id = $1";
    pub(crate) const LOCK_ONE: &str =
        "SELECT balance FROM txkit_bench_accounts WHERE id = $1 FOR UPDATE";
    pub(crate) const ITEM: &str = "INSERT INTO txkit_bench_items (tag) VALUES ($1)";
}

fn auto_id(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "id BIGSERIAL PRIMARY KEY",
        Backend::Mysql => "id BIGINT AUTO_INCREMENT PRIMARY KEY",
        Backend::Sqlite => "id INTEGER PRIMARY KEY",
    }
}

fn fill_sql(backend: Backend) -> String {
    match backend {
        Backend::Postgres => format!(
            "INSERT INTO txkit_bench_accounts (id, balance) \
             SELECT g, {OPENING} FROM generate_series(1, {ACCOUNTS}) g"
        ),
        Backend::Mysql => {
            let digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                          UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 \
                          UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
            let names = ["a", "b", "c", "e", "f", "g"];
            let from: Vec<String> = names.iter().map(|n| format!("{digits} {n}")).collect();
            format!(
                "INSERT INTO txkit_bench_accounts (id, balance) \
                 SELECT 1 + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d \
                 + 100000 * g.d, {OPENING} FROM {}",
                from.join(" CROSS JOIN ")
            )
        }
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {ACCOUNTS}) \
             INSERT INTO txkit_bench_accounts (id, balance) SELECT x, {OPENING} FROM s"
        ),
    }
}

async fn count(engine: &Engine, table: &str) -> txkit::Result<i64> {
    engine
        .query(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])
        .await?[0]
        .get::<i64>("n")
}

/// Creates the tables (the accounts only when missing or of the wrong size), empties
/// the ledger and items, and recreates the flush cells' versioned accounts.
pub(crate) async fn prepare(engine: &Engine, backend: Backend) {
    if count(engine, "txkit_bench_accounts").await.ok() != Some(ACCOUNTS) {
        println!(
            "{}: creating txkit_bench_accounts ({ACCOUNTS} rows, once)…",
            backend.name()
        );
        engine
            .execute("DROP TABLE IF EXISTS txkit_bench_accounts", &[])
            .await
            .expect("drop accounts");
        engine
            .execute(
                "CREATE TABLE txkit_bench_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
                &[],
            )
            .await
            .expect("create accounts");
        engine
            .execute(&fill_sql(backend), &[])
            .await
            .expect("fill accounts");
    }
    let id = auto_id(backend);
    for (table, columns) in [
        (
            "txkit_bench_ledger",
            "from_id BIGINT NOT NULL, to_id BIGINT NOT NULL, cents BIGINT NOT NULL",
        ),
        ("txkit_bench_items", "tag BIGINT NOT NULL"),
    ] {
        engine
            .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
            .await
            .expect("drop");
        engine
            .execute(&format!("CREATE TABLE {table} ({id}, {columns})"), &[])
            .await
            .expect("create");
    }
    crate::flush::prepare(engine).await;
}

/// What the invariants are checked against: rows in the ledger and items tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) ledger: i64,
    pub(crate) items: i64,
}

/// Reads the counts, and checks that no cent was created or lost.
pub(crate) async fn check(engine: &Engine, backend: Backend) -> Counts {
    let sum = match backend {
        Backend::Postgres => "SELECT SUM(balance)::BIGINT AS s FROM txkit_bench_accounts",
        Backend::Mysql => "SELECT CAST(SUM(balance) AS SIGNED) AS s FROM txkit_bench_accounts",
        Backend::Sqlite => "SELECT SUM(balance) AS s FROM txkit_bench_accounts",
    };
    let total: i64 = engine.query(sum, &[]).await.expect("sum")[0]
        .get("s")
        .expect("sum value");
    assert_eq!(total, ACCOUNTS * OPENING, "money was created or lost");
    Counts {
        ledger: count(engine, "txkit_bench_ledger").await.expect("ledger"),
        items: count(engine, "txkit_bench_items").await.expect("items"),
    }
}
