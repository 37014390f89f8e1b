//! The matrix: one scenario body, stamped once per backend by [`matrix!`].

use std::future::{Future, poll_fn};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use txkit::core::Connection as _;
use txkit::sqlite::SqliteConnection;
use txkit::{Engine, EngineBuilder};

/// The backends of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// One test's database: an engine builder for it, a unique prefix for its tables, and what
/// must stay alive while it runs (a SQLite file's directory).
pub struct TestDb {
    /// The database.
    pub kind: Kind,
    /// Whether the engine runs over sea-orm (a `sea-orm+…` URL) rather than txkit's own
    /// driver for `kind`.
    pub sea_orm: bool,
    pub url: String,
    /// The application_name given to PostgreSQL sessions of this test.
    pub app: String,
    /// Whether a connection pooler in transaction mode (PgBouncer) stands between txkit and
    /// the server: a session is then a server connection only for one transaction.
    pub pooled: bool,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (or test process) uses: `<base>_<pid>_<n>`.
pub fn unique(base: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{base}_{}_{n}", std::process::id())
}

/// `url`'s `host:port`, for pointing a test proxy at the server.
pub fn host_port(url: &str) -> String {
    let start = url
        .find('@')
        .or_else(|| url.find("://").map(|i| i + 2))
        .unwrap()
        + 1;
    let end = start + url[start..].find('/').unwrap();
    url[start..end].to_owned()
}

/// Whether the long form of the reliability tests was asked for (`TXKIT_LONG=1`).
pub fn long() -> bool {
    std::env::var("TXKIT_LONG").is_ok_and(|v| v == "1")
}

fn require_all() -> bool {
    std::env::var("TXKIT_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1")
}

fn server_url(var: &str, name: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if require_all() => {
            panic!("TXKIT_REQUIRE_ALL_BACKENDS=1 but {var} is not set: the {name} tests cannot run")
        }
        _ => {
            println!("SKIP {name}: set {var} to run this test against a {name} server");
            None
        }
    }
}

impl TestDb {
    /// The database for `kind`, or `None` (with a printed skip) when its server is not
    /// configured.
    pub fn new(kind: Kind) -> Option<TestDb> {
        let app = unique("txkit_test");
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("test.db");
                Some(TestDb {
                    kind,
                    sea_orm: false,
                    pooled: false,
                    url: format!("sqlite://{}?busy_timeout=10000", path.display()),
                    app,
                    _dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let base = server_url("TXKIT_POSTGRES_URL", "PostgreSQL")?;
                let sep = if base.contains('?') { '&' } else { '?' };
                Some(TestDb {
                    kind,
                    sea_orm: false,
                    pooled: false,
                    url: format!("{base}{sep}application_name={app}"),
                    app,
                    _dir: None,
                })
            }
            Kind::MySql => {
                let base = server_url("TXKIT_MYSQL_URL", "MySQL")?;
                Some(TestDb {
                    kind,
                    sea_orm: false,
                    pooled: false,
                    url: base,
                    app,
                    _dir: None,
                })
            }
        }
    }

    /// A SQLite database whose connections run statements on a thread of their own
    /// (`execution=thread`) rather than inline (the default).
    pub fn new_sqlite_thread() -> TestDb {
        let mut db = TestDb::new(Kind::Sqlite).expect("SQLite needs no server");
        db.url.push_str("&execution=thread");
        db
    }

    /// The PostgreSQL database reached through txkit's own protocol layer (`driver=txkit`),
    /// its tables in schema [`WIRE_SCHEMA`]: the `postgres` cell of the same scenario runs
    /// at the same time, and scenarios with fixed table names would otherwise meet.
    pub fn new_postgres_wire() -> Option<TestDb> {
        let mut db = TestDb::new(Kind::Postgres)?;
        db.url.push_str(&format!(
            "&driver=txkit&options=-c%20search_path%3D{WIRE_SCHEMA}"
        ));
        Some(db)
    }

    /// The same database reached through sea-orm's pool: the URL's scheme gets `sea-orm+`.
    pub fn new_sea_orm(kind: Kind) -> Option<TestDb> {
        let mut db = TestDb::new(kind)?;
        db.url = format!("sea-orm+{}", db.url);
        db.sea_orm = true;
        Some(db)
    }

    /// A builder for an engine on this database.
    pub fn builder(&self) -> EngineBuilder {
        Engine::builder(&self.url)
    }

    /// An engine with default settings.
    pub async fn engine(&self) -> Engine {
        self.builder().build().await.expect("engine")
    }

    /// The column type for an auto-numbered primary key.
    pub fn serial_pk(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Kind::Postgres => "BIGSERIAL PRIMARY KEY",
            Kind::MySql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        }
    }

    /// After a test on PostgreSQL: no session of this test is idle in a transaction.
    pub async fn assert_no_idle_in_transaction(&self) {
        if self.kind != Kind::Postgres {
            return;
        }
        let engine = Engine::builder(&self.url)
            .pool_size(1)
            .build()
            .await
            .expect("checker engine");
        // A connection dropped inside a transaction is rolled back by the pool's cleaning
        // task, which may still be at it when the scenario ends: wait (bounded) for that.
        // A connection left dirty stays idle in transaction and fails here.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let n = idle_in_transaction(&engine, &self.app).await;
            if n == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} session(s) of {} still idle in transaction after 5 s",
                self.app
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        engine.close().await;
    }
}

/// Runs `scenario` on `kind`'s database, or prints a skip.
pub async fn run<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDb::new(kind) else {
        return;
    };
    scenario(db).await;
}

/// Runs `scenario` on a SQLite database whose connections each have a thread of their own
/// (`kind` is SQLite).
pub async fn run_sqlite_thread<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    assert_eq!(kind, Kind::Sqlite, "thread execution is SQLite's");
    scenario(TestDb::new_sqlite_thread()).await;
}

/// The schema of the `postgres_wire` cells' tables.
pub const WIRE_SCHEMA: &str = "txkit_wire_cells";

/// Runs `scenario` on PostgreSQL through txkit's own protocol layer (`kind` is PostgreSQL),
/// or prints a skip.
pub async fn run_postgres_wire<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    static SCHEMA: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    assert_eq!(kind, Kind::Postgres, "the protocol layer is PostgreSQL's");
    let Some(db) = TestDb::new_postgres_wire() else {
        return;
    };
    SCHEMA
        .get_or_init(|| async {
            let admin = TestDb::new(Kind::Postgres)
                .expect("configured: the wire cell's URL was")
                .engine()
                .await;
            admin
                .execute(&format!("CREATE SCHEMA IF NOT EXISTS {WIRE_SCHEMA}"), &[])
                .await
                .expect("the postgres_wire cells' schema");
            admin.close().await;
        })
        .await;
    scenario(db).await;
}

/// The databases of the PgBouncer cells, one per driver: the `postgres` cells run at the same
/// time, and scenarios with fixed table names would otherwise meet. PgBouncer passes a
/// database name through to the server's database of that name.
pub const PGBOUNCER_DATABASES: [&str; 2] = ["txkit_pgbouncer", "txkit_pgbouncer_wire"];

impl TestDb {
    /// PostgreSQL through the PgBouncer at `TXKIT_PGBOUNCER_URL` (transaction pool mode),
    /// on txkit's own protocol layer when `wire`, in a database of the cell's own.
    pub async fn new_postgres_pgbouncer(wire: bool) -> Option<TestDb> {
        static DATABASES: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        let direct = TestDb::new(Kind::Postgres)?;
        let bouncer = server_url("TXKIT_PGBOUNCER_URL", "PgBouncer")?;
        DATABASES
            .get_or_init(|| async {
                let admin = Engine::builder(&direct.url)
                    .pool_size(1)
                    .build()
                    .await
                    .expect("admin engine");
                for name in PGBOUNCER_DATABASES {
                    let found = admin
                        .query(
                            "SELECT 1 AS one FROM pg_database WHERE datname = ?",
                            &txkit::params![name],
                        )
                        .await
                        .expect("pg_database");
                    if found.is_empty() {
                        // Another test process may create it at the same moment.
                        if let Err(e) = admin.execute(&format!("CREATE DATABASE {name}"), &[]).await
                        {
                            assert!(
                                e.to_string().contains("already exists")
                                    || e.to_string().contains("duplicate key"),
                                "CREATE DATABASE {name}: {e}"
                            );
                        }
                    }
                }
                admin.close().await;
            })
            .await;
        let database = PGBOUNCER_DATABASES[usize::from(wire)];
        let (base, query) = bouncer.split_once('?').unwrap_or((&bouncer, ""));
        let server = &base[..base.rfind('/').expect("a database in TXKIT_PGBOUNCER_URL")];
        let mut url = format!("{server}/{database}?application_name={}", direct.app);
        if !query.is_empty() {
            url = format!("{url}&{query}");
        }
        if wire {
            url.push_str("&driver=txkit");
        }
        Some(TestDb {
            kind: Kind::Postgres,
            sea_orm: false,
            url,
            app: direct.app,
            pooled: true,
            _dir: None,
        })
    }
}

/// Runs `scenario` on PostgreSQL through PgBouncer on the tokio-postgres driver (`kind` is
/// PostgreSQL), or prints a skip.
pub async fn run_postgres_pgbouncer<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    run_pooled(kind, false, scenario).await;
}

/// Runs `scenario` on PostgreSQL through PgBouncer on txkit's own protocol layer (`kind` is
/// PostgreSQL), or prints a skip.
pub async fn run_postgres_pgbouncer_wire<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    run_pooled(kind, true, scenario).await;
}

async fn run_pooled<F, Fut>(kind: Kind, wire: bool, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    assert_eq!(kind, Kind::Postgres, "PgBouncer stands before PostgreSQL");
    if let Some(db) = TestDb::new_postgres_pgbouncer(wire).await {
        scenario(db).await;
    }
}

/// How many server sessions of the test named `app` are idle inside a transaction, as
/// `observer` sees in `pg_stat_activity`. Behind a pooler a transaction left open keeps its
/// server session pinned to the client, in that state, under the client's name.
pub async fn idle_in_transaction(observer: &Engine, app: &str) -> i64 {
    let rows = observer
        .query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE application_name = ? AND state LIKE 'idle in transaction%'",
            &txkit::params![app],
        )
        .await
        .expect("pg_stat_activity");
    rows[0].get("n").expect("count")
}

/// Runs `scenario` on `kind`'s database through sea-orm, or prints a skip.
pub async fn run_sea_orm<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDb::new_sea_orm(kind) else {
        return;
    };
    scenario(db).await;
}

/// Stamps each named scenario (an `async fn(TestDb)`) once per backend:
/// `<scenario>::sqlite`, `<scenario>::postgres`, `<scenario>::mysql`, and once more on SQLite
/// with a thread per connection (`execution=thread`), `<scenario>::sqlite_thread` (not with
/// `without_thread:` first,
/// for scenarios that open SQLite some other way), and once more on PostgreSQL through
/// txkit's own protocol layer, `<scenario>::postgres_wire`, and twice on PostgreSQL through
/// PgBouncer in transaction mode, `<scenario>::postgres_pgbouncer` and
/// `<scenario>::postgres_pgbouncer_wire` (the two drivers). With `sea_orm:` first,
/// also the fourth column, the same three databases through sea-orm's pool:
/// `<scenario>::sea_orm_sqlite`, `<scenario>::sea_orm_postgres`, `<scenario>::sea_orm_mysql`.
#[macro_export]
macro_rules! matrix {
    // A server cell is ignored, with the variable to set, when the build found its URL
    // unset (tests/build.rs): libtest then counts it as ignored, not as passed.
    (@cell $runner:ident $name:ident Postgres $scenario:ident) => {
        #[cfg_attr(
            txkit_skip_postgres,
            ignore = "server cell: set TXKIT_POSTGRES_URL to run it"
        )]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::common::$runner($crate::common::Kind::Postgres, super::$scenario).await;
        }
    };
    (@cell $runner:ident $name:ident Pgbouncer $scenario:ident) => {
        #[cfg_attr(
            txkit_skip_pgbouncer,
            ignore = "server cell: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
        )]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::common::$runner($crate::common::Kind::Postgres, super::$scenario).await;
        }
    };
    (@pooled $scenario:ident) => {
        $crate::matrix!(@cell run_postgres_pgbouncer postgres_pgbouncer Pgbouncer $scenario);
        $crate::matrix!(
            @cell run_postgres_pgbouncer_wire postgres_pgbouncer_wire Pgbouncer $scenario
        );
    };
    // A scenario that cannot apply through a pooler: its pooled cells are ignored with the
    // reason (a literal, which must start "not through a pooler: "), so libtest counts them,
    // and `cargo xtask test` adds them up on its last line.
    (@pooled $scenario:ident ($why:literal)) => {
        #[ignore = $why]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres_pgbouncer() {
            $crate::common::run_postgres_pgbouncer(
                $crate::common::Kind::Postgres,
                super::$scenario,
            )
            .await;
        }
        #[ignore = $why]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres_pgbouncer_wire() {
            $crate::common::run_postgres_pgbouncer_wire(
                $crate::common::Kind::Postgres,
                super::$scenario,
            )
            .await;
        }
    };
    (@cell $runner:ident $name:ident MySql $scenario:ident) => {
        #[cfg_attr(
            txkit_skip_mysql,
            ignore = "server cell: set TXKIT_MYSQL_URL to run it"
        )]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::common::$runner($crate::common::Kind::MySql, super::$scenario).await;
        }
    };
    (@cell $runner:ident $name:ident $kind:ident $scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::common::$runner($crate::common::Kind::$kind, super::$scenario).await;
        }
    };
    (@three $runner:ident [$sqlite:ident $postgres:ident $mysql:ident] $scenario:ident) => {
        $crate::matrix!(@cell $runner $sqlite Sqlite $scenario);
        $crate::matrix!(@cell $runner $postgres Postgres $scenario);
        $crate::matrix!(@cell $runner $mysql MySql $scenario);
    };
    (sea_orm: $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            $crate::matrix!(@three run [sqlite postgres mysql] $scenario);
            $crate::matrix!(@cell run_postgres_wire postgres_wire Postgres $scenario);
            $crate::matrix!(@pooled $scenario);
            $crate::matrix!(@cell run_sqlite_thread sqlite_thread Sqlite $scenario);
            $crate::matrix!(
                @three run_sea_orm [sea_orm_sqlite sea_orm_postgres sea_orm_mysql] $scenario
            );
        }
    )*};
    (without_thread: $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            $crate::matrix!(@three run [sqlite postgres mysql] $scenario);
            $crate::matrix!(@cell run_postgres_wire postgres_wire Postgres $scenario);
            $crate::matrix!(@pooled $scenario);
        }
    )*};
    (without_thread, not_pooled($why:literal): $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            $crate::matrix!(@three run [sqlite postgres mysql] $scenario);
            $crate::matrix!(@cell run_postgres_wire postgres_wire Postgres $scenario);
            $crate::matrix!(@pooled $scenario ($why));
        }
    )*};
    (not_pooled($why:literal): $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            $crate::matrix!(@three run [sqlite postgres mysql] $scenario);
            $crate::matrix!(@cell run_postgres_wire postgres_wire Postgres $scenario);
            $crate::matrix!(@pooled $scenario ($why));
            $crate::matrix!(@cell run_sqlite_thread sqlite_thread Sqlite $scenario);
        }
    )*};
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            $crate::matrix!(@three run [sqlite postgres mysql] $scenario);
            $crate::matrix!(@cell run_postgres_wire postgres_wire Postgres $scenario);
            $crate::matrix!(@pooled $scenario);
            $crate::matrix!(@cell run_sqlite_thread sqlite_thread Sqlite $scenario);
        }
    )*};
}

/// Polls `fut` at most `polls` times (yielding to the runtime between polls) and then drops
/// it: a cancellation after exactly `polls` polls. Returns the output if it finished first.
pub async fn poll_then_drop<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        let step = poll_fn(|cx| match fut.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => Poll::Ready(None),
        })
        .await;
        if step.is_some() {
            return step;
        }
        tokio::task::yield_now().await;
    }
    None
}

/// Counts the rows of `table`.
pub async fn count(engine: &Engine, table: &str) -> i64 {
    let rows = engine
        .query(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await
        .expect("count");
    rows[0].get("n").expect("n")
}

/// Names (column `name`) in `table`, sorted.
pub async fn names(engine: &Engine, table: &str) -> Vec<String> {
    engine
        .query(&format!("SELECT name FROM {table} ORDER BY name"), &[])
        .await
        .expect("names")
        .iter()
        .map(|r| r.get::<String>("name").expect("name"))
        .collect()
}

/// Creates `table (id <serial pk>, name VARCHAR(100))` and returns its name.
pub async fn people_table(db: &TestDb, engine: &Engine) -> String {
    let table = unique("people");
    engine
        .execute(
            &format!(
                "CREATE TABLE {table} (id {}, name VARCHAR(100) NOT NULL)",
                db.serial_pk()
            ),
            &[],
        )
        .await
        .expect("create table");
    table
}

/// The longest an expected wait may take before the test fails: long enough for a slow,
/// shared machine, short enough that a lock never released fails the test instead of
/// hanging it.
pub const BOUND: Duration = Duration::from_secs(20);

/// `fut`, which must finish within [`BOUND`].
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {BOUND:?}"))
}

/// Polls `probe` until it says true; fails after [`BOUND`].
pub async fn until<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + BOUND;
    while !probe().await {
        assert!(Instant::now() < deadline, "never saw: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The server-wide user lock under which MySQL/MariaDB probes read
/// `information_schema.innodb_trx`: that view is a cache InnoDB refreshes only after 100 ms
/// without readers, so concurrent probes take turns and each waits for quiet first.
pub const INNODB_TRX_PROBE_LOCK: &str = "txkit_test_innodb_trx_probe";

/// Proves, by the database's own lock state rather than by elapsed time, that `task` is
/// held up by a lock while it runs a statement on `table` of `db`'s database (see
/// [`assert_waits_for_lock_at`]).
pub async fn assert_waits_for_lock<T>(db: &TestDb, table: &str, task: &JoinHandle<T>) {
    assert_waits_for_lock_at(db, &db.url, table, task).await;
}

/// Proves, by the database's own lock state rather than by elapsed time, that `task` is
/// held up by a lock while it runs a statement on `table` of the database `url` names (a
/// schema or database of the test's own on `db`'s server, or `db`'s own URL):
///
/// - PostgreSQL: a session whose `pg_stat_activity.wait_event_type` is `Lock` holds or asks
///   for a lock on `table` itself (`pg_locks`, the name resolved in `url`'s search path, so
///   a table of the same name in another test's schema does not count);
/// - MySQL/MariaDB: an InnoDB transaction in `LOCK WAIT` runs a query naming `table`, on a
///   connection whose current database is `url`'s;
/// - SQLite (no lock view, no row locks): the database's write lock is held, since a plain
///   rusqlite connection with `busy_timeout=0` cannot begin IMMEDIATE; and, for txkit's own
///   connections (not sea-orm's), a writer of this process waits in line at the file's write
///   gate (`writers_waiting() >= 1`).
///
/// Fails if `task` finishes first, or if the wait is not seen within [`BOUND`].
pub async fn assert_waits_for_lock_at<T>(
    db: &TestDb,
    url: &str,
    table: &str,
    task: &JoinHandle<T>,
) {
    let view = LockView::new(db.kind, db.sea_orm, url).await;
    let deadline = Instant::now() + BOUND;
    loop {
        assert!(
            !task.is_finished(),
            "the statement on {table} finished instead of waiting for the lock"
        );
        if view.waits(Waiter::OnTable(table)).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never showed a lock wait on {table} within {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    view.close().await;
    // SQLite's proof is the lock held, not the waiter seen: it must still be unfinished.
    assert!(
        !task.is_finished(),
        "the statement on {table} finished while the lock was held"
    );
}

/// The path of a SQLite test database's file, from its URL.
pub fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sea-orm+");
    let rest = rest.strip_prefix("sqlite://").expect("a sqlite:// URL");
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// A txkit connection of the test's own to the SQLite file `path`, to read the file's write
/// gate and counters.
pub async fn sqlite_watcher(path: &Path) -> SqliteConnection {
    txkit::sqlite::SqliteConnectOptions::new(path)
        .connect()
        .await
        .expect("SQLite watcher")
}

/// Whether SQLite's write lock on `path` is held, by a plain rusqlite connection that never
/// waits (and is no txkit connection, so it never stands in the write gate's line itself).
pub fn sqlite_write_locked(path: &Path) -> bool {
    let probe = txkit::sqlite::rusqlite::Connection::open(path).expect("SQLite probe");
    // rusqlite opens with a busy_timeout of 5 s: this probe must answer at once.
    probe.busy_timeout(Duration::ZERO).expect("busy_timeout");
    probe.execute_batch("BEGIN IMMEDIATE; ROLLBACK").is_err()
}

/// Who is asked about in a [`LockView`].
#[derive(Debug, Clone, Copy)]
pub enum Waiter<'a> {
    /// Any statement on this table of the view's database.
    OnTable(&'a str),
    /// One server session: its PostgreSQL backend pid or MySQL connection id (`None`
    /// before it has one). On SQLite, where connections have no ids, the session is known
    /// to be in line at the write gate when more txkit writers are in line than the
    /// `others_in_line` sessions known to be there already.
    Session {
        id: Option<i64>,
        others_in_line: usize,
    },
}

/// The database's own view of who waits for a lock: PostgreSQL's `pg_stat_activity`,
/// `pg_locks` and `pg_blocking_pids`, InnoDB's `innodb_trx`, and on SQLite the write lock
/// held (a plain rusqlite connection with `busy_timeout=0` cannot begin IMMEDIATE) with
/// txkit's writers in line at the file's write gate.
pub enum LockView {
    Server(Kind, Engine),
    Sqlite {
        path: PathBuf,
        /// The file's write gate, for txkit's own connections (`None` for sea-orm's).
        gate: Option<SqliteConnection>,
    },
}

impl LockView {
    /// A view of the database `url` (a `sea-orm+` URL allowed) on a `kind` server;
    /// `sea_orm` when the waiters are sea-orm's connections, which do not queue at txkit's
    /// SQLite write gate.
    pub async fn new(kind: Kind, sea_orm: bool, url: &str) -> LockView {
        let url = url.trim_start_matches("sea-orm+");
        if kind == Kind::Sqlite {
            let path = sqlite_path(url);
            let gate = if sea_orm {
                None
            } else {
                Some(sqlite_watcher(&path).await)
            };
            return LockView::Sqlite { path, gate };
        }
        let observer = Engine::builder(url)
            .pool_size(1)
            .build()
            .await
            .expect("lock observer");
        LockView::Server(kind, observer)
    }

    /// Closes the view's own connections.
    pub async fn close(self) {
        match self {
            LockView::Server(_, observer) => observer.close().await,
            LockView::Sqlite { gate, .. } => {
                if let Some(gate) = gate {
                    gate.close().await;
                }
            }
        }
    }

    /// Whether the database shows `who` waiting for a lock now.
    pub async fn waits(&self, who: Waiter<'_>) -> bool {
        match (self, who) {
            (LockView::Server(Kind::Postgres, observer), who) => {
                let sql = match who {
                    Waiter::OnTable(table) => format!(
                        "SELECT count(*) AS n FROM pg_stat_activity a \
                         WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid() \
                         AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid \
                         AND l.relation = to_regclass('{table}'))"
                    ),
                    Waiter::Session { id: None, .. } => return false,
                    // Blocked by another session's lock, as the isolation tester asks; the
                    // lock is granted by the session that releases it, so this is false as
                    // soon as that session's COMMIT has answered.
                    Waiter::Session { id: Some(pid), .. } => {
                        format!("SELECT cardinality(pg_blocking_pids({pid}))::bigint AS n")
                    }
                };
                let rows = observer.query(&sql, &[]).await.expect("pg lock view");
                rows[0].get::<i64>("n").expect("n") > 0
            }
            (LockView::Server(_, observer), who) => {
                let filter = match who {
                    Waiter::OnTable(table) => format!(
                        "t.trx_query LIKE '%{table}%' AND EXISTS (SELECT 1 FROM \
                         information_schema.processlist p WHERE p.id = t.trx_mysql_thread_id \
                         AND p.db = DATABASE())"
                    ),
                    Waiter::Session { id: None, .. } => return false,
                    Waiter::Session { id: Some(id), .. } => {
                        format!("t.trx_mysql_thread_id = {id}")
                    }
                };
                innodb_lock_waits(observer, &filter).await > 0
            }
            (LockView::Sqlite { path, gate }, who) => {
                let in_line = match (gate, who) {
                    (None, _) => true,
                    (Some(g), Waiter::OnTable(_)) => g.writers_waiting() >= 1,
                    (Some(g), Waiter::Session { others_in_line, .. }) => {
                        g.writers_waiting() > others_in_line
                    }
                };
                in_line && sqlite_write_locked(path)
            }
        }
    }
}

/// How many InnoDB transactions `t` (of `information_schema.innodb_trx`) matching `filter`
/// are in `LOCK WAIT`, read under [`INNODB_TRX_PROBE_LOCK`] after quiet.
async fn innodb_lock_waits(observer: &Engine, filter: &str) -> i64 {
    let mut conn = observer.connection().await.expect("observer connection");
    let lock = format!("SELECT GET_LOCK('{INNODB_TRX_PROBE_LOCK}', 60)");
    conn.query(&lock, &[]).await.expect("GET_LOCK");
    conn.execute("DO SLEEP(0.15)", &[]).await.expect("quiet");
    let sql = format!(
        "SELECT count(*) AS n FROM information_schema.innodb_trx t \
         WHERE t.trx_state = 'LOCK WAIT' AND {filter}"
    );
    let rows = conn.query(&sql, &[]).await;
    let unlock = format!("SELECT RELEASE_LOCK('{INNODB_TRX_PROBE_LOCK}')");
    conn.query(&unlock, &[]).await.expect("RELEASE_LOCK");
    rows.expect("innodb_trx")[0].get::<i64>("n").expect("n")
}
