//! txkit over sea-orm: the guarantees of txkit for an application that already has a
//! sea-orm `DatabaseConnection`, on the pool it already has.
//!
//! - **Errors**: [`DbErrExt::txkit_kind`] reads the database's own code under a `DbErr`
//!   (SQLSTATE, MySQL error number, SQLite extended code) into txkit's
//!   [`ErrorKind`](txkit_core::ErrorKind): deadlock, serialization failure, lock not
//!   available, lock timeout, unique violation, connection lost. `DbErr` implements
//!   [`RetryError`](txkit_core::RetryError), so `#[retry_on_deadlock]` and `txkit::retry`
//!   accept functions returning `Result<T, DbErr>`.
//! - **Optimistic locking**: [`VersionedEntity`] names an entity's version column;
//!   [`VersionedUpdate::update_versioned`] updates an ActiveModel only if the version is
//!   still the one read, advancing it in the same statement; a row that moved on is
//!   `DbErr::RecordNotUpdated`, classified StaleData (retryable).
//! - **Transactions**: `txkit::Engine::from_sea_orm(db)` (or a `sea-orm+postgres://…` URL)
//!   gives txkit's whole transaction API — isolation and access mode, savepoints of any
//!   depth, row locks rendered by txkit's dialects (refused where a database cannot honour
//!   them, never dropped), table locks, retry — over sea-orm's pool; and
//!   [`SeaOrmTransactionExt::sea_orm`] lends a txkit transaction to sea-orm code
//!   (`Entity::find().all(&tx.sea_orm().await?)`), with [`SeaTx::find_locked`] for locked
//!   reads that are never silently weakened.
//!
//! ```no_run
//! # mod accounts {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//! #     #[sea_orm(table_name = "accounts")]
//! #     pub struct Model { #[sea_orm(primary_key, auto_increment = false)] pub id: i64, pub balance: i64, pub version: i64 }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! use sea_orm::{ActiveValue::Set, DbErr, EntityTrait, IntoActiveModel};
//! use txkit_sea_orm::{VersionedEntity, VersionedUpdate};
//!
//! impl VersionedEntity for accounts::Entity {
//!     fn version_column() -> accounts::Column {
//!         accounts::Column::Version
//!     }
//! }
//!
//! /// Re-read and re-apply until no one else moved the row in between (with
//! /// `#[txkit::retry_on_deadlock]` on the function, the same in one line).
//! async fn deposit(db: &sea_orm::DatabaseConnection, id: i64, amount: i64) -> Result<(), DbErr> {
//!     let policy = txkit_core::RetryPolicy::new().max_attempts(10);
//!     txkit_core::retry(&policy, || async {
//!         let account = accounts::Entity::find_by_id(id)
//!             .one(db)
//!             .await?
//!             .ok_or(DbErr::RecordNotFound(id.to_string()))?;
//!         let balance = account.balance;
//!         let mut model = account.into_active_model();
//!         model.balance = Set(balance + amount);
//!         model.update_versioned(db).await?;
//!         Ok(())
//!     })
//!     .await
//! }
//! ```
//!
//! # Wrapping sea-orm's connection, not sea-orm's `proxy`
//!
//! sea-orm's `proxy` feature would let sea-orm entities run over txkit's own pool. txkit
//! wraps sea-orm's connection instead: the application keeps one pool (sea-orm's), sqlx's
//! typed row decoding and statement cache, and every sea-orm API unchanged, and txkit
//! transactions are sea-orm `DatabaseTransaction`s underneath. A proxy would route every
//! row through `BTreeMap<String, Value>` and every statement through a second pool. The
//! design notes (docs/design.md) weigh the two.

mod backend;
mod classify;
mod connection;
mod decode;
mod placeholders;
mod shield;
mod statement;
mod tx;
mod versioned;

pub use backend::{SeaOrm, SeaOrmOptions, connect};
pub use classify::{
    DatabaseCode, DbErrExt, SeaOrmErrors, database_code, error_kind_of, to_txkit_error,
};
pub use connection::SeaOrmConnection;
pub use tx::{AsSeaOrm, SeaOrmTransactionExt, SeaTx};
pub use versioned::{VersionedEntity, VersionedUpdate};
