//! Row locks (`SELECT … FOR UPDATE` and friends) and table locks, as data. Each backend's
//! dialect renders them, or answers Unsupported when its server cannot honour them.

/// How strong a row lock is (PostgreSQL's four strengths; MySQL has two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LockStrength {
    /// `FOR UPDATE`: exclusive; blocks every other row lock.
    #[default]
    Update,
    /// `FOR NO KEY UPDATE` (PostgreSQL): exclusive, but admits `FOR KEY SHARE`.
    NoKeyUpdate,
    /// `FOR SHARE` (MariaDB: `LOCK IN SHARE MODE`): admits other shared locks, blocks writers.
    Share,
    /// `FOR KEY SHARE` (PostgreSQL): blocks only key changes and deletes.
    KeyShare,
}

impl LockStrength {
    /// Whether the lock excludes other row lockers (`FOR UPDATE`, `FOR NO KEY UPDATE`).
    /// SQLite meets an exclusive row lock with the database write lock; a shared one needs
    /// none there (see [`RowLock::share`]).
    pub fn is_exclusive(self) -> bool {
        matches!(self, Self::Update | Self::NoKeyUpdate)
    }
}

/// What a row lock does when a row is already locked by another transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LockWait {
    /// Wait (up to the server's lock timeout).
    #[default]
    Wait,
    /// Fail at once with [`ErrorKind::LockNotAvailable`](crate::ErrorKind::LockNotAvailable).
    NoWait,
    /// Leave locked rows out of the result.
    SkipLocked,
}

/// A row-lock request attached to a SELECT.
///
/// ```
/// use txkit_core::{LockStrength, LockWait, RowLock};
/// let lock = RowLock::update().skip_locked();
/// assert_eq!(lock.strength, LockStrength::Update);
/// assert_eq!(lock.wait, LockWait::SkipLocked);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RowLock {
    /// How strong the lock is.
    pub strength: LockStrength,
    /// What to do on a locked row.
    pub wait: LockWait,
    /// Lock only rows of these tables (`FOR UPDATE OF t`); empty means all tables of the query.
    pub of: Vec<String>,
}

impl RowLock {
    /// `FOR UPDATE`.
    pub fn update() -> Self {
        Self::with_strength(LockStrength::Update)
    }

    /// `FOR NO KEY UPDATE`.
    pub fn no_key_update() -> Self {
        Self::with_strength(LockStrength::NoKeyUpdate)
    }

    /// `FOR SHARE` (MariaDB: `LOCK IN SHARE MODE`): the rows read cannot be changed by
    /// others until the transaction ends; other shared lockers are admitted.
    ///
    /// On SQLite, which has no row locks, a shared lock takes no lock of its own and never
    /// the write lock, so two shared readers in two sessions both proceed: the read runs in
    /// the (DEFERRED) transaction, whose reads stay stable until it ends — in a
    /// rollback-journal database the read lock keeps writers from committing; in WAL mode
    /// the transaction reads one snapshot, and if another connection has committed a
    /// change since, this transaction's own first write fails with a busy-snapshot error
    /// (retryable), so no decision taken on what it read commits on stale rows.
    pub fn share() -> Self {
        Self::with_strength(LockStrength::Share)
    }

    /// `FOR KEY SHARE`.
    pub fn key_share() -> Self {
        Self::with_strength(LockStrength::KeyShare)
    }

    fn with_strength(strength: LockStrength) -> Self {
        Self {
            strength,
            wait: LockWait::Wait,
            of: Vec::new(),
        }
    }

    /// Fail at once on a locked row.
    pub fn nowait(mut self) -> Self {
        self.wait = LockWait::NoWait;
        self
    }

    /// Skip locked rows.
    pub fn skip_locked(mut self) -> Self {
        self.wait = LockWait::SkipLocked;
        self
    }

    /// Lock only the rows of `table` (may be called more than once).
    pub fn of(mut self, table: impl Into<String>) -> Self {
        self.of.push(table.into());
        self
    }
}

/// The mode of a table lock: PostgreSQL's eight `LOCK TABLE … IN <mode> MODE` modes, each
/// under the name PostgreSQL gives it.
///
/// What each mode renders on each backend, and which backends refuse it (a refusal is an
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) error that names what to use
/// instead; a mode is never rendered weaker or stronger than its name says):
///
/// | constructor | PostgreSQL (`tx.lock_table`) | MySQL/MariaDB (`with_table_locks`) | SQLite (`tx.lock_table`) |
/// | --- | --- | --- | --- |
/// | [`TableLock::access_share`] | `ACCESS SHARE` | Unsupported | Unsupported |
/// | [`TableLock::row_share`] | `ROW SHARE` | Unsupported | Unsupported |
/// | [`TableLock::row_exclusive`] | `ROW EXCLUSIVE` | Unsupported | Unsupported |
/// | [`TableLock::share_update_exclusive`] | `SHARE UPDATE EXCLUSIVE` | Unsupported | Unsupported |
/// | [`TableLock::share`] | `SHARE` | `READ` | Unsupported |
/// | [`TableLock::share_row_exclusive`] | `SHARE ROW EXCLUSIVE` | Unsupported | database write lock |
/// | [`TableLock::exclusive`] | `EXCLUSIVE` | Unsupported | database write lock |
/// | [`TableLock::access_exclusive`] | `ACCESS EXCLUSIVE` | `WRITE` | Unsupported |
///
/// Why: MySQL's `READ` admits other readers and other `READ` lockers and blocks writers,
/// which is `SHARE`; its `WRITE` keeps every other session out, which is `ACCESS EXCLUSIVE`;
/// it has nothing between. SQLite has one lock that keeps writers out: the database write
/// lock, which admits plain readers, blocks writers and conflicts with itself, which is
/// `SHARE ROW EXCLUSIVE` and `EXCLUSIVE` (SQLite has no row locks, so the two cannot be told
/// apart); it covers the whole database, not one table. It cannot keep readers out of one
/// table (`ACCESS EXCLUSIVE`), nor share a lock that blocks writers (`SHARE`).
/// On MySQL/MariaDB `LOCK TABLES` commits the open transaction, so a table lock is not a
/// statement in a transaction there: run the work under `LOCK TABLES` with
/// `Engine::with_table_locks` (txkit) or `MySqlConnection::with_table_locks` (txkit-mysql).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableLockMode {
    /// `ACCESS SHARE` (what a plain SELECT takes): conflicts only with ACCESS EXCLUSIVE.
    AccessShare,
    /// `ROW SHARE` (what SELECT … FOR UPDATE takes): conflicts with EXCLUSIVE and ACCESS
    /// EXCLUSIVE.
    RowShare,
    /// `ROW EXCLUSIVE` (what UPDATE, DELETE and INSERT take): conflicts with SHARE and
    /// stronger.
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE` (VACUUM, CREATE INDEX CONCURRENTLY): writers admitted,
    /// conflicts with itself.
    ShareUpdateExclusive,
    /// `SHARE`: readers and other SHARE lockers admitted, writers blocked.
    Share,
    /// `SHARE ROW EXCLUSIVE`: readers admitted, writers blocked, conflicts with itself.
    ShareRowExclusive,
    /// `EXCLUSIVE`: only ACCESS SHARE (plain SELECTs) admitted; writers and row lockers
    /// blocked.
    Exclusive,
    /// `ACCESS EXCLUSIVE`: nobody else touches the table, not even a plain SELECT.
    AccessExclusive,
}

impl TableLockMode {
    /// PostgreSQL's spelling of the mode.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::AccessShare => "ACCESS SHARE",
            Self::RowShare => "ROW SHARE",
            Self::RowExclusive => "ROW EXCLUSIVE",
            Self::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Self::Share => "SHARE",
            Self::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Self::Exclusive => "EXCLUSIVE",
            Self::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }
}

/// A table-lock request. Each constructor names one of PostgreSQL's modes and means exactly
/// that mode (see [`TableLockMode`] for what each backend renders or refuses).
///
/// ```
/// use txkit_core::{TableLock, TableLockMode};
/// assert_eq!(TableLock::exclusive().mode, TableLockMode::Exclusive);
/// assert_eq!(TableLock::access_exclusive().mode, TableLockMode::AccessExclusive);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableLock {
    /// The mode.
    pub mode: TableLockMode,
    /// Fail at once if the lock is held (PostgreSQL `NOWAIT`).
    pub nowait: bool,
}

impl TableLock {
    /// A lock of `mode` that waits.
    pub fn new(mode: TableLockMode) -> Self {
        Self {
            mode,
            nowait: false,
        }
    }

    /// `ACCESS SHARE`: only ACCESS EXCLUSIVE (DROP, ALTER, `access_exclusive()`) waits.
    pub fn access_share() -> Self {
        Self::new(TableLockMode::AccessShare)
    }

    /// `ROW SHARE`: EXCLUSIVE and ACCESS EXCLUSIVE wait.
    pub fn row_share() -> Self {
        Self::new(TableLockMode::RowShare)
    }

    /// `ROW EXCLUSIVE`: SHARE and stronger wait; other writers do not.
    pub fn row_exclusive() -> Self {
        Self::new(TableLockMode::RowExclusive)
    }

    /// `SHARE UPDATE EXCLUSIVE`: writers admitted; a second lock of this mode waits.
    pub fn share_update_exclusive() -> Self {
        Self::new(TableLockMode::ShareUpdateExclusive)
    }

    /// `SHARE` (MySQL `READ`): readers and other SHARE lockers admitted, writers blocked.
    pub fn share() -> Self {
        Self::new(TableLockMode::Share)
    }

    /// `SHARE ROW EXCLUSIVE` (SQLite: the database write lock): readers admitted, writers
    /// and a second lock of this mode blocked.
    pub fn share_row_exclusive() -> Self {
        Self::new(TableLockMode::ShareRowExclusive)
    }

    /// `EXCLUSIVE` (SQLite: the database write lock): plain SELECTs admitted, writers and
    /// row lockers blocked. To keep readers out too, use
    /// [`access_exclusive`](Self::access_exclusive).
    pub fn exclusive() -> Self {
        Self::new(TableLockMode::Exclusive)
    }

    /// `ACCESS EXCLUSIVE` (MySQL `WRITE`): nobody else reads or writes the table.
    pub fn access_exclusive() -> Self {
        Self::new(TableLockMode::AccessExclusive)
    }

    /// Fail at once instead of waiting.
    pub fn nowait(mut self) -> Self {
        self.nowait = true;
        self
    }
}
