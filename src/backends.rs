//! From a URL scheme to a connector of the backend it names. Each backend is compiled in
//! only with its Cargo feature; a URL for a backend left out says which feature to enable.

use txkit_core::{
    AnyConnection, Backend, BoxFuture, Connect, DatabaseUrl, Error, PoolConfig, Result,
};

/// A backend with the options one URL (or one application connection) gave it: what the
/// engine asks of a backend, object-safe. The one seam between the engine and the
/// backends: it opens connections for the pool, and says how the pool must be set up.
pub(crate) trait Resolved: Connect<AnyConnection> {
    /// The backend's name (`Backend::NAME`).
    fn backend(&self) -> &'static str;
    /// Whether every connection would see a different database (a private in-memory
    /// one), so the pool must hold exactly one.
    fn single_connection(&self) -> bool;
    /// Lets a backend that pools connections itself take the engine's pool settings;
    /// whether it does (see `Backend::external_pool`).
    fn adopt_pool(&self, pool: &PoolConfig) -> bool;
    /// A copy, for a builder that builds more than one engine.
    fn boxed_clone(&self) -> Box<dyn Resolved>;
}

/// Backend `B` with its parsed options.
struct WithOptions<B: Backend>(B::Options);

impl<B: Backend> Connect<AnyConnection> for WithOptions<B> {
    fn connect(&self) -> BoxFuture<'_, Result<AnyConnection>> {
        Box::pin(async move { B::connect(&self.0).await.map(AnyConnection::new) })
    }
}

impl<B: Backend> Resolved for WithOptions<B> {
    fn backend(&self) -> &'static str {
        B::NAME
    }
    fn single_connection(&self) -> bool {
        B::single_connection(&self.0)
    }
    fn adopt_pool(&self, pool: &PoolConfig) -> bool {
        B::external_pool(&self.0, pool)
    }
    fn boxed_clone(&self) -> Box<dyn Resolved> {
        Box::new(Self(self.0.clone()))
    }
}

/// Resolves `url` with backend `B`.
#[allow(dead_code)] // unused only in a build with no backend feature
fn with<B: Backend>(url: &DatabaseUrl) -> Result<Box<dyn Resolved>> {
    Ok(with_options::<B>(B::options_from_url(url)?))
}

/// A backend with its options already made.
#[allow(dead_code)] // unused only in a build with no backend feature
pub(crate) fn with_options<B: Backend>(options: B::Options) -> Box<dyn Resolved> {
    Box::new(WithOptions::<B>(options))
}

/// Opens a URL of one backend's schemes.
type Opener = fn(&DatabaseUrl) -> Result<Box<dyn Resolved>>;

/// A backend txkit can be built with: its Cargo feature, its URL schemes (the same as its
/// `Backend::SCHEMES`, which a test checks for every backend compiled in), and how a URL
/// of it is opened — `None` when this build lacks the feature. The one list of schemes:
/// resolving a URL and every error message read it.
struct Known {
    feature: &'static str,
    schemes: &'static [&'static str],
    open: Option<Opener>,
}

const KNOWN: [Known; 4] = [
    Known {
        feature: "sqlite",
        schemes: &["sqlite"],
        open: sqlite(),
    },
    Known {
        feature: "postgres",
        schemes: &["postgres", "postgresql"],
        open: postgres(),
    },
    Known {
        feature: "mysql",
        schemes: &["mysql", "mariadb"],
        open: mysql(),
    },
    Known {
        feature: "sea-orm",
        schemes: &[
            "sea-orm+postgres",
            "sea-orm+postgresql",
            "sea-orm+mysql",
            "sea-orm+mariadb",
            "sea-orm+sqlite",
        ],
        open: sea_orm(),
    },
];

const fn sqlite() -> Option<Opener> {
    #[cfg(feature = "sqlite")]
    return Some(with::<txkit_sqlite::Sqlite>);
    #[cfg(not(feature = "sqlite"))]
    return None;
}

/// PostgreSQL on the client its `driver` option names: tokio-postgres, or txkit's own
/// protocol layer.
const fn postgres() -> Option<Opener> {
    #[cfg(feature = "postgres")]
    return Some(|url| {
        let options = txkit_postgres::PgConnectOptions::from_url(url)?;
        Ok(match options.get_driver() {
            txkit_postgres::PgDriver::TokioPostgres => {
                with_options::<txkit_postgres::Postgres>(options)
            }
            txkit_postgres::PgDriver::Txkit => {
                with_options::<txkit_postgres::PostgresWire>(options)
            }
        })
    });
    #[cfg(not(feature = "postgres"))]
    return None;
}

const fn mysql() -> Option<Opener> {
    #[cfg(feature = "mysql")]
    return Some(with::<txkit_mysql::MySql>);
    #[cfg(not(feature = "mysql"))]
    return None;
}

const fn sea_orm() -> Option<Opener> {
    #[cfg(feature = "sea-orm")]
    return Some(with::<txkit_sea_orm::SeaOrm>);
    #[cfg(not(feature = "sea-orm"))]
    return None;
}

/// `schemes` as an error message lists them: `sqlite:, postgres:, …`.
fn listed<'a>(schemes: impl Iterator<Item = &'a str>) -> String {
    let listed: Vec<String> = schemes.map(|s| format!("{s}:")).collect();
    match listed.is_empty() {
        true => "none (enable a backend feature: sqlite, postgres, mysql or sea-orm)".to_owned(),
        false => listed.join(", "),
    }
}

/// The schemes this build accepts.
fn compiled_in() -> String {
    let compiled = KNOWN.iter().filter(|k| k.open.is_some());
    listed(compiled.flat_map(|k| k.schemes.iter().copied()))
}

/// Picks the backend for `url` and parses its backend-specific options.
pub(crate) fn resolve(url: &DatabaseUrl) -> Result<Box<dyn Resolved>> {
    let scheme = url.scheme();
    let Some(known) = KNOWN.iter().find(|k| k.schemes.contains(&scheme)) else {
        return Err(Error::config(format!(
            "unknown database URL scheme {scheme:?} in {}; txkit accepts {} (this build: {})",
            url.redacted(),
            listed(KNOWN.iter().flat_map(|k| k.schemes.iter().copied())),
            compiled_in()
        )));
    };
    match known.open {
        Some(open) => open(url),
        None => Err(Error::config(format!(
            "{} needs txkit's `{}` Cargo feature, which this build does not have; this build \
             accepts: {}",
            url.redacted(),
            known.feature,
            compiled_in()
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)] // unused only in a build with no backend feature
    use txkit_core::Backend;

    use super::KNOWN;

    /// The schemes listed here for `feature`.
    #[allow(dead_code)] // unused only in a build with no backend feature
    fn listed(feature: &str) -> &'static [&'static str] {
        KNOWN
            .iter()
            .find(|k| k.feature == feature)
            .map_or(&[], |k| k.schemes)
    }

    #[test]
    fn the_list_matches_each_backends_own_schemes() {
        #[cfg(feature = "sqlite")]
        assert_eq!(listed("sqlite"), txkit_sqlite::Sqlite::SCHEMES);
        #[cfg(feature = "postgres")]
        {
            assert_eq!(listed("postgres"), txkit_postgres::Postgres::SCHEMES);
            assert_eq!(listed("postgres"), txkit_postgres::PostgresWire::SCHEMES);
        }
        #[cfg(feature = "mysql")]
        assert_eq!(listed("mysql"), txkit_mysql::MySql::SCHEMES);
        #[cfg(feature = "sea-orm")]
        assert_eq!(listed("sea-orm"), txkit_sea_orm::SeaOrm::SCHEMES);
        let compiled = KNOWN.iter().filter(|k| k.open.is_some()).count();
        let features = [
            cfg!(feature = "sqlite"),
            cfg!(feature = "postgres"),
            cfg!(feature = "mysql"),
            cfg!(feature = "sea-orm"),
        ];
        assert_eq!(compiled, features.iter().filter(|on| **on).count());
    }
}
