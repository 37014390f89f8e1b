//! From a URL scheme to a connector of the backend it names. Each backend is compiled in
//! only with its Cargo feature; a URL for a backend left out says which feature to enable.

use txkit_core::{
    AnyConnection, Backend, BoxFuture, Connect, DatabaseUrl, Error, PoolConfig, Result,
};

/// Lets a backend that pools connections itself take the engine's pool settings; returns
/// whether it does (see [`Backend::external_pool`]).
type AdoptPool = Box<dyn FnOnce(&PoolConfig) -> bool + Send>;

/// What the engine needs to know about a URL's backend before it opens anything.
pub(crate) struct Resolved {
    pub(crate) backend: &'static str,
    pub(crate) connector: Box<dyn Connect<AnyConnection>>,
    /// A private in-memory database: every connection would see a different one, so the
    /// pool must hold exactly one connection.
    pub(crate) single_connection: bool,
    pub(crate) adopt_pool: AdoptPool,
}

/// A pool connector for backend `B`: its parsed options and its `connect`.
struct Connector<B: Backend>(B::Options);

impl<B: Backend> Connect<AnyConnection> for Connector<B> {
    fn connect(&self) -> BoxFuture<'_, Result<AnyConnection>> {
        Box::pin(async move { B::connect(&self.0).await.map(AnyConnection::new) })
    }
}

/// Resolves `url` with backend `B`.
#[allow(dead_code)] // unused only in a build with no backend feature
fn with<B: Backend>(url: &DatabaseUrl) -> Result<Resolved> {
    Ok(with_options::<B>(B::options_from_url(url)?))
}

/// A backend with its options already made.
#[allow(dead_code)] // unused only in a build with no backend feature
pub(crate) fn with_options<B: Backend>(options: B::Options) -> Resolved {
    let for_pool = options.clone();
    Resolved {
        backend: B::NAME,
        single_connection: B::single_connection(&options),
        connector: Box::new(Connector::<B>(options)),
        adopt_pool: Box::new(move |pool| B::external_pool(&for_pool, pool)),
    }
}

/// The schemes this build understands, for error messages.
fn compiled_in() -> String {
    let mut schemes: Vec<&str> = Vec::new();
    if cfg!(feature = "sqlite") {
        schemes.push("sqlite:");
    }
    if cfg!(feature = "postgres") {
        schemes.push("postgres:, postgresql:");
    }
    if cfg!(feature = "mysql") {
        schemes.push("mysql:, mariadb:");
    }
    if cfg!(feature = "sea-orm") {
        schemes.push("sea-orm+postgres:, sea-orm+mysql:, sea-orm+sqlite:");
    }
    if schemes.is_empty() {
        "none (enable a backend feature: sqlite, postgres or mysql)".to_owned()
    } else {
        schemes.join(", ")
    }
}

#[allow(dead_code)] // unused in a build with every backend feature
fn not_compiled(url: &DatabaseUrl, feature: &str) -> Error {
    Error::config(format!(
        "{} needs txkit's `{feature}` Cargo feature, which this build does not have; \
         this build accepts: {}",
        url.redacted(),
        compiled_in()
    ))
}

/// PostgreSQL on the client its `driver` option names: tokio-postgres, or txkit's own
/// protocol layer.
#[cfg(feature = "postgres")]
fn postgres(url: &DatabaseUrl) -> Result<Resolved> {
    let options = txkit_postgres::PgConnectOptions::from_url(url)?;
    Ok(match options.get_driver() {
        txkit_postgres::PgDriver::TokioPostgres => {
            with_options::<txkit_postgres::Postgres>(options)
        }
        txkit_postgres::PgDriver::Txkit => with_options::<txkit_postgres::PostgresWire>(options),
    })
}

/// Picks the backend for `url` and parses its backend-specific options.
pub(crate) fn resolve(url: &DatabaseUrl) -> Result<Resolved> {
    match url.scheme() {
        "sqlite" => {
            #[cfg(feature = "sqlite")]
            return with::<txkit_sqlite::Sqlite>(url);
            #[cfg(not(feature = "sqlite"))]
            return Err(not_compiled(url, "sqlite"));
        }
        "postgres" | "postgresql" => {
            #[cfg(feature = "postgres")]
            return postgres(url);
            #[cfg(not(feature = "postgres"))]
            return Err(not_compiled(url, "postgres"));
        }
        "mysql" | "mariadb" => {
            #[cfg(feature = "mysql")]
            return with::<txkit_mysql::MySql>(url);
            #[cfg(not(feature = "mysql"))]
            return Err(not_compiled(url, "mysql"));
        }
        scheme if scheme.starts_with("sea-orm+") => {
            #[cfg(feature = "sea-orm")]
            return with::<txkit_sea_orm::SeaOrm>(url);
            #[cfg(not(feature = "sea-orm"))]
            return Err(not_compiled(url, "sea-orm"));
        }
        other => Err(Error::config(format!(
            "unknown database URL scheme {other:?} in {}; txkit accepts sqlite:, postgres:, \
             postgresql:, mysql: and mariadb: (this build: {})",
            url.redacted(),
            compiled_in()
        ))),
    }
}
