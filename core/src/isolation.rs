//! Isolation levels, access modes and the options of one transaction.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The four SQL isolation levels.
///
/// Backends render the level into the statement that starts the transaction. SQLite runs
/// every transaction serializably, so any level asked of it is met (or exceeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IsolationLevel {
    /// May see uncommitted writes of others (PostgreSQL treats it as READ COMMITTED).
    ReadUncommitted,
    /// Each statement sees what was committed before it began.
    ReadCommitted,
    /// The whole transaction reads one snapshot.
    RepeatableRead,
    /// The outcome equals some serial order of the transactions.
    Serializable,
}

impl IsolationLevel {
    /// Every level, weakest first.
    pub const ALL: [IsolationLevel; 4] = [
        Self::ReadUncommitted,
        Self::ReadCommitted,
        Self::RepeatableRead,
        Self::Serializable,
    ];

    /// The SQL spelling: `READ COMMITTED`, `SERIALIZABLE`, ….
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::ReadUncommitted => "READ UNCOMMITTED",
            Self::ReadCommitted => "READ COMMITTED",
            Self::RepeatableRead => "REPEATABLE READ",
            Self::Serializable => "SERIALIZABLE",
        }
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

impl FromStr for IsolationLevel {
    type Err = Error;

    /// Parses a level case-insensitively, with words separated by spaces, `_` or `-`:
    /// `READ_COMMITTED`, `read committed` and `Read-Committed` are the same level.
    fn from_str(s: &str) -> Result<Self, Error> {
        let normal: Vec<String> = s
            .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        let level = match normal.join(" ").as_str() {
            "READ UNCOMMITTED" => Self::ReadUncommitted,
            "READ COMMITTED" => Self::ReadCommitted,
            "REPEATABLE READ" => Self::RepeatableRead,
            "SERIALIZABLE" => Self::Serializable,
            _ => {
                return Err(Error::config(format!(
                    "unknown isolation level {s:?}; accepted: READ_UNCOMMITTED, \
                     READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE (any case; words may be \
                     separated by '_', '-' or a space)"
                )));
            }
        };
        Ok(level)
    }
}

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessMode {
    /// Reads and writes (the default).
    #[default]
    ReadWrite,
    /// Reads only; writes are refused by the server.
    ReadOnly,
}

/// How a SQLite transaction takes its lock at BEGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SqliteBehavior {
    /// No lock until the first read or write (SQLite's default).
    #[default]
    Deferred,
    /// The write lock at once: the right choice for a read-then-write transaction, which
    /// otherwise can meet `SQLITE_BUSY_SNAPSHOT`.
    Immediate,
    /// The write lock at once, and no new readers in rollback-journal mode.
    Exclusive,
}

impl SqliteBehavior {
    /// The keyword after BEGIN.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Deferred => "DEFERRED",
            Self::Immediate => "IMMEDIATE",
            Self::Exclusive => "EXCLUSIVE",
        }
    }
}

/// The options of one transaction. Unset fields fall back to the connection's defaults,
/// then the engine's, then the server's.
///
/// ```
/// use txkit_core::{IsolationLevel, TxOptions};
/// let opts = TxOptions::new().isolation(IsolationLevel::Serializable).read_only();
/// assert_eq!(opts.isolation_level(), Some(IsolationLevel::Serializable));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxOptions {
    isolation: Option<IsolationLevel>,
    access_mode: Option<AccessMode>,
    deferrable: bool,
    sqlite_behavior: Option<SqliteBehavior>,
}

impl TxOptions {
    /// Options that ask for nothing: the defaults apply.
    pub const fn new() -> Self {
        Self {
            isolation: None,
            access_mode: None,
            deferrable: false,
            sqlite_behavior: None,
        }
    }

    /// Asks for an isolation level.
    pub const fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Asks for an access mode.
    pub const fn access_mode(mut self, mode: AccessMode) -> Self {
        self.access_mode = Some(mode);
        self
    }

    /// A read-only transaction.
    pub const fn read_only(self) -> Self {
        self.access_mode(AccessMode::ReadOnly)
    }

    /// PostgreSQL's DEFERRABLE (meaningful for SERIALIZABLE READ ONLY); other backends
    /// refuse it with an Unsupported error rather than ignore it.
    pub const fn deferrable(mut self) -> Self {
        self.deferrable = true;
        self
    }

    /// SQLite's BEGIN behaviour; ignored by the server backends, which lock per statement.
    pub const fn sqlite_behavior(mut self, behavior: SqliteBehavior) -> Self {
        self.sqlite_behavior = Some(behavior);
        self
    }

    /// The isolation level asked for, if any.
    pub const fn isolation_level(&self) -> Option<IsolationLevel> {
        self.isolation
    }

    /// The access mode asked for, if any.
    pub const fn access(&self) -> Option<AccessMode> {
        self.access_mode
    }

    /// Whether DEFERRABLE was asked for.
    pub const fn is_deferrable(&self) -> bool {
        self.deferrable
    }

    /// The SQLite BEGIN behaviour asked for, if any.
    pub const fn sqlite(&self) -> Option<SqliteBehavior> {
        self.sqlite_behavior
    }

    /// These options, with every unset field taken from `fallback`.
    pub fn or(self, fallback: TxOptions) -> TxOptions {
        TxOptions {
            isolation: self.isolation.or(fallback.isolation),
            access_mode: self.access_mode.or(fallback.access_mode),
            deferrable: self.deferrable || fallback.deferrable,
            sqlite_behavior: self.sqlite_behavior.or(fallback.sqlite_behavior),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn every_spelling_parses() {
        for (text, level) in [
            ("READ_COMMITTED", IsolationLevel::ReadCommitted),
            ("read committed", IsolationLevel::ReadCommitted),
            ("Read-Committed", IsolationLevel::ReadCommitted),
            ("  read   committed ", IsolationLevel::ReadCommitted),
            ("READ_UNCOMMITTED", IsolationLevel::ReadUncommitted),
            ("read-uncommitted", IsolationLevel::ReadUncommitted),
            ("REPEATABLE_READ", IsolationLevel::RepeatableRead),
            ("Repeatable Read", IsolationLevel::RepeatableRead),
            ("serializable", IsolationLevel::Serializable),
            ("SERIALIZABLE", IsolationLevel::Serializable),
        ] {
            assert_eq!(text.parse::<IsolationLevel>().expect(text), level);
        }
        for level in IsolationLevel::ALL {
            assert_eq!(
                level.as_sql().parse::<IsolationLevel>().expect("sql"),
                level
            );
            assert_eq!(
                level
                    .to_string()
                    .parse::<IsolationLevel>()
                    .expect("display"),
                level
            );
        }
    }

    #[test]
    fn bad_spelling_is_config_error_listing_accepted_names() {
        for bad in ["", "snapshot", "read", "READCOMMITTED", "serialisable"] {
            let err = bad.parse::<IsolationLevel>().expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::Config);
            let text = err.to_string();
            for name in [
                "READ_UNCOMMITTED",
                "READ_COMMITTED",
                "REPEATABLE_READ",
                "SERIALIZABLE",
            ] {
                assert!(text.contains(name), "{text}");
            }
        }
    }

    #[test]
    fn options_fall_back_field_by_field() {
        let engine = TxOptions::new()
            .isolation(IsolationLevel::RepeatableRead)
            .sqlite_behavior(SqliteBehavior::Immediate);
        let tx = TxOptions::new().read_only();
        let merged = tx.or(engine);
        assert_eq!(
            merged.isolation_level(),
            Some(IsolationLevel::RepeatableRead)
        );
        assert_eq!(merged.access(), Some(AccessMode::ReadOnly));
        assert_eq!(merged.sqlite(), Some(SqliteBehavior::Immediate));
    }
}
