//! txkit's own PostgreSQL protocol layer, chosen with the URL option `driver=txkit`.
//!
//! tokio-postgres ends every request with its own Sync, so the server flushes its answer,
//! and the client wakes, once per statement even when requests are pipelined. Here a
//! pipeline (BEGIN with the first statement; a flush's statements with COMMIT) ends with
//! one Sync, and the socket is read and written on the caller's task, with no connection
//! task between (docs/design.md, "Next for PostgreSQL pipelines"). Messages are
//! `postgres-protocol`'s; values are encoded and decoded by the same code as the
//! tokio-postgres connection's.

mod auth;
mod connection;
mod exchange;
mod io;
mod server_error;
mod startup;
mod statements;
#[cfg(feature = "tls")]
mod tls;

pub use connection::PgWireConnection;
