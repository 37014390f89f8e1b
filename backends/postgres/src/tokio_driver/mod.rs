//! The driver on tokio-postgres (`driver=tokio-postgres`, the default): [`PgConnection`],
//! its connect, its pipelined runs and flushes, and the mapping of tokio-postgres's errors.

mod connect;
mod connection;
mod error;
mod flush;
mod many;
mod send;

pub(crate) use connect::connect;
pub use connection::PgConnection;
