//! [`SqliteConnectOptions`]: where the database is and how each connection sets it up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use txkit_core::{DatabaseUrl, Error, Result};

use crate::connection::SqliteConnection;
use crate::url::MAX_BUSY_TIMEOUT_MS;

/// SQLite's journal mode (`PRAGMA journal_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalMode {
    /// Rollback journal, deleted at the end of each transaction.
    Delete,
    /// Rollback journal, truncated to zero bytes at the end of each transaction.
    Truncate,
    /// Rollback journal, its header zeroed at the end of each transaction.
    Persist,
    /// Rollback journal kept in memory (an in-memory database's only choice besides Off).
    Memory,
    /// Write-ahead log: readers do not block the writer nor the writer readers. The default
    /// for file databases.
    Wal,
    /// No journal: a crash or ROLLBACK can corrupt the database.
    Off,
}

impl JournalMode {
    /// Every mode, as accepted in URLs.
    pub const ALL: [JournalMode; 6] = [
        Self::Delete,
        Self::Truncate,
        Self::Persist,
        Self::Memory,
        Self::Wal,
        Self::Off,
    ];

    /// The lower-case name, as SQLite reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Truncate => "truncate",
            Self::Persist => "persist",
            Self::Memory => "memory",
            Self::Wal => "wal",
            Self::Off => "off",
        }
    }
}

/// SQLite's `PRAGMA synchronous`: how hard it flushes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Synchronous {
    /// No fsync: fast, and a power loss can corrupt the database.
    Off,
    /// Fsync at checkpoints; in WAL mode durable against crashes of the process, and a
    /// power loss may lose the last transactions. The default under WAL.
    Normal,
    /// Fsync at every commit (SQLite's default, used here outside WAL).
    Full,
    /// Like Full, and also fsyncs the directory after deleting a rollback journal.
    Extra,
}

impl Synchronous {
    /// Every level, as accepted in URLs.
    pub const ALL: [Synchronous; 4] = [Self::Off, Self::Normal, Self::Full, Self::Extra];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Normal => "normal",
            Self::Full => "full",
            Self::Extra => "extra",
        }
    }
}

/// How a database file is opened (the `mode` URL option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OpenMode {
    /// Read and write; create the file (with mode 0600) when it does not exist (`rwc`,
    /// the default).
    #[default]
    ReadWriteCreate,
    /// Read and write an existing file (`rw`).
    ReadWrite,
    /// Read an existing file only (`ro`).
    ReadOnly,
}

impl OpenMode {
    /// Every mode, as accepted in URLs.
    pub const ALL: [OpenMode; 3] = [Self::ReadWriteCreate, Self::ReadWrite, Self::ReadOnly];

    /// The URL spelling: `rwc`, `rw` or `ro`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadWriteCreate => "rwc",
            Self::ReadWrite => "rw",
            Self::ReadOnly => "ro",
        }
    }
}

/// Where a connection's statements run (the `execution` URL option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Execution {
    /// On a thread of the connection's own, reached over channels (`thread`): the async
    /// runtime never runs SQLite code. Each command costs a hop to that thread and back,
    /// and a transaction holds the write lock across every one of them; a whole unit of
    /// work can still run in one hop ([`SqliteConnection::run_transaction`](crate::SqliteConnection::run_transaction)).
    Thread,
    /// On the thread of the task that awaits the statement (`inline`, the default): no
    /// hop, so a statement costs what it costs in rusqlite called directly. Waits for
    /// locks are asynchronous (the in-process write gate, then SQLite's pauses for other
    /// processes), and work expected to be long runs on a blocking thread instead: scripts
    /// (`batch`), units of work (`run_transaction`), and any statement whose last run
    /// took SQLite more than a millisecond — so no runtime thread is held longer than
    /// SQLite's own work on one short statement.
    #[default]
    Inline,
}

impl Execution {
    /// Every way, as accepted in URLs.
    pub const ALL: [Execution; 2] = [Self::Thread, Self::Inline];

    /// The URL spelling: `thread` or `inline`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Thread => "thread",
            Self::Inline => "inline",
        }
    }
}

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A private in-memory database, gone when the connection closes.
    Memory,
    /// A database file.
    File(PathBuf),
}

/// How to open SQLite connections: the database (a file or `:memory:`) and the settings
/// each new connection applies. Built from a URL with [`from_url`](Self::from_url) or in
/// code with [`new`](Self::new) / [`memory`](Self::memory) and the setters.
///
/// ```
/// use std::time::Duration;
/// use txkit_sqlite::{JournalMode, SqliteConnectOptions};
///
/// let opts = SqliteConnectOptions::new("data/app.db")
///     .busy_timeout(Duration::from_millis(250))
///     .journal_mode(JournalMode::Wal);
/// assert!(!opts.is_memory());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConnectOptions {
    pub(crate) target: Target,
    pub(crate) busy_timeout: Duration,
    pub(crate) journal_mode: Option<JournalMode>,
    pub(crate) synchronous: Option<Synchronous>,
    pub(crate) foreign_keys: bool,
    pub(crate) mode: OpenMode,
    pub(crate) statement_cache_capacity: usize,
    pub(crate) execution: Execution,
}

/// SQLite's `busy_timeout` when none is given.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Prepared statements kept per connection when no capacity is given.
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 128;

impl SqliteConnectOptions {
    /// Options for the database file at `path` (relative to the working directory unless
    /// absolute), with the defaults: busy_timeout 5000 ms, WAL, synchronous NORMAL,
    /// foreign keys on, create if missing.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_target(Target::File(path.into()))
    }

    /// Options for a private in-memory database: each connection has its own, gone when it
    /// closes (share one through a Static pool).
    pub fn memory() -> Self {
        Self::with_target(Target::Memory)
    }

    fn with_target(target: Target) -> Self {
        Self {
            target,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            journal_mode: None,
            synchronous: None,
            foreign_keys: true,
            mode: OpenMode::default(),
            statement_cache_capacity: DEFAULT_STATEMENT_CACHE_CAPACITY,
            execution: Execution::default(),
        }
    }

    /// Parses a `sqlite:` URL; see the crate docs for the forms and options.
    pub fn from_url(url: &DatabaseUrl) -> Result<Self> {
        crate::url::parse(url)
    }

    /// Opens a connection: the database is opened and the settings applied off the async
    /// runtime (on the connection's worker thread, or for [`Execution::Inline`] on a
    /// blocking thread).
    pub async fn connect(&self) -> Result<SqliteConnection> {
        SqliteConnection::connect(self.clone()).await
    }

    /// How long a statement waits for another connection's lock before failing with
    /// [`ErrorKind::LockTimeout`](txkit_core::ErrorKind::LockTimeout). Zero fails at once.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The journal mode (default: WAL for files; an in-memory database keeps its own).
    pub fn journal_mode(mut self, mode: JournalMode) -> Self {
        self.journal_mode = Some(mode);
        self
    }

    /// The synchronous level (default: NORMAL under WAL, else FULL).
    pub fn synchronous(mut self, level: Synchronous) -> Self {
        self.synchronous = Some(level);
        self
    }

    /// Whether foreign keys are enforced (default: on).
    pub fn foreign_keys(mut self, on: bool) -> Self {
        self.foreign_keys = on;
        self
    }

    /// How the file is opened (default: read-write, created if missing).
    pub fn mode(mut self, mode: OpenMode) -> Self {
        self.mode = mode;
        self
    }

    /// Shorthand for [`mode`](Self::mode)`(OpenMode::ReadOnly)`.
    pub fn read_only(self) -> Self {
        self.mode(OpenMode::ReadOnly)
    }

    /// How many prepared statements each connection keeps for reuse (default 128).
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }

    /// Where statements run (default: [`Execution::Thread`]).
    pub fn execution(mut self, execution: Execution) -> Self {
        self.execution = execution;
        self
    }

    /// Whether this is an in-memory database.
    pub fn is_memory(&self) -> bool {
        self.target == Target::Memory
    }

    /// The database file's path; `None` for an in-memory database.
    pub fn filename(&self) -> Option<&Path> {
        match &self.target {
            Target::File(path) => Some(path),
            Target::Memory => None,
        }
    }

    /// The journal mode that will be applied: the one asked for, else WAL on a writable
    /// file; `None` means the database keeps what it has.
    pub(crate) fn effective_journal_mode(&self) -> Option<JournalMode> {
        match (&self.target, self.journal_mode, self.mode) {
            (_, Some(mode), _) => Some(mode),
            (Target::File(_), None, OpenMode::ReadOnly) | (Target::Memory, None, _) => None,
            (Target::File(_), None, _) => Some(JournalMode::Wal),
        }
    }

    /// The synchronous level that will be applied.
    pub(crate) fn effective_synchronous(&self) -> Synchronous {
        match (self.synchronous, self.effective_journal_mode()) {
            (Some(level), _) => level,
            (None, Some(JournalMode::Wal)) => Synchronous::Normal,
            (None, _) => Synchronous::Full,
        }
    }

    /// Checks combinations SQLite would silently ignore.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.busy_timeout.as_millis() > u128::from(MAX_BUSY_TIMEOUT_MS) {
            return Err(Error::config(format!(
                "busy_timeout of {} ms is too long; SQLite accepts at most {MAX_BUSY_TIMEOUT_MS} \
                 ms",
                self.busy_timeout.as_millis()
            )));
        }
        match (self.is_memory(), self.journal_mode) {
            (true, Some(mode)) if !matches!(mode, JournalMode::Memory | JournalMode::Off) => {
                Err(Error::config(format!(
                    "journal_mode={} needs a database file; an in-memory database accepts \
                     only journal_mode=memory or journal_mode=off",
                    mode.as_str()
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = SqliteConnectOptions::new("a.db");
        assert_eq!(o.busy_timeout, Duration::from_millis(5000));
        assert_eq!(o.effective_journal_mode(), Some(JournalMode::Wal));
        assert_eq!(o.effective_synchronous(), Synchronous::Normal);
        assert!(o.foreign_keys);
        assert_eq!(o.mode, OpenMode::ReadWriteCreate);
        assert_eq!(o.execution, Execution::Inline);
        assert_eq!(o.filename(), Some(Path::new("a.db")));

        let m = SqliteConnectOptions::memory();
        assert!(m.is_memory());
        assert_eq!(m.filename(), None);
        assert_eq!(m.effective_journal_mode(), None);
        assert_eq!(m.effective_synchronous(), Synchronous::Full);

        let d = SqliteConnectOptions::new("a.db").journal_mode(JournalMode::Delete);
        assert_eq!(d.effective_synchronous(), Synchronous::Full);
        let ro = SqliteConnectOptions::new("a.db").read_only();
        assert_eq!(ro.effective_journal_mode(), None);
    }

    #[test]
    fn memory_refuses_file_journals() {
        let e = SqliteConnectOptions::memory()
            .journal_mode(JournalMode::Wal)
            .validate()
            .expect_err("wal on memory");
        assert!(e.to_string().contains("journal_mode=memory"), "{e}");
        SqliteConnectOptions::memory()
            .journal_mode(JournalMode::Off)
            .validate()
            .unwrap();
        let e = SqliteConnectOptions::memory()
            .busy_timeout(Duration::from_secs(u64::MAX))
            .validate()
            .expect_err("too long");
        assert!(e.to_string().contains("busy_timeout"), "{e}");
    }
}
