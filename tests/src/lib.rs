//! The cross-database test matrix of txkit. Every scenario runs on SQLite (a file), on
//! PostgreSQL (`TXKIT_POSTGRES_URL`) and on MySQL/MariaDB (`TXKIT_MYSQL_URL`); without a
//! URL the server cases print a skip, and with `TXKIT_REQUIRE_ALL_BACKENDS=1` a missing
//! URL fails the test.

#![cfg(test)]
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]
// Every example includes examples/common/mod.rs, and the suite includes every example.
#![allow(clippy::duplicate_mod)]

#[macro_use]
pub mod common;

mod bad_input;
mod bank;
mod cancellation;
mod column_types;
mod drop_rollback;
mod entities;
mod examples;
mod execute_many;
mod faults;
mod flush;
mod isolation;
mod isolation_effects;
mod job_queue;
mod locks;
mod logs;
mod multi_host;
mod notices;
mod one_row_queries;
mod pool;
mod pool_hooks;
mod pooler;
mod reliability;
mod replica_set;
mod retry;
mod savepoints;
mod sea_orm_native;
mod security;
mod select_sql;
mod session;
mod session_lazy_begin;
mod session_locks;
mod session_reset;
mod session_unit_of_work;
mod specs;
mod sqlite_locking;
mod sqlite_units;
mod static_pool;
mod table_lock_modes;
