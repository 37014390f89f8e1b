//! SQLite result codes, primary and extended, as named constants, with their names
//! ([`name_of`]) and SQLite's own description of each ([`description`]).
//!
//! [`Error::code`](crate::Error::code) of an error made by
//! [`sqlite_error`](super::sqlite_error) is the name of the *extended* code
//! (`"SQLITE_BUSY_SNAPSHOT"`, `"SQLITE_CONSTRAINT_UNIQUE"`); these constants give the
//! numbers, for code that holds a driver's raw error.

macro_rules! result_codes {
    ($($(#[doc = $doc:literal])* $name:ident = $value:literal;)*) => {
        $(
            $(#[doc = $doc])*
            pub const $name: i32 = $value;
        )*

        /// Every code this module names, with its name.
        pub const NAMES: &[(i32, &str)] = &[$(($value, stringify!($name))),*];
    };
}

result_codes! {
    /// Generic error (SQL syntax, missing table, …).
    SQLITE_ERROR = 1;
    /// Internal logic error in SQLite.
    SQLITE_INTERNAL = 2;
    /// Access permission denied.
    SQLITE_PERM = 3;
    /// Callback routine requested an abort.
    SQLITE_ABORT = 4;
    /// The database file is locked by another connection (busy_timeout expired).
    SQLITE_BUSY = 5;
    /// A table is locked by a conflicting use on the same connection or shared cache.
    SQLITE_LOCKED = 6;
    /// A memory allocation failed.
    SQLITE_NOMEM = 7;
    /// Attempt to write a read-only database (or a `query_only` transaction).
    SQLITE_READONLY = 8;
    /// Operation interrupted by `sqlite3_interrupt()`.
    SQLITE_INTERRUPT = 9;
    /// Disk I/O error.
    SQLITE_IOERR = 10;
    /// The database disk image is malformed.
    SQLITE_CORRUPT = 11;
    /// Unknown opcode in `sqlite3_file_control()`.
    SQLITE_NOTFOUND = 12;
    /// Insertion failed because the database or disk is full.
    SQLITE_FULL = 13;
    /// Unable to open the database file.
    SQLITE_CANTOPEN = 14;
    /// Database lock protocol error.
    SQLITE_PROTOCOL = 15;
    /// Internal use only.
    SQLITE_EMPTY = 16;
    /// The database schema changed.
    SQLITE_SCHEMA = 17;
    /// String or BLOB exceeds the size limit.
    SQLITE_TOOBIG = 18;
    /// Abort due to a constraint violation.
    SQLITE_CONSTRAINT = 19;
    /// Data type mismatch.
    SQLITE_MISMATCH = 20;
    /// Library used incorrectly.
    SQLITE_MISUSE = 21;
    /// Uses OS features not supported on the host.
    SQLITE_NOLFS = 22;
    /// Authorization denied.
    SQLITE_AUTH = 23;
    /// Not used.
    SQLITE_FORMAT = 24;
    /// Bind parameter index out of range.
    SQLITE_RANGE = 25;
    /// The file opened is not a database file.
    SQLITE_NOTADB = 26;
    /// Notification from `sqlite3_log()`.
    SQLITE_NOTICE = 27;
    /// Warning from `sqlite3_log()`.
    SQLITE_WARNING = 28;
    /// A collating sequence is missing.
    SQLITE_ERROR_MISSING_COLLSEQ = 257;
    /// Internal: the statement should be retried.
    SQLITE_ERROR_RETRY = 513;
    /// The historical snapshot asked for is no longer available.
    SQLITE_ERROR_SNAPSHOT = 769;
    /// The reserve size cannot be changed.
    SQLITE_ERROR_RESERVESIZE = 1025;
    /// A key is wrong or missing (encryption builds).
    SQLITE_ERROR_KEY = 1281;
    /// An operation cannot be done on this database.
    SQLITE_ERROR_UNABLE = 1537;
    /// I/O error while reading.
    SQLITE_IOERR_READ = 266;
    /// A read returned fewer bytes than asked for.
    SQLITE_IOERR_SHORT_READ = 522;
    /// I/O error while writing.
    SQLITE_IOERR_WRITE = 778;
    /// I/O error in fsync.
    SQLITE_IOERR_FSYNC = 1034;
    /// I/O error in fsync of a directory.
    SQLITE_IOERR_DIR_FSYNC = 1290;
    /// I/O error while truncating a file.
    SQLITE_IOERR_TRUNCATE = 1546;
    /// I/O error in fstat.
    SQLITE_IOERR_FSTAT = 1802;
    /// I/O error while unlocking a file.
    SQLITE_IOERR_UNLOCK = 2058;
    /// I/O error while taking a read lock.
    SQLITE_IOERR_RDLOCK = 2314;
    /// I/O error while deleting a file.
    SQLITE_IOERR_DELETE = 2570;
    /// No longer used.
    SQLITE_IOERR_BLOCKED = 2826;
    /// Out of memory during I/O.
    SQLITE_IOERR_NOMEM = 3082;
    /// I/O error checking file access.
    SQLITE_IOERR_ACCESS = 3338;
    /// I/O error checking for a reserved lock.
    SQLITE_IOERR_CHECKRESERVEDLOCK = 3594;
    /// I/O error in the advisory file locking logic.
    SQLITE_IOERR_LOCK = 3850;
    /// I/O error while closing a file.
    SQLITE_IOERR_CLOSE = 4106;
    /// No longer used.
    SQLITE_IOERR_DIR_CLOSE = 4362;
    /// I/O error opening the WAL shared-memory file.
    SQLITE_IOERR_SHMOPEN = 4618;
    /// I/O error sizing the WAL shared-memory file.
    SQLITE_IOERR_SHMSIZE = 4874;
    /// No longer used.
    SQLITE_IOERR_SHMLOCK = 5130;
    /// I/O error mapping the WAL shared-memory file.
    SQLITE_IOERR_SHMMAP = 5386;
    /// I/O error while seeking.
    SQLITE_IOERR_SEEK = 5642;
    /// The file to delete did not exist.
    SQLITE_IOERR_DELETE_NOENT = 5898;
    /// I/O error memory-mapping a file.
    SQLITE_IOERR_MMAP = 6154;
    /// No directory for temporary files could be found.
    SQLITE_IOERR_GETTEMPPATH = 6410;
    /// Path conversion failed (Cygwin).
    SQLITE_IOERR_CONVPATH = 6666;
    /// Reserved for VFS extensions.
    SQLITE_IOERR_VNODE = 6922;
    /// Reserved for VFS extensions.
    SQLITE_IOERR_AUTH = 7178;
    /// Failed to begin an atomic write.
    SQLITE_IOERR_BEGIN_ATOMIC = 7434;
    /// Failed to commit an atomic write.
    SQLITE_IOERR_COMMIT_ATOMIC = 7690;
    /// Failed to roll back an atomic write.
    SQLITE_IOERR_ROLLBACK_ATOMIC = 7946;
    /// A checksum mismatch was detected (checksum VFS).
    SQLITE_IOERR_DATA = 8202;
    /// The filesystem appears to be corrupt.
    SQLITE_IOERR_CORRUPTFS = 8458;
    /// I/O error while reading a memory-mapped page.
    SQLITE_IOERR_IN_PAGE = 8714;
    /// Bad encryption key (encryption builds).
    SQLITE_IOERR_BADKEY = 8970;
    /// Codec error (encryption builds).
    SQLITE_IOERR_CODEC = 9226;
    /// A table is locked by another connection of the same shared cache.
    SQLITE_LOCKED_SHAREDCACHE = 262;
    /// A virtual table is locked.
    SQLITE_LOCKED_VTAB = 518;
    /// Another connection is recovering the WAL.
    SQLITE_BUSY_RECOVERY = 261;
    /// A deferred read transaction tried to write after another connection committed.
    SQLITE_BUSY_SNAPSHOT = 517;
    /// A blocking lock wait timed out.
    SQLITE_BUSY_TIMEOUT = 773;
    /// No longer used.
    SQLITE_CANTOPEN_NOTEMPDIR = 270;
    /// The path names a directory, not a file.
    SQLITE_CANTOPEN_ISDIR = 526;
    /// The full path of the file could not be determined.
    SQLITE_CANTOPEN_FULLPATH = 782;
    /// Path conversion failed (Cygwin).
    SQLITE_CANTOPEN_CONVPATH = 1038;
    /// Not used.
    SQLITE_CANTOPEN_DIRTYWAL = 1294;
    /// The path is a symbolic link and `SQLITE_OPEN_NOFOLLOW` was given.
    SQLITE_CANTOPEN_SYMLINK = 1550;
    /// A virtual table is corrupt.
    SQLITE_CORRUPT_VTAB = 267;
    /// The `sqlite_sequence` table is corrupt.
    SQLITE_CORRUPT_SEQUENCE = 523;
    /// An index is corrupt.
    SQLITE_CORRUPT_INDEX = 779;
    /// A WAL database needs recovery, which a read-only connection cannot do.
    SQLITE_READONLY_RECOVERY = 264;
    /// A read-only WAL connection could not lock the shared memory.
    SQLITE_READONLY_CANTLOCK = 520;
    /// A hot journal needs rollback, which a read-only connection cannot do.
    SQLITE_READONLY_ROLLBACK = 776;
    /// The database file was moved or deleted since it was opened.
    SQLITE_READONLY_DBMOVED = 1032;
    /// The shared memory cannot be initialised read-only.
    SQLITE_READONLY_CANTINIT = 1288;
    /// The database is in a directory that cannot be written.
    SQLITE_READONLY_DIRECTORY = 1544;
    /// A statement was aborted because its transaction rolled back.
    SQLITE_ABORT_ROLLBACK = 516;
    /// A CHECK constraint failed.
    SQLITE_CONSTRAINT_CHECK = 275;
    /// A commit hook turned the commit into a rollback.
    SQLITE_CONSTRAINT_COMMITHOOK = 531;
    /// A foreign key constraint failed.
    SQLITE_CONSTRAINT_FOREIGNKEY = 787;
    /// An extension function raised a constraint error.
    SQLITE_CONSTRAINT_FUNCTION = 1043;
    /// A NOT NULL constraint failed.
    SQLITE_CONSTRAINT_NOTNULL = 1299;
    /// A PRIMARY KEY constraint failed.
    SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
    /// A trigger raised a constraint error (`RAISE(ABORT, …)`).
    SQLITE_CONSTRAINT_TRIGGER = 1811;
    /// A UNIQUE constraint failed.
    SQLITE_CONSTRAINT_UNIQUE = 2067;
    /// A virtual table raised a constraint error.
    SQLITE_CONSTRAINT_VTAB = 2323;
    /// A rowid is not unique.
    SQLITE_CONSTRAINT_ROWID = 2579;
    /// An UPDATE trigger deleted the row being updated.
    SQLITE_CONSTRAINT_PINNED = 2835;
    /// A value does not fit the declared type of a STRICT table column.
    SQLITE_CONSTRAINT_DATATYPE = 3091;
    /// A WAL file was recovered.
    SQLITE_NOTICE_RECOVER_WAL = 283;
    /// A hot journal was rolled back.
    SQLITE_NOTICE_RECOVER_ROLLBACK = 539;
    /// Notice from the RBU extension.
    SQLITE_NOTICE_RBU = 795;
    /// An automatic index was created.
    SQLITE_WARNING_AUTOINDEX = 284;
    /// Not authorized (user authentication extension).
    SQLITE_AUTH_USER = 279;
}

/// The name of a result code: the extended code's own name where SQLite defines one, else
/// `None`.
pub fn name_of(code: i32) -> Option<&'static str> {
    NAMES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// SQLite's description of a result code, as `sqlite3_errstr` gives it: the primary code's
/// text (an extended code is described by its low byte), `"abort due to ROLLBACK"` for
/// [`SQLITE_ABORT_ROLLBACK`], and `"unknown error"` for a code SQLite does not describe.
pub fn description(code: i32) -> &'static str {
    match code {
        SQLITE_ABORT_ROLLBACK => return "abort due to ROLLBACK",
        100 => return "another row available",
        101 => return "no more rows available",
        _ => {}
    }
    match code & 0xff {
        0 => "not an error",
        SQLITE_ERROR => "SQL logic error",
        SQLITE_PERM => "access permission denied",
        SQLITE_ABORT => "query aborted",
        SQLITE_BUSY => "database is locked",
        SQLITE_LOCKED => "database table is locked",
        SQLITE_NOMEM => "out of memory",
        SQLITE_READONLY => "attempt to write a readonly database",
        SQLITE_INTERRUPT => "interrupted",
        SQLITE_IOERR => "disk I/O error",
        SQLITE_CORRUPT => "database disk image is malformed",
        SQLITE_NOTFOUND => "unknown operation",
        SQLITE_FULL => "database or disk is full",
        SQLITE_CANTOPEN => "unable to open database file",
        SQLITE_PROTOCOL => "locking protocol",
        SQLITE_SCHEMA => "database schema has changed",
        SQLITE_TOOBIG => "string or blob too big",
        SQLITE_CONSTRAINT => "constraint failed",
        SQLITE_MISMATCH => "datatype mismatch",
        SQLITE_MISUSE => "bad parameter or other API misuse",
        SQLITE_AUTH => "authorization denied",
        SQLITE_RANGE => "column index out of range",
        SQLITE_NOTADB => "file is not a database",
        SQLITE_NOTICE => "notification message",
        SQLITE_WARNING => "warning message",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (code, name) in NAMES {
            assert_eq!(name_of(*code), Some(*name));
        }
        assert_eq!(name_of(SQLITE_BUSY_SNAPSHOT), Some("SQLITE_BUSY_SNAPSHOT"));
        assert_eq!(name_of(0), None);
        assert_eq!(name_of(99_999), None);
    }

    #[test]
    fn descriptions() {
        assert_eq!(description(SQLITE_BUSY_SNAPSHOT), "database is locked");
        assert_eq!(description(SQLITE_ABORT_ROLLBACK), "abort due to ROLLBACK");
        assert_eq!(description(SQLITE_CONSTRAINT_UNIQUE), "constraint failed");
        assert_eq!(description(SQLITE_INTERNAL), "unknown error");
        assert_eq!(description(200), "unknown error");
    }
}
