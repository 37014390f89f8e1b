//! The bank's two tables — ten accounts of 1,000 and a ledger with one row per committed
//! transfer — and the queries that read them back for the final checks.
//!
//! The ledger's transfer id is indexed but deliberately *not* unique: a transfer applied
//! twice must show up as two ledger rows (which the checks count) rather than be stopped by
//! a constraint, so the test proves the client's own idempotence (look the id up before
//! retrying after an unknown outcome), not the schema's.

use txkit::{Engine, params};

use crate::common::{Kind, TestDb, unique};

/// How many accounts the bank has.
pub(crate) const ACCOUNTS: i64 = 10;
/// Every account's opening balance.
pub(crate) const INITIAL: i64 = 1_000;
/// The money in the bank, always.
pub(crate) const TOTAL: i64 = ACCOUNTS * INITIAL;

/// One bank: its engine and its two tables.
#[derive(Debug, Clone)]
pub(crate) struct Bank {
    pub(crate) engine: Engine,
    pub(crate) kind: Kind,
    pub(crate) accounts: String,
    pub(crate) ledger: String,
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LedgerRow {
    pub(crate) id: String,
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) amount: i64,
}

impl Bank {
    /// Creates the tables (uniquely named for this test) and opens the accounts.
    pub(crate) async fn create(db: &TestDb, engine: Engine) -> Bank {
        let prefix = unique("relbank");
        let bank = Bank {
            engine,
            kind: db.kind,
            accounts: format!("{prefix}_accounts"),
            ledger: format!("{prefix}_ledger"),
        };
        let e = &bank.engine;
        e.execute(
            &format!(
                "CREATE TABLE {} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
                bank.accounts
            ),
            &[],
        )
        .await
        .expect("create accounts");
        e.execute(
            &format!(
                "CREATE TABLE {} (seq {}, id VARCHAR(64) NOT NULL, from_id BIGINT NOT NULL, \
                 to_id BIGINT NOT NULL, amount BIGINT NOT NULL)",
                bank.ledger,
                db.serial_pk()
            ),
            &[],
        )
        .await
        .expect("create ledger");
        e.execute(
            &format!("CREATE INDEX {0}_by_id ON {0} (id)", bank.ledger),
            &[],
        )
        .await
        .expect("index the ledger");
        let mut tx = e.begin().await.expect("begin");
        for id in 1..=ACCOUNTS {
            tx.execute(
                &format!("INSERT INTO {} (id, balance) VALUES (?, ?)", bank.accounts),
                &params![id, INITIAL],
            )
            .await
            .expect("open account");
        }
        tx.commit().await.expect("commit the accounts");
        bank
    }

    /// An SQL expression for the server's id of the session running it (0 on SQLite), so
    /// a fault injector can tell the test's sessions apart.
    pub(crate) fn session_id_sql(&self) -> &'static str {
        match self.kind {
            Kind::Postgres => "CAST(pg_backend_pid() AS BIGINT)",
            Kind::MySql => "CAST(CONNECTION_ID() AS SIGNED)",
            Kind::Sqlite => "0",
        }
    }

    /// Every balance, by account id.
    pub(crate) async fn balances(&self) -> Vec<(i64, i64)> {
        self.engine
            .query(
                &format!("SELECT id, balance FROM {} ORDER BY id", self.accounts),
                &[],
            )
            .await
            .expect("read balances")
            .iter()
            .map(|r| (r.get("id").unwrap(), r.get("balance").unwrap()))
            .collect()
    }

    /// The whole ledger.
    pub(crate) async fn ledger_rows(&self) -> Vec<LedgerRow> {
        self.engine
            .query(
                &format!(
                    "SELECT id, from_id, to_id, amount FROM {} ORDER BY seq",
                    self.ledger
                ),
                &[],
            )
            .await
            .expect("read the ledger")
            .iter()
            .map(|r| LedgerRow {
                id: r.get("id").unwrap(),
                from: r.get("from_id").unwrap(),
                to: r.get("to_id").unwrap(),
                amount: r.get("amount").unwrap(),
            })
            .collect()
    }

    /// Drops the tables (after a passing run; a failing one keeps them to look at).
    pub(crate) async fn drop_tables(&self) {
        for table in [&self.ledger, &self.accounts] {
            self.engine
                .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
                .await
                .expect("drop table");
        }
    }
}
