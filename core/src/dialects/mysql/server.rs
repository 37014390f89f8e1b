//! Which server a connection talks to (MySQL or MariaDB, and its version), and what SQL
//! that server accepts.

use std::fmt;

/// The family of server: MySQL and MariaDB share a protocol but not all SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerFlavor {
    /// Oracle MySQL (and servers that report a MySQL version, such as Percona Server or
    /// TiDB).
    MySql,
    /// MariaDB.
    MariaDb,
}

impl ServerFlavor {
    /// `"mysql"` or `"mariadb"`: the dialect name txkit reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MySql => "mysql",
            Self::MariaDb => "mariadb",
        }
    }
}

impl fmt::Display for ServerFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MySql => "MySQL",
            Self::MariaDb => "MariaDB",
        })
    }
}

/// The server a connection talks to, detected at connect from `SELECT VERSION()`.
///
/// ```
/// use txkit_core::dialects::mysql::{ServerFlavor, ServerInfo};
/// let info = ServerInfo::parse("10.11.6-MariaDB-0+deb12u1");
/// assert_eq!(info.flavor(), ServerFlavor::MariaDb);
/// assert_eq!(info.version(), (10, 11, 6));
/// assert!(info.supports_skip_locked());
/// assert!(!info.supports_for_share());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerInfo {
    flavor: ServerFlavor,
    version: (u16, u16, u16),
    version_string: String,
}

impl ServerInfo {
    /// Reads a `VERSION()` string: `8.0.36`, `10.11.6-MariaDB-log`, or the
    /// `5.5.5-10.11.6-MariaDB` form older MariaDB servers put in the handshake.
    pub fn parse(version: &str) -> Self {
        let flavor = if version.to_ascii_lowercase().contains("mariadb") {
            ServerFlavor::MariaDb
        } else {
            ServerFlavor::MySql
        };
        let numbers = match flavor {
            // MariaDB once prefixed its version with "5.5.5-" to please old MySQL clients.
            ServerFlavor::MariaDb => version.strip_prefix("5.5.5-").unwrap_or(version),
            ServerFlavor::MySql => version,
        };
        Self {
            flavor,
            version: parse_triple(numbers),
            version_string: version.to_owned(),
        }
    }

    /// A MySQL server of the given version (for rendering SQL without a connection).
    pub fn mysql(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            flavor: ServerFlavor::MySql,
            version: (major, minor, patch),
            version_string: format!("{major}.{minor}.{patch}"),
        }
    }

    /// A MariaDB server of the given version (for rendering SQL without a connection).
    pub fn mariadb(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            flavor: ServerFlavor::MariaDb,
            version: (major, minor, patch),
            version_string: format!("{major}.{minor}.{patch}-MariaDB"),
        }
    }

    /// MySQL or MariaDB.
    pub fn flavor(&self) -> ServerFlavor {
        self.flavor
    }

    /// Whether the server is MariaDB.
    pub fn is_mariadb(&self) -> bool {
        self.flavor == ServerFlavor::MariaDb
    }

    /// The version as `(major, minor, patch)`.
    pub fn version(&self) -> (u16, u16, u16) {
        self.version
    }

    /// The version string as the server reported it.
    pub fn version_string(&self) -> &str {
        &self.version_string
    }

    fn at_least(&self, flavor: ServerFlavor, version: (u16, u16, u16)) -> bool {
        self.flavor == flavor && self.version >= version
    }

    /// `SELECT … FOR SHARE`: MySQL 8.0.1 and later. MariaDB (through 11.x) only has
    /// `LOCK IN SHARE MODE`.
    pub fn supports_for_share(&self) -> bool {
        self.at_least(ServerFlavor::MySql, (8, 0, 1))
    }

    /// `NOWAIT` on locking reads: MySQL 8.0.1, MariaDB 10.3.
    pub fn supports_nowait(&self) -> bool {
        self.at_least(ServerFlavor::MySql, (8, 0, 1))
            || self.at_least(ServerFlavor::MariaDb, (10, 3, 0))
    }

    /// `SKIP LOCKED` on locking reads: MySQL 8.0.1, MariaDB 10.6.
    pub fn supports_skip_locked(&self) -> bool {
        self.at_least(ServerFlavor::MySql, (8, 0, 1))
            || self.at_least(ServerFlavor::MariaDb, (10, 6, 0))
    }

    /// `FOR UPDATE OF t`: MySQL 8.0.1 only.
    pub fn supports_lock_of(&self) -> bool {
        self.at_least(ServerFlavor::MySql, (8, 0, 1))
    }

    /// `LOCK TABLES … NOWAIT`: MariaDB 10.3 only.
    pub fn supports_lock_tables_nowait(&self) -> bool {
        self.at_least(ServerFlavor::MariaDb, (10, 3, 0))
    }

    /// `START TRANSACTION READ ONLY`: MySQL 5.6.5, MariaDB 10.0.
    pub fn supports_read_only_transactions(&self) -> bool {
        self.at_least(ServerFlavor::MySql, (5, 6, 5))
            || self.at_least(ServerFlavor::MariaDb, (10, 0, 0))
    }
}

impl fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.version;
        write!(f, "{} {a}.{b}.{c}", self.flavor)
    }
}

/// The leading `major.minor.patch` of `text`; missing or unreadable parts are 0.
fn parse_triple(text: &str) -> (u16, u16, u16) {
    let mut parts = text.split('.').map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u16>().unwrap_or(0)
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_strings() {
        for (text, flavor, version) in [
            ("8.0.36", ServerFlavor::MySql, (8, 0, 36)),
            ("8.4.0-log", ServerFlavor::MySql, (8, 4, 0)),
            ("5.7.44-0ubuntu0.18.04.1", ServerFlavor::MySql, (5, 7, 44)),
            ("8.0.11-TiDB-v7.5.0", ServerFlavor::MySql, (8, 0, 11)),
            (
                "10.11.19-MariaDB-0+deb12u1",
                ServerFlavor::MariaDb,
                (10, 11, 19),
            ),
            ("5.5.5-10.6.12-MariaDB", ServerFlavor::MariaDb, (10, 6, 12)),
            ("11.4.2-MariaDB-log", ServerFlavor::MariaDb, (11, 4, 2)),
            ("garbage", ServerFlavor::MySql, (0, 0, 0)),
        ] {
            let info = ServerInfo::parse(text);
            assert_eq!(info.flavor(), flavor, "{text}");
            assert_eq!(info.version(), version, "{text}");
            assert_eq!(info.version_string(), text);
        }
    }

    #[test]
    fn feature_gates() {
        let my8 = ServerInfo::mysql(8, 0, 36);
        let my57 = ServerInfo::mysql(5, 7, 44);
        let maria1011 = ServerInfo::mariadb(10, 11, 6);
        let maria105 = ServerInfo::mariadb(10, 5, 0);
        let maria102 = ServerInfo::mariadb(10, 2, 0);
        assert!(my8.supports_for_share() && my8.supports_lock_of());
        assert!(!my57.supports_for_share() && !my57.supports_nowait());
        assert!(!maria1011.supports_for_share() && !maria1011.supports_lock_of());
        assert!(maria1011.supports_nowait() && maria1011.supports_skip_locked());
        assert!(maria105.supports_nowait() && !maria105.supports_skip_locked());
        assert!(!maria102.supports_nowait());
        assert!(maria1011.supports_lock_tables_nowait() && !my8.supports_lock_tables_nowait());
        assert_eq!(maria1011.to_string(), "MariaDB 10.11.6");
        assert_eq!(my8.flavor().as_str(), "mysql");
    }
}
