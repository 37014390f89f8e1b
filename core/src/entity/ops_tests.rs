//! The entity operations against a scripted connection: which statements go out, and how
//! the answers (rows affected, returned keys) are read.

use std::collections::VecDeque;
use std::sync::Arc;

use super::fixtures::Account;
use crate::connection::{Connection, ResetMode};
use crate::dialect::Dialect;
use crate::error::{ErrorKind, Result};
use crate::isolation::TxOptions;
use crate::lock::{RowLock, TableLock};
use crate::managed::ManagedConnection;
use crate::row::Row;
use crate::value::Value;

/// A dialect with a chosen name and RETURNING support.
struct FakeDialect {
    name: &'static str,
    returning: bool,
}

impl Dialect for FakeDialect {
    fn name(&self) -> &'static str {
        self.name
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        crate::quote_identifier_with(ident, '"', 63)
    }
    fn placeholder(&self, _index: usize) -> String {
        "?".into()
    }
    fn begin_sql(&self, _opts: &TxOptions) -> Result<String> {
        Ok("BEGIN".into())
    }
    fn row_lock_clause(&self, _lock: &RowLock) -> Result<String> {
        Ok(String::new())
    }
    fn table_lock_sql(&self, _table: &str, _lock: &TableLock) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn supports_insert_returning(&self) -> bool {
        self.returning
    }
}

/// Records every statement; answers from a script.
struct Scripted {
    dialect: FakeDialect,
    log: Vec<String>,
    affected: VecDeque<u64>,
    rows: VecDeque<Vec<Row>>,
}

impl Scripted {
    fn new(name: &'static str, returning: bool) -> Self {
        Self {
            dialect: FakeDialect { name, returning },
            log: Vec::new(),
            affected: VecDeque::new(),
            rows: VecDeque::new(),
        }
    }
}

fn row(values: Vec<Value>) -> Row {
    let names: Vec<String> = (0..values.len()).map(|i| format!("c{i}")).collect();
    Row::new(Arc::from(names), values)
}

impl Connection for Scripted {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }
    async fn execute(&mut self, sql: &str, _params: &[Value]) -> Result<u64> {
        self.log.push(sql.to_owned());
        Ok(self.affected.pop_front().unwrap_or(1))
    }
    async fn query(&mut self, sql: &str, _params: &[Value]) -> Result<Vec<Row>> {
        self.log.push(sql.to_owned());
        Ok(self.rows.pop_front().unwrap_or_default())
    }
    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.log.push(sql.to_owned());
        Ok(())
    }
    async fn begin(&mut self, _opts: &TxOptions) -> Result<()> {
        self.log.push("BEGIN".into());
        Ok(())
    }
    async fn commit(&mut self) -> Result<()> {
        self.log.push("COMMIT".into());
        Ok(())
    }
    async fn rollback(&mut self) -> Result<()> {
        self.log.push("ROLLBACK".into());
        Ok(())
    }
    async fn ping(&mut self) -> Result<()> {
        Ok(())
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

fn new_account() -> Account {
    Account {
        id: 0,
        owner: "ann".into(),
        balance: 10,
        version: 0,
    }
}

#[tokio::test]
async fn insert_without_returning_reads_last_insert_id_in_the_transaction() {
    let mut conn = ManagedConnection::new(Scripted::new("mysql", false));
    conn.raw.rows.push_back(vec![row(vec![Value::Int(42)])]);
    let mut a = new_account();
    let mut tx = conn.begin().await.unwrap();
    tx.insert(&mut a).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((a.id, a.version), (42, 1));
    assert_eq!(
        conn.raw.log,
        [
            "BEGIN",
            "INSERT INTO `accounts` (`owner`, `balance`, `version`) VALUES (?, ?, ?)",
            "SELECT LAST_INSERT_ID()",
            "COMMIT"
        ]
    );
}

#[tokio::test]
async fn insert_with_returning_is_one_statement() {
    let mut conn = ManagedConnection::new(Scripted::new("mariadb", true));
    conn.raw.rows.push_back(vec![row(vec![Value::Int(9)])]);
    let mut a = new_account();
    conn.insert(&mut a).await.unwrap();
    assert_eq!((a.id, a.version), (9, 1));
    assert_eq!(
        conn.raw.log,
        ["INSERT INTO `accounts` (`owner`, `balance`, `version`) VALUES (?, ?, ?) RETURNING `id`"]
    );
}

#[tokio::test]
async fn zero_rows_is_stale_and_leaves_the_entity_alone() {
    let mut conn = ManagedConnection::new(Scripted::new("postgres", true));
    conn.raw.affected.push_back(0);
    let mut a = Account {
        id: 5,
        version: 2,
        ..new_account()
    };
    let e = conn.update(&mut a).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
    let info = e.stale_info().unwrap();
    assert_eq!(
        (
            info.table.as_str(),
            info.key.as_str(),
            info.expected_version.as_str()
        ),
        ("accounts", "5", "2")
    );
    assert_eq!(a.version, 2);
    conn.update(&mut a).await.unwrap();
    assert_eq!(a.version, 3);
    conn.raw.affected.push_back(0);
    let e = conn.delete(&a).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
}

#[tokio::test]
async fn find_decodes_or_answers_none() {
    let mut conn = ManagedConnection::new(Scripted::new("sqlite", true));
    let names: Arc<[String]> = ["id", "owner", "balance", "version"]
        .map(String::from)
        .into();
    conn.raw.rows.push_back(vec![Row::new(
        names,
        vec![3.into(), "bo".into(), 4.into(), 1.into()],
    )]);
    let found: Option<Account> = conn.find(3).await.unwrap();
    assert_eq!(found.unwrap().owner, "bo");
    assert!(conn.find::<Account>(4).await.unwrap().is_none());
}

#[tokio::test]
async fn ddl_in_a_transaction_is_refused_where_it_would_commit() {
    let mut conn = ManagedConnection::new(Scripted::new("mysql", false));
    {
        let mut tx = conn.begin().await.unwrap();
        let e = tx.create_table::<Account>().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        tx.rollback().await.unwrap();
    }
    conn.create_table::<Account>().await.unwrap();
    assert!(
        conn.raw
            .log
            .last()
            .unwrap()
            .starts_with("CREATE TABLE IF NOT EXISTS `accounts`")
    );
    let mut conn = ManagedConnection::new(Scripted::new("oracle", false));
    let e = conn.insert(&mut new_account()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

/// `server_in_transaction` is optional: a connection without it answers Unsupported,
/// naming its dialect.
#[tokio::test]
async fn server_in_transaction_is_optional() {
    let mut conn = ManagedConnection::new(Scripted::new("mysql", false));
    let e = conn.server_in_transaction().await.unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("mysql connection"), "{e}");
}
