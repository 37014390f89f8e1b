//! [`Engine`]: a URL, a pool of connections to it, and the defaults for transactions.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use tracing::{Instrument, Span};
use txkit_core::{
    AnyConnection, BoxFuture, ConnectionHook, DatabaseUrl, Error, EventListener, IsolationLevel,
    ManagedConnection, Pool, PoolConfig, PoolEvent, PoolHooks, PoolKind, PoolOrder, PoolStats,
    PoolStatus, PooledConnection, ResetMode, Result, Row, Session, Transaction, TxOptions, Value,
};

use crate::backends;

/// A connection pool to one database plus the default options of its transactions; the
/// entry point of txkit. Cheap to clone: clones share the pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> txkit::Result<()> {
/// let engine = txkit::Engine::connect("sqlite::memory:").await?;
/// engine.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
///
/// let mut tx = engine.begin().await?;
/// tx.execute("INSERT INTO t (name) VALUES (?)", &txkit::params!["alice"]).await?;
/// tx.commit().await?;
///
/// let rows = engine.query("SELECT name FROM t", &[]).await?;
/// assert_eq!(rows[0].get::<String>("name")?, "alice");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    pool: Pool<AnyConnection>,
    url: DatabaseUrl,
    backend: &'static str,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("url", &self.url)
            .field("backend", &self.backend)
            .field("status", &self.pool.status())
            .finish()
    }
}

impl Engine {
    /// Opens an engine for `url` with default settings, and checks the database answers by
    /// opening a first connection (which stays in the pool).
    ///
    /// URL schemes: `sqlite://path/to/file.db`, `sqlite::memory:`, `postgres://…`,
    /// `postgresql://…`, `mysql://…`, `mariadb://…` (each with its Cargo feature).
    pub async fn connect(url: &str) -> Result<Engine> {
        Self::builder(url).build().await
    }

    /// Starts configuring an engine for `url`.
    pub fn builder(url: &str) -> EngineBuilder {
        EngineBuilder {
            url: url.to_owned(),
            prepared: None,
            settings: Vec::new(),
            sized: false,
            defaults: TxOptions::new(),
            listeners: Vec::new(),
            hooks: PoolHooks::default(),
            eager: true,
        }
    }

    /// The backend this engine talks to: `"sqlite"`, `"postgres"` or `"mysql"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The URL, printable (any password replaced by `***`).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The transaction options every transaction of this engine starts from.
    pub fn default_options(&self) -> TxOptions {
        self.pool.defaults()
    }

    /// The pool's current counts.
    pub fn status(&self) -> PoolStatus {
        self.pool.status()
    }

    /// What the pool has done: checkouts, waits and their percentiles, timeouts,
    /// connections opened and closed by reason.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Calls `listener` for every pool event from now on.
    pub fn on_event(&self, listener: impl Fn(&PoolEvent) + Send + Sync + 'static) {
        self.pool.on_event(listener);
    }

    /// The pool itself.
    pub fn pool(&self) -> &Pool<AnyConnection> {
        &self.pool
    }

    /// Checks a connection out of the pool. On it, `begin()` / `begin_with(opts)` start
    /// transactions and `set_isolation(level)` changes the default isolation for this
    /// connection only (the engine's default comes back when it returns to the pool).
    #[track_caller]
    pub fn connection(
        &self,
    ) -> impl Future<Output = Result<PooledConnection<AnyConnection>>> + Send + '_ {
        let span = if checkout_traced() {
            tracing::debug_span!("txkit.checkout", backend = self.backend)
        } else {
            Span::none()
        };
        self.pool.get_at(Location::caller()).instrument(span)
    }

    /// Begins a transaction with the engine's default options on a pooled connection; the
    /// connection returns to the pool when the transaction ends.
    #[track_caller]
    pub fn begin(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, AnyConnection>>> + Send + '_ {
        self.begin_with(TxOptions::new())
    }

    /// Begins a transaction; unset fields of `opts` come from the engine's defaults.
    #[track_caller]
    pub fn begin_with(
        &self,
        opts: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'static, AnyConnection>>> + Send + '_ {
        let location = Location::caller();
        let span = if checkout_traced() {
            tracing::debug_span!("txkit.begin", backend = self.backend, ?opts)
        } else {
            Span::none()
        };
        async move {
            let conn = self.pool.get_at(location).await?;
            Transaction::begin_pooled(conn, opts).await
        }
        .instrument(span)
    }

    /// A unit of work ([`Session`]) with the engine's default options: nothing is sent
    /// until its first statement, which checks a connection out and carries BEGIN.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> txkit::Result<()> {
    /// let engine = txkit::Engine::connect("sqlite::memory:").await?;
    /// engine.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
    /// let mut session = engine.session();
    /// session.execute("INSERT INTO t (name) VALUES (?)", &txkit::params!["alice"]).await?;
    /// session.commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn session<'a>(&self) -> Session<'a, AnyConnection> {
        self.session_with(TxOptions::new())
    }

    /// A [`Session`] whose transaction begins with `opts` (unset fields from the engine's
    /// defaults): per-session isolation, read-only, SQLite IMMEDIATE, ….
    pub fn session_with<'a>(&self, opts: TxOptions) -> Session<'a, AnyConnection> {
        Session::new(self.pool.clone(), opts)
    }

    /// Runs one statement in autocommit mode on a pooled connection.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.connection().await?.execute(sql, params).await
    }

    /// Runs one query in autocommit mode on a pooled connection.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.connection().await?.query(sql, params).await
    }

    /// Closes idle connections and refuses new checkouts.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether a subscriber wants the checkout spans (`txkit.checkout`, `txkit.begin`, at
/// DEBUG). Without one they are not made at all: with `tracing`'s `log` feature on (other
/// crates in an application often turn it on) even a disabled span consults `log` when made
/// and at every poll, a cost paid on every checkout.
fn checkout_traced() -> bool {
    tracing::enabled!(tracing::Level::DEBUG)
}

/// A change the builder makes to the pool settings, applied over the URL's.
type PoolSetting = Arc<dyn Fn(&mut PoolConfig) + Send + Sync>;

/// Configures an [`Engine`]. Every pool setting can also come from the URL's query string
/// (`?pool_size=10&max_overflow=0&pool_timeout=5&pool_pre_ping=true&isolation=serializable`);
/// a builder call wins over the URL. Every backend decodes a URL the way libpq does: `%XX`
/// is a byte (`%20` a space, `%40` an `@`), and a `+` stays a `+`.
#[derive(Clone)]
#[must_use = "call build() to create the engine"]
pub struct EngineBuilder {
    url: String,
    /// A backend made by the caller rather than from the URL (an application's sea-orm
    /// connection); its pool is its own, so pool settings are refused.
    pub(crate) prepared: Option<Arc<dyn backends::Resolved>>,
    settings: Vec<PoolSetting>,
    sized: bool,
    defaults: TxOptions,
    listeners: Vec<EventListener>,
    hooks: PoolHooks,
    eager: bool,
}

/// What the builder hands the pool besides its settings: event listeners and hooks.
struct Setup {
    listeners: Vec<EventListener>,
    hooks: PoolHooks,
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pool = PoolConfig::default();
        for setting in &self.settings {
            setting(&mut pool);
        }
        f.debug_struct("EngineBuilder")
            .field("url", &txkit_core::redact(&self.url))
            .field("pool_overrides", &pool)
            .field("defaults", &self.defaults)
            .field("eager", &self.eager)
            .finish()
    }
}

impl EngineBuilder {
    fn set(mut self, setting: impl Fn(&mut PoolConfig) + Send + Sync + 'static) -> Self {
        self.settings.push(Arc::new(setting));
        self
    }

    /// Queue (default), Null or Static.
    pub fn pool_kind(mut self, kind: PoolKind) -> Self {
        self.sized = true;
        self.set(move |p| p.kind = kind)
    }

    /// How many connections the pool keeps (default 5).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.sized = true;
        self.set(move |p| p.size = size)
    }

    /// How many more it may open under load, closed on return (default 10).
    pub fn max_overflow(self, n: usize) -> Self {
        self.set(move |p| p.max_overflow = n)
    }

    /// How long an idle overflow connection is kept before it is closed (default 5 s;
    /// zero closes it on return as SQLAlchemy does): see
    /// [`PoolConfig::overflow_idle`].
    pub fn overflow_idle(self, idle: Duration) -> Self {
        self.set(move |p| p.overflow_idle = idle)
    }

    /// How long a checkout waits for a free connection (default 30 s).
    pub fn pool_timeout(self, timeout: Duration) -> Self {
        self.set(move |p| p.timeout = timeout)
    }

    /// Replace connections older than `age` at checkout (default: never).
    pub fn pool_recycle(self, age: Duration) -> Self {
        self.set(move |p| p.recycle = Some(age))
    }

    /// Ping connections idle for at least `idle` (zero: every checkout) before handing
    /// them out, replacing dead ones without the caller seeing an error.
    pub fn pool_pre_ping(self, idle: Duration) -> Self {
        self.set(move |p| {
            p.pre_ping = true;
            p.pre_ping_idle = idle;
        })
    }

    /// Which idle connection a checkout takes (default LIFO).
    pub fn pool_order(self, order: PoolOrder) -> Self {
        self.set(move |p| p.order = order)
    }

    /// How a returned connection is cleaned (default: roll back what is open, and fully
    /// reset a connection that ran SQL which may have changed its session state: `SET`,
    /// temporary tables, `USE`, `PREPARE`, `ATTACH`, `PRAGMA`, anything unrecognised).
    /// See [`ResetMode`].
    pub fn reset_on_return(self, mode: ResetMode) -> Self {
        self.set(move |p| p.reset_on_return = mode)
    }

    /// Close connections idle this long (down to `min_idle`).
    pub fn idle_timeout(self, idle: Duration) -> Self {
        self.set(move |p| p.idle_timeout = Some(idle))
    }

    /// Keep at least this many connections open.
    pub fn min_idle(self, n: usize) -> Self {
        self.set(move |p| p.min_idle = n)
    }

    /// How long opening a connection may take (default 30 s).
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.set(move |p| p.connect_timeout = timeout)
    }

    /// Warn, naming where it was checked out, when a connection is held longer than this.
    pub fn leak_threshold(self, held: Duration) -> Self {
        self.set(move |p| p.leak_threshold = Some(held))
    }

    /// Any other pool setting.
    pub fn pool_config(self, f: impl Fn(&mut PoolConfig) + Send + Sync + 'static) -> Self {
        self.set(f)
    }

    /// The default isolation level of the engine's transactions.
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.defaults = self.defaults.isolation(level);
        self
    }

    /// The default options of the engine's transactions.
    pub fn default_options(mut self, opts: TxOptions) -> Self {
        self.defaults = opts;
        self
    }

    /// Calls `listener` for every pool event (connect, first connect, checkout, checkin,
    /// reset, invalidate, close).
    pub fn on_event(mut self, listener: impl Fn(&PoolEvent) + Send + Sync + 'static) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// Runs `hook` on every new connection before its first use — to set session state
    /// that every user of the engine needs (`SET search_path TO app`, `SET time_zone =
    /// '+00:00'`, `PRAGMA foreign_keys = ON`). Bounded by the connect timeout; a hook
    /// that fails (or leaves a transaction open) discards the connection, and the caller
    /// that needed it gets the hook's error, which names the hook.
    ///
    /// ```no_run
    /// # async fn demo() -> txkit::Result<()> {
    /// let engine = txkit::Engine::builder("postgres://app@127.0.0.1/bank")
    ///     .after_connect(|conn| {
    ///         Box::pin(async move {
    ///             conn.execute("SET search_path TO bank, public", &[]).await?;
    ///             Ok(())
    ///         })
    ///     })
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn after_connect<F>(mut self, hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut ManagedConnection) -> BoxFuture<'c, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        self.hooks.after_connect = Some(ConnectionHook::new(hook));
        self
    }

    /// Runs `hook` on every checkout, before the caller gets the connection (after the
    /// pool's own checks: recycle, pre-ping, rollback owed). Bounded by the pool timeout;
    /// a failure discards the connection and is the caller's error.
    pub fn on_checkout<F>(mut self, hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut ManagedConnection) -> BoxFuture<'c, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        self.hooks.on_checkout = Some(ConnectionHook::new(hook));
        self
    }

    /// Runs `hook` on every connection that comes back, after its rollback (if one was
    /// owed) and before anyone else can get it — on a background task, since a return
    /// happens in `Drop`. Bounded by the reset timeout; a failure discards the connection.
    pub fn on_checkin<F>(mut self, hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut ManagedConnection) -> BoxFuture<'c, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        self.hooks.on_checkin = Some(ConnectionHook::new(hook));
        self
    }

    /// Whether `build()` opens a first connection to fail fast on a bad URL or an
    /// unreachable server (default true).
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }

    /// Creates the engine.
    pub async fn build(self) -> Result<Engine> {
        let url = DatabaseUrl::parse(&self.url)?;
        let from_url = txkit_core::parse_url_options(&url)?;
        let mut pool = from_url.pool;
        for setting in &self.settings {
            setting(&mut pool);
        }
        let defaults = self.defaults.or(from_url.defaults);
        let resolved = match &self.prepared {
            None => backends::resolve(&url)?,
            Some(_) if !self.settings.is_empty() => {
                return Err(Error::config(
                    "this engine runs on the application's own sea-orm connection, whose pool \
                     keeps its own settings: set them on sea_orm::ConnectOptions (or build the \
                     engine from a sea-orm+… URL to have txkit's pool settings applied)",
                ));
            }
            Some(prepared) => prepared.boxed_clone(),
        };
        Self::finish(
            resolved,
            url,
            pool,
            self.sized || from_url.sized,
            defaults,
            Setup {
                listeners: self.listeners,
                hooks: self.hooks,
            },
            self.eager,
        )
        .await
    }

    /// Builds the engine over a resolved backend.
    async fn finish(
        resolved: Box<dyn backends::Resolved>,
        url: DatabaseUrl,
        mut pool: PoolConfig,
        sized: bool,
        defaults: TxOptions,
        setup: Setup,
        eager: bool,
    ) -> Result<Engine> {
        if resolved.adopt_pool(&pool) {
            // The driver's pool is the pool: txkit hands out handles on it.
            pool.kind = PoolKind::Null;
        }
        if resolved.single_connection() {
            if sized && (pool.kind != PoolKind::Static && pool.size != 1) {
                return Err(Error::config(format!(
                    "{} is a private in-memory database: each connection would see a different \
                     one, so its engine uses a Static pool of one shared connection; remove \
                     pool_size/pool_kind, or use a file database",
                    url.redacted()
                )));
            }
            pool.kind = PoolKind::Static;
        }
        if pool.size == 0 && pool.kind != PoolKind::Null {
            return Err(Error::config("pool_size must be at least 1"));
        }
        let backend = resolved.backend();
        let pool = Pool::with_hooks(resolved, pool, defaults, url.redacted(), setup.hooks);
        for listener in setup.listeners {
            pool.on_event(move |e| listener(e));
        }
        let engine = Engine { pool, backend, url };
        if eager {
            engine.pool.get().await?;
        }
        tracing::debug!(url = %engine.url, backend = engine.backend, "txkit engine ready");
        Ok(engine)
    }
}
