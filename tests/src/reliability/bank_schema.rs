//! The bank's two tables — ten accounts of 1,000 and a ledger with one row per committed
//! transfer (the bank workload's, `txkit-bank`) — and the queries that read them back for
//! the final checks.
//!
//! The ledger's transfer id is indexed but deliberately *not* unique
//! ([`LedgerKey::Sequence`]): a transfer applied twice must show up as two ledger rows
//! (which the checks count) rather than be stopped by a constraint, so the test proves the
//! client's own idempotence (look the id up before retrying after an unknown outcome), not
//! the schema's.

use std::collections::BTreeMap;

use txkit::Engine;
use txkit_bank::{LedgerKey, Tables, Transfer};

use crate::common::{Kind, TestDb, unique};

/// How many accounts the bank has.
pub(crate) const ACCOUNTS: u32 = 10;
/// Every account's opening balance.
pub(crate) const INITIAL: i64 = 1_000;
/// The money in the bank, always.
pub(crate) const TOTAL: i64 = ACCOUNTS as i64 * INITIAL;

/// One bank: its engine and its two tables.
#[derive(Debug, Clone)]
pub(crate) struct Bank {
    pub(crate) engine: Engine,
    pub(crate) kind: Kind,
    pub(crate) tables: Tables,
}

impl Bank {
    /// Creates the tables (uniquely named for this test) and opens the accounts.
    pub(crate) async fn create(db: &TestDb, engine: Engine) -> Bank {
        let prefix = format!("{}_", unique("relbank"));
        let tables = Tables::with_prefix(&prefix, LedgerKey::Sequence);
        tables
            .create(&engine, ACCOUNTS, INITIAL)
            .await
            .expect("create the bank");
        Bank {
            engine,
            kind: db.kind,
            tables,
        }
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
    pub(crate) async fn balances(&self) -> BTreeMap<i64, i64> {
        self.tables
            .balances(&self.engine)
            .await
            .expect("read balances")
    }

    /// The whole ledger, in insertion order.
    pub(crate) async fn ledger_rows(&self) -> Vec<Transfer> {
        self.tables
            .ledger(&self.engine)
            .await
            .expect("read the ledger")
    }

    /// Drops the tables (after a passing run; a failing one keeps them to look at).
    pub(crate) async fn drop_tables(&self) {
        self.tables.drop(&self.engine).await.expect("drop tables");
    }
}
