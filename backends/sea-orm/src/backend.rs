//! [`SeaOrm`]: txkit's backend over a sea-orm `DatabaseConnection` — the pool the
//! application already has, or one txkit opens for a `sea-orm+postgres://…` URL.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::{self, ConnectOptions as _};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, SqlxMySqlConnector, SqlxPostgresConnector,
    SqlxSqliteConnector, Statement,
};
use tokio::sync::OnceCell;
use txkit_core::dialects::mysql::{MySqlDialect, ServerInfo};
use txkit_core::dialects::postgres::PgDialect;
use txkit_core::dialects::sqlite::SqliteDialect;
use txkit_core::{Backend, DatabaseUrl, Dialect, ENGINE_URL_KEYS, Error, PoolConfig, Result};

use crate::classify::to_txkit_error;
use crate::connection::SeaOrmConnection;

/// The marker type of the sea-orm backend, for `Engine`'s URL dispatch
/// (`sea-orm+postgres://…`, `sea-orm+mysql://…`, `sea-orm+sqlite://path`).
#[derive(Debug)]
pub enum SeaOrm {}

/// The dialect of the database behind a sea-orm connection.
#[derive(Debug, Clone)]
pub(crate) enum SeaDialect {
    Postgres(PgDialect),
    MySql(MySqlDialect),
    Sqlite(SqliteDialect),
}

impl SeaDialect {
    pub(crate) fn as_dyn(&self) -> &dyn Dialect {
        match self {
            Self::Postgres(d) => d,
            Self::MySql(d) => d,
            Self::Sqlite(d) => d,
        }
    }
}

/// A sea-orm connection and its dialect, ready to hand out.
#[derive(Clone)]
pub(crate) struct Ready {
    pub(crate) db: DatabaseConnection,
    pub(crate) dialect: Arc<SeaDialect>,
}

/// Where the sea-orm connection comes from.
enum Source {
    /// The application's own.
    Given(DatabaseConnection),
    /// A URL: txkit opens sea-orm's pool (sqlx's) itself, with the engine's pool settings.
    Url {
        backend: DbBackend,
        /// The URL for sqlx, without `sea-orm+` and without txkit's keys.
        inner: txkit_core::Secret,
        /// SQLite's busy timeout (txkit's `busy_timeout` key, milliseconds).
        busy_timeout: Duration,
        pool: Option<PoolConfig>,
    },
}

/// What the sea-orm backend needs to open connections: the shared sea-orm connection (made
/// at the first checkout) and the detected dialect. Cheap to clone.
#[derive(Clone)]
pub struct SeaOrmOptions {
    source: Arc<std::sync::Mutex<Source>>,
    ready: Arc<OnceCell<Ready>>,
    redacted: String,
}

impl fmt::Debug for SeaOrmOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeaOrmOptions")
            .field("url", &self.redacted)
            .finish_non_exhaustive()
    }
}

/// SQLite's busy timeout when the URL gives none (as txkit's own SQLite backend).
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

impl SeaOrmOptions {
    /// Options over an existing sea-orm connection (its pool is the only pool).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        let redacted = format!("sea-orm {:?} connection", db.get_database_backend());
        Self {
            source: Arc::new(std::sync::Mutex::new(Source::Given(db))),
            ready: Arc::new(OnceCell::new()),
            redacted,
        }
    }

    /// Reads a `sea-orm+<scheme>://…` URL.
    pub fn from_url(url: &DatabaseUrl) -> Result<Self> {
        let scheme = url.scheme();
        let inner_scheme = scheme.strip_prefix("sea-orm+").ok_or_else(|| {
            Error::config(format!(
                "{} is not a sea-orm URL; write sea-orm+postgres://…, sea-orm+mysql://… or \
                 sea-orm+sqlite://path",
                url.redacted()
            ))
        })?;
        let backend = match inner_scheme {
            "postgres" | "postgresql" => DbBackend::Postgres,
            "mysql" | "mariadb" => DbBackend::MySql,
            "sqlite" => DbBackend::Sqlite,
            other => {
                return Err(Error::config(format!(
                    "unknown database {other:?} in {}; sea-orm URLs are sea-orm+postgres://…, \
                     sea-orm+mysql://… and sea-orm+sqlite://path",
                    url.redacted()
                )));
            }
        };
        let raw = url.expose();
        let rest = &raw[scheme.len()..];
        let (head, _) = rest.split_once('?').unwrap_or((rest, ""));
        let mut busy_timeout = DEFAULT_BUSY_TIMEOUT;
        let mut kept = Vec::new();
        for (key, value) in url.query_pairs()? {
            if ENGINE_URL_KEYS.contains(&key.as_str()) {
                continue;
            }
            if backend == DbBackend::Sqlite {
                if key != "busy_timeout" {
                    return Err(Error::config(format!(
                        "unknown option {key:?} in {}; a sea-orm+sqlite URL takes busy_timeout \
                         (milliseconds) and txkit's pool options",
                        url.redacted()
                    )));
                }
                let ms = value.parse::<u64>().map_err(|_| {
                    Error::config(format!(
                        "busy_timeout must be a number of milliseconds, not {value:?}"
                    ))
                })?;
                busy_timeout = Duration::from_millis(ms);
            } else {
                kept.push((key, value));
            }
        }
        let mut inner = format!(
            "{}{head}",
            if backend == DbBackend::Sqlite {
                "sqlite"
            } else {
                inner_scheme
            }
        );
        if !kept.is_empty() {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish();
            inner.push('?');
            inner.push_str(&query);
        }
        if backend == DbBackend::Sqlite && (head.contains(":memory:") || head.is_empty()) {
            return Err(Error::config(format!(
                "{}: an in-memory SQLite database is private to one connection, and sea-orm \
                 pools several; use a file (sea-orm+sqlite://path/to/file.db)",
                url.redacted()
            )));
        }
        Ok(Self {
            source: Arc::new(std::sync::Mutex::new(Source::Url {
                backend,
                inner: txkit_core::Secret::new(inner),
                busy_timeout,
                pool: None,
            })),
            ready: Arc::new(OnceCell::new()),
            redacted: url.redacted().to_owned(),
        })
    }

    /// Gives the engine's pool settings to the pool txkit opens for a URL (a connection the
    /// application made keeps its own).
    pub(crate) fn adopt_pool(&self, pool: &PoolConfig) {
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        if let Source::Url { pool: p, .. } = &mut *source {
            *p = Some(pool.clone());
        }
    }

    /// The sea-orm connection and dialect, made (and the server's version read) once.
    pub(crate) async fn ready(&self) -> Result<&Ready> {
        self.ready
            .get_or_try_init(|| async {
                let db = self.database()?;
                let dialect = detect_dialect(&db).await?;
                Ok(Ready {
                    db,
                    dialect: Arc::new(dialect),
                })
            })
            .await
    }

    fn database(&self) -> Result<DatabaseConnection> {
        let source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        match &*source {
            Source::Given(db) => Ok(db.clone()),
            Source::Url {
                backend,
                inner,
                busy_timeout,
                pool,
            } => open_pool(*backend, inner.expose(), *busy_timeout, pool.as_ref())
                .map_err(|e| e.context(format!("opening sea-orm's pool for {}", self.redacted))),
        }
    }
}

/// Opens a sea-orm connection (sea-orm's pool) from a txkit database URL —
/// `postgres://…`, `mysql://…`, `sqlite://path?busy_timeout=ms`, with or without the
/// `sea-orm+` prefix — with txkit's defaults: SQLite files in WAL mode and created if
/// missing, and the engine's pool settings read from the URL (`pool_size`,
/// `max_overflow`, `pool_timeout`, …).
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let text = if url.starts_with("sea-orm+") {
        url.to_owned()
    } else {
        format!("sea-orm+{url}")
    };
    let url = DatabaseUrl::parse(&text)?;
    let options = SeaOrmOptions::from_url(&url)?;
    options.adopt_pool(&txkit_core::parse_url_options(&url)?.pool);
    Ok(options.ready().await?.db.clone())
}

/// sqlx pool settings from txkit's: the pool holds what txkit's pool would have held, and
/// pre-ping, recycle and idle timeout carry over.
fn pool_options<DB: sqlx::Database>(pool: Option<&PoolConfig>) -> sqlx::pool::PoolOptions<DB> {
    let mut options = sqlx::pool::PoolOptions::<DB>::new().test_before_acquire(false);
    if let Some(p) = pool {
        let max = u32::try_from(p.size + p.max_overflow)
            .unwrap_or(u32::MAX)
            .max(1);
        options = options
            .max_connections(max)
            .min_connections(u32::try_from(p.min_idle).unwrap_or(0).min(max))
            .acquire_timeout(p.timeout)
            .test_before_acquire(p.pre_ping)
            .max_lifetime(p.recycle)
            .idle_timeout(p.idle_timeout);
    }
    options
}

fn open_pool(
    backend: DbBackend,
    url: &str,
    busy_timeout: Duration,
    pool: Option<&PoolConfig>,
) -> Result<DatabaseConnection> {
    let bad_url = |e: sqlx::Error| {
        Error::config(format!(
            "the database URL was refused: {}",
            txkit_core::redact(&e.to_string())
        ))
    };
    Ok(match backend {
        DbBackend::Postgres => {
            let options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(bad_url)?;
            let pool = pool_options(pool).connect_lazy_with(options.disable_statement_logging());
            SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
        }
        DbBackend::MySql => {
            let options = sqlx::mysql::MySqlConnectOptions::from_str(url).map_err(bad_url)?;
            let pool = pool_options(pool).connect_lazy_with(options.disable_statement_logging());
            SqlxMySqlConnector::from_sqlx_mysql_pool(pool)
        }
        _ => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .map_err(bad_url)?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .disable_statement_logging();
            create_private_sqlite_file(options.get_filename());
            let pool = pool_options(pool).connect_lazy_with(options);
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
    })
}

/// Creates a new SQLite database file empty with mode 0600 before sqlx opens it, so the
/// database (and the -wal / -shm files, which SQLite gives the main file's mode) is private
/// to its owner whatever the umask. An existing file is left as it is; an in-memory
/// database has no file; any other failure is left for sqlx to report when it opens.
fn create_private_sqlite_file(path: &std::path::Path) {
    let name = path.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
}

/// The dialect of `db`'s database; for MySQL, read from the server's version (MariaDB and
/// MySQL accept different lock clauses).
async fn detect_dialect(db: &DatabaseConnection) -> Result<SeaDialect> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => SeaDialect::Postgres(PgDialect),
        DbBackend::Sqlite => SeaDialect::Sqlite(SqliteDialect),
        _ => {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::MySql, "SELECT VERSION()"))
                .await
                .map_err(|e| to_txkit_error(e, false))?
                .ok_or_else(|| Error::connection_lost("SELECT VERSION() returned no row"))?;
            let version: String = row
                .try_get_by_index(0)
                .map_err(|e| to_txkit_error(e, false))?;
            SeaDialect::MySql(MySqlDialect::new(ServerInfo::parse(&version)))
        }
    })
}

impl Backend for SeaOrm {
    type Connection = SeaOrmConnection;
    type Options = SeaOrmOptions;
    const NAME: &'static str = "sea-orm";
    const SCHEMES: &'static [&'static str] = &[
        "sea-orm+postgres",
        "sea-orm+postgresql",
        "sea-orm+mysql",
        "sea-orm+mariadb",
        "sea-orm+sqlite",
    ];

    fn options_from_url(url: &DatabaseUrl) -> Result<SeaOrmOptions> {
        SeaOrmOptions::from_url(url)
    }

    async fn connect(options: &SeaOrmOptions) -> Result<SeaOrmConnection> {
        Ok(SeaOrmConnection::new(options.ready().await?.clone()))
    }

    /// Always: sea-orm's pool is the pool. A URL's pool takes the engine's settings; an
    /// application's connection keeps its own.
    fn external_pool(options: &SeaOrmOptions, pool: &PoolConfig) -> bool {
        options.adopt_pool(pool);
        true
    }
}
