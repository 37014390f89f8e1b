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

    /// `FOR SHARE`.
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

/// The mode of a table lock, named after PostgreSQL's `LOCK TABLE … IN <mode> MODE`.
///
/// MySQL/MariaDB have only `LOCK TABLES … READ` (≈ [`TableLockMode::Share`]) and `WRITE`
/// (≈ [`TableLockMode::AccessExclusive`]); SQLite locks the whole database. A backend
/// renders a mode only where it can give at least that much exclusion, and otherwise
/// answers Unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableLockMode {
    /// `ACCESS SHARE`: conflicts only with ACCESS EXCLUSIVE.
    AccessShare,
    /// `ROW SHARE`.
    RowShare,
    /// `ROW EXCLUSIVE`.
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE`.
    ShareUpdateExclusive,
    /// `SHARE`: readers admitted, writers blocked.
    Share,
    /// `SHARE ROW EXCLUSIVE`.
    ShareRowExclusive,
    /// `EXCLUSIVE`: only ACCESS SHARE readers admitted.
    Exclusive,
    /// `ACCESS EXCLUSIVE`: nobody else touches the table.
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

/// A table-lock request.
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

    /// Readers admitted, writers blocked.
    pub fn share() -> Self {
        Self::new(TableLockMode::Share)
    }

    /// Nobody else reads or writes the table.
    pub fn exclusive() -> Self {
        Self::new(TableLockMode::AccessExclusive)
    }

    /// Fail at once instead of waiting.
    pub fn nowait(mut self) -> Self {
        self.nowait = true;
        self
    }
}
