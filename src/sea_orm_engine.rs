//! Engines over sea-orm: [`Engine::from_sea_orm`] (feature `sea-orm`).

use std::sync::Arc;

use txkit_core::Result;
use txkit_sea_orm::{SeaOrm, SeaOrmOptions};

use crate::{Engine, EngineBuilder, backends};

impl Engine {
    /// An engine over the application's sea-orm connection: its transactions, savepoints,
    /// locks and retries run on sea-orm's pool, which stays the only pool (txkit keeps
    /// none of its own; a checkout is a handle, and `begin` takes one pooled connection
    /// until the transaction ends).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let db = sea_orm::Database::connect("postgres://postgres@127.0.0.1/test").await?;
    /// let engine = txkit::Engine::from_sea_orm(db).await?;
    /// let mut tx = engine.begin().await?;
    /// tx.execute("UPDATE accounts SET balance = balance - 10 WHERE id = ?", &txkit::params![1]).await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_sea_orm(db: sea_orm::DatabaseConnection) -> Result<Engine> {
        Self::sea_orm_builder(db).build().await
    }

    /// A builder for an engine over the application's sea-orm connection, to set the
    /// default isolation, listeners or laziness (pool settings belong to sea-orm's
    /// `ConnectOptions` and are refused here).
    pub fn sea_orm_builder(db: sea_orm::DatabaseConnection) -> EngineBuilder {
        let scheme = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "sea-orm+postgres",
            sea_orm::DbBackend::MySql => "sea-orm+mysql",
            _ => "sea-orm+sqlite",
        };
        let options = SeaOrmOptions::from_connection(db);
        let mut builder = Engine::builder(&format!("{scheme}://application-connection"));
        builder.prepared = Some(Arc::from(backends::with_options::<SeaOrm>(options)));
        builder
    }
}
