//! Creating the tables of a set of entities: [`create_all`].

use txkit_core::{Result, TableDef};

use crate::Engine;

/// Creates every table of `tables` that does not exist yet (`CREATE TABLE IF NOT EXISTS`,
/// one statement per table, in the order given, outside any transaction — MySQL and
/// MariaDB would commit one anyway), on one connection of `engine`. Running it again is
/// harmless; an existing table is left as it is, even if its definition differs.
///
/// ```
/// # use txkit::entity::{ColumnDef, ColumnType, TableDef};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> txkit::Result<()> {
/// const NOTES: &[ColumnDef] = &[
///     ColumnDef { primary_key: true, auto_increment: true, ..ColumnDef::new("id", "id", ColumnType::BigInt) },
///     ColumnDef::new("body", "body", ColumnType::Text),
/// ];
/// let engine = txkit::Engine::connect("sqlite::memory:").await?;
/// // With entities: txkit::create_all(&engine, &[Account::table(), Ledger::table()])
/// txkit::create_all(&engine, &[TableDef { name: "notes", columns: NOTES }]).await?;
/// txkit::create_all(&engine, &[TableDef { name: "notes", columns: NOTES }]).await?;
/// # Ok(()) }
/// ```
pub async fn create_all(engine: &Engine, tables: &[TableDef]) -> Result<()> {
    let mut conn = engine.connection().await?;
    for table in tables {
        let sql = table.create_table_sql(conn.dialect(), true)?;
        conn.execute(&sql, &[]).await?;
    }
    Ok(())
}
