//! [`Postgres`] and [`PostgresWire`]: the backend markers the engine opens `postgres://`
//! URLs with, on tokio-postgres or on txkit's own protocol layer.

use crate::{PgConnectOptions, PgConnection, PgWireConnection};
use txkit_core::{Backend, DatabaseUrl, Result};

/// The PostgreSQL backend, for the engine: schemes `postgres` and `postgresql`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

impl Backend for Postgres {
    type Connection = PgConnection;
    type Options = PgConnectOptions;
    const NAME: &'static str = "postgres";
    const SCHEMES: &'static [&'static str] = &["postgres", "postgresql"];

    fn options_from_url(url: &DatabaseUrl) -> Result<PgConnectOptions> {
        PgConnectOptions::from_url(url)
    }

    async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
        options.connect().await
    }
}

/// The PostgreSQL backend on txkit's own protocol layer ([`PgWireConnection`]), which the
/// engine uses for `postgres://…?driver=txkit`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresWire;

impl Backend for PostgresWire {
    type Connection = PgWireConnection;
    type Options = PgConnectOptions;
    const NAME: &'static str = "postgres";
    const SCHEMES: &'static [&'static str] = &["postgres", "postgresql"];

    fn options_from_url(url: &DatabaseUrl) -> Result<PgConnectOptions> {
        PgConnectOptions::from_url(url)
    }

    async fn connect(options: &PgConnectOptions) -> Result<PgWireConnection> {
        PgWireConnection::connect(options).await
    }
}
