//! [`MySqlConnectOptions`]: where and how to connect, from a URL or a builder.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use mysql_async::{Conn, OptsBuilder};
use txkit_core::{DatabaseUrl, ENGINE_URL_KEYS, Error, ErrorKind, Result, Secret};

use crate::ServerInfo;
use crate::connection::MySqlConnection;
use crate::error::{
    BACKEND, ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR, ER_BAD_DB_ERROR,
    ER_DBACCESS_DENIED_ERROR, classify,
};

/// The query-string keys this backend reads (besides the engine's own).
pub const URL_KEYS: &[&str] = &[
    "password",
    "connect_timeout",
    "socket",
    "ssl_mode",
    "application_name",
    "program_name",
    "statement_cache_size",
    "prefer_socket",
];

const DEFAULT_PORT: u16 = 3306;
const DEFAULT_STATEMENT_CACHE_SIZE: usize = 32;

/// The default of [`MySqlConnectOptions::idle_ping_after`]: as the pool's `pre_ping_idle`.
const DEFAULT_IDLE_PING_AFTER: Duration = Duration::from_secs(1);

/// Whether the connection must be encrypted, as MySQL's `--ssl-mode`.
///
/// This build has no TLS (mysql_async is built with its `minimal` feature set), so only
/// `Disabled` and `Preferred` connect, in plain text; the others are refused with a Config
/// error rather than silently connecting unencrypted. Use the Unix socket or a tunnel on
/// untrusted networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never encrypt.
    Disabled,
    /// Encrypt when possible (MySQL's default); without TLS support, plain text.
    #[default]
    Preferred,
    /// Encrypt or fail.
    Required,
    /// Encrypt and verify the server certificate's authority.
    VerifyCa,
    /// Encrypt and verify the certificate and the host name.
    VerifyIdentity,
}

impl SslMode {
    /// Whether this mode demands encryption.
    pub fn requires_tls(self) -> bool {
        matches!(self, Self::Required | Self::VerifyCa | Self::VerifyIdentity)
    }
}

impl FromStr for SslMode {
    type Err = Error;

    /// `disabled`, `preferred`, `required`, `verify_ca`, `verify_identity`, in any case,
    /// with `-` or `_`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" => Ok(Self::Disabled),
            "preferred" => Ok(Self::Preferred),
            "required" => Ok(Self::Required),
            "verify_ca" => Ok(Self::VerifyCa),
            "verify_identity" => Ok(Self::VerifyIdentity),
            _ => Err(Error::config(format!(
                "unknown ssl_mode {s:?}; accepted: DISABLED, PREFERRED, REQUIRED, VERIFY_CA, \
                 VERIFY_IDENTITY"
            ))),
        }
    }
}

/// How to connect to a MySQL or MariaDB server.
///
/// ```
/// use txkit_core::DatabaseUrl;
/// use txkit_mysql::MySqlConnectOptions;
/// let url = DatabaseUrl::parse("mysql://app:s3cret@db.local:3307/shop?connect_timeout=5")?;
/// let opts = MySqlConnectOptions::from_url(&url)?;
/// assert_eq!(opts.get_port(), 3307);
/// assert!(!format!("{opts:?}").contains("s3cret"));
/// # Ok::<(), txkit_core::Error>(())
/// ```
#[derive(Clone)]
pub struct MySqlConnectOptions {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<Secret>,
    database: Option<String>,
    socket: Option<String>,
    connect_timeout: Option<Duration>,
    ssl_mode: SslMode,
    application_name: Option<String>,
    statement_cache_size: usize,
    prefer_socket: bool,
    idle_ping_after: Duration,
    redacted_url: Option<String>,
}

impl fmt::Debug for MySqlConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .field("socket", &self.socket)
            .field("connect_timeout", &self.connect_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field("application_name", &self.application_name)
            .field("statement_cache_size", &self.statement_cache_size)
            .field("prefer_socket", &self.prefer_socket)
            .field("idle_ping_after", &self.idle_ping_after)
            .finish()
    }
}

impl Default for MySqlConnectOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl MySqlConnectOptions {
    /// How long a connection may sit idle in a pool before its checkout pings it (URL
    /// option `idle_ping_after`, seconds; default 1 s). mysql_async does not expose its
    /// socket, so a connection the server closed while idle (KILL, `wait_timeout`) cannot
    /// be seen without a round trip; this ping finds it at checkout, without the pool's
    /// `pre_ping`, and the pool opens another. Zero pings at every checkout.
    pub fn idle_ping_after(mut self, idle: Duration) -> Self {
        self.idle_ping_after = idle;
        self
    }

    /// Options for `localhost:3306`, no user, no database.
    pub fn new() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: DEFAULT_PORT,
            user: None,
            password: None,
            database: None,
            socket: None,
            connect_timeout: None,
            ssl_mode: SslMode::default(),
            application_name: None,
            statement_cache_size: DEFAULT_STATEMENT_CACHE_SIZE,
            prefer_socket: true,
            idle_ping_after: DEFAULT_IDLE_PING_AFTER,
            redacted_url: None,
        }
    }

    /// Reads `mysql://user:password@host:port/database?option=value` (scheme `mysql` or
    /// `mariadb`). User, password and database are percent-decoded; the password may also
    /// be given as `?password=`. Options: `connect_timeout` (seconds), `socket` (Unix
    /// socket path), `ssl_mode`, `application_name` / `program_name` (the `program_name`
    /// connection attribute), `statement_cache_size`, `prefer_socket` (`false` keeps a
    /// loopback connection on TCP instead of moving to the server's Unix socket). The
    /// engine's keys
    /// ([`ENGINE_URL_KEYS`]) are skipped; any other key is a Config error listing the
    /// accepted ones.
    pub fn from_url(url: &DatabaseUrl) -> Result<Self> {
        if !matches!(url.scheme(), "mysql" | "mariadb") {
            return Err(Error::config(format!(
                "{} is not a MySQL URL; use mysql://user@host:port/database (or mariadb://)",
                url.redacted()
            )));
        }
        let parsed = url.to_url()?;
        let mut opts = Self::new();
        opts.redacted_url = Some(url.redacted().to_owned());
        match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => opts.host = url.decode(d, "the host")?,
            Some(url::Host::Ipv4(a)) => opts.host = a.to_string(),
            Some(url::Host::Ipv6(a)) => opts.host = a.to_string(),
            _ => {}
        }
        opts.port = parsed.port().unwrap_or(DEFAULT_PORT);
        if !parsed.username().is_empty() {
            opts.user = Some(url.decode(parsed.username(), "the user name")?);
        }
        if let Some(password) = parsed.password() {
            opts.password = Some(Secret::new(url.decode(password, "the password")?));
        }
        let path = url.decode(parsed.path().trim_start_matches('/'), "the database name")?;
        if path.contains('/') {
            return Err(Error::config(format!(
                "{}: the path must be one database name",
                url.redacted()
            )));
        }
        if !path.is_empty() {
            opts.database = Some(path);
        }
        for (key, value) in url.query_pairs()? {
            opts.apply_url_option(&key, value, url.redacted())?;
        }
        opts.check_tls()?;
        Ok(opts)
    }

    fn apply_url_option(&mut self, key: &str, value: String, redacted: &str) -> Result<()> {
        match key {
            "password" => {
                if self.password.is_some() {
                    return Err(Error::config(format!(
                        "{redacted}: the password is given twice (in the user info and as \
                         ?password=); give it once"
                    )));
                }
                self.password = Some(Secret::new(value));
            }
            "connect_timeout" => {
                let secs = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0);
                let Some(secs) = secs else {
                    return Err(Error::config(format!(
                        "connect_timeout={value:?} must be a positive number of seconds"
                    )));
                };
                self.connect_timeout = Some(Duration::from_secs_f64(secs));
            }
            "idle_ping_after" => {
                let secs = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0);
                let Some(secs) = secs else {
                    return Err(Error::config(format!(
                        "idle_ping_after={value:?} must be a number of seconds, 0 or more (0 \
                         pings at every checkout)"
                    )));
                };
                self.idle_ping_after = Duration::from_secs_f64(secs);
            }
            "socket" => self.socket = Some(value),
            "ssl_mode" => self.ssl_mode = value.parse()?,
            "application_name" | "program_name" => self.application_name = Some(value),
            "statement_cache_size" => {
                self.statement_cache_size = value.parse().map_err(|_| {
                    Error::config(format!(
                        "statement_cache_size={value:?} must be a whole number (0 disables \
                         the cache)"
                    ))
                })?;
            }
            "prefer_socket" => {
                self.prefer_socket = match value.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => {
                        return Err(Error::config(format!(
                            "prefer_socket={value:?} must be true or false"
                        )));
                    }
                };
            }
            _ if ENGINE_URL_KEYS.contains(&key) => {}
            _ => {
                return Err(Error::config(format!(
                    "unknown option {key:?} in {redacted}; accepted: {}, and the engine's {}",
                    URL_KEYS.join(", "),
                    ENGINE_URL_KEYS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The host name or IP address.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The TCP port (default 3306).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The user name.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The password (kept out of every printed form).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret::new(password));
        self
    }

    /// The default database.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Connect through this Unix socket instead of TCP.
    pub fn socket(mut self, path: impl Into<String>) -> Self {
        self.socket = Some(path.into());
        self
    }

    /// Give up connecting after this long (default: no limit beyond the operating system's).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The encryption requirement (see [`SslMode`]).
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self
    }

    /// Sent as the `program_name` connection attribute (visible in
    /// `performance_schema.session_connect_attrs`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Whether a TCP connection to the local server moves to the server's Unix socket
    /// (mysql_async's default, true). `false` keeps it on TCP — through a proxy, say.
    pub fn prefer_socket(mut self, prefer: bool) -> Self {
        self.prefer_socket = prefer;
        self
    }

    /// How many prepared statements each connection keeps (default 32; 0 disables the
    /// cache, so every statement is prepared and closed per call).
    pub fn statement_cache_size(mut self, size: usize) -> Self {
        self.statement_cache_size = size;
        self
    }

    /// The host.
    pub fn get_host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn get_port(&self) -> u16 {
        self.port
    }

    /// The user, if set.
    pub fn get_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The database, if set.
    pub fn get_database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The Unix socket path, if set.
    pub fn get_socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// The connect timeout, if set.
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The encryption requirement.
    pub fn get_ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The application name, if set.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// The prepared-statement cache size.
    pub fn get_statement_cache_size(&self) -> usize {
        self.statement_cache_size
    }

    /// Where these options point, safe to print: the redacted URL they came from, or
    /// `mysql://user@host:port/database`.
    pub fn display_target(&self) -> String {
        if let Some(url) = &self.redacted_url {
            return url.clone();
        }
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let db = self.database.as_deref().unwrap_or_default();
        format!("mysql://{user}{}:{}/{db}", self.host, self.port)
    }

    fn check_tls(&self) -> Result<()> {
        if self.ssl_mode.requires_tls() {
            return Err(Error::config(format!(
                "ssl_mode={:?} asks for an encrypted connection, but this build of txkit-mysql \
                 has no TLS support; refusing to connect in plain text. Use ssl_mode=disabled \
                 over a Unix socket or a tunnel",
                self.ssl_mode
            )));
        }
        Ok(())
    }

    fn driver_opts(&self) -> OptsBuilder {
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(self.user.clone())
            .pass(self.password.as_ref().map(|p| p.expose().to_owned()))
            .db_name(self.database.clone())
            .socket(self.socket.clone())
            .stmt_cache_size(self.statement_cache_size)
            .prefer_socket(self.prefer_socket)
            // Affected rows mean rows *matched*, as on PostgreSQL and SQLite: an UPDATE
            // that finds its row but changes nothing still counts 1, so a version check
            // never mistakes "unchanged" for "gone".
            .client_found_rows(true);
        if let Some(name) = &self.application_name {
            opts = opts.connect_attribute("program_name", name.clone());
        }
        opts
    }

    /// Opens a connection and detects the server (one `SELECT VERSION()`).
    pub async fn connect(&self) -> Result<MySqlConnection> {
        self.check_tls()?;
        let opts = self.driver_opts();
        let attempt = async move {
            let mut conn = Conn::new(opts).await.map_err(|e| self.connect_error(e))?;
            let version = select_version(&mut conn)
                .await
                .map_err(|e| self.connect_error(e))?;
            Ok::<_, Error>((conn, version))
        };
        let (conn, version) = match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, attempt).await.map_err(|_| {
                Error::connection_lost(format!(
                    "could not connect to {} within {limit:?} (connect_timeout); check that \
                     the server is running and reachable from here",
                    self.display_target()
                ))
            })??,
            None => attempt.await?,
        };
        Ok(MySqlConnection::new(conn, ServerInfo::parse(&version))
            .with_idle_ping_after(self.idle_ping_after))
    }

    /// A connect failure as a txkit error: the redacted target, the cause said once, and
    /// what to check. A refused login or an unknown database is the URL's fault (Config),
    /// as on PostgreSQL; a server that does not answer is ConnectionLost.
    fn connect_error(&self, e: mysql_async::Error) -> Error {
        let target = self.display_target();
        let cause = crate::error::cause(&e);
        let error = match &e {
            mysql_async::Error::Server(server) => {
                let (kind, advice) = match server.code {
                    ER_ACCESS_DENIED_ERROR
                    | ER_DBACCESS_DENIED_ERROR
                    | ER_ACCESS_DENIED_NO_PASSWORD_ERROR => (
                        ErrorKind::Config,
                        "check the user name and password in the URL, and that the user may \
                         connect from this host (mysql.user) and use that database",
                    ),
                    ER_BAD_DB_ERROR => (
                        ErrorKind::Config,
                        "check the database name in the URL, or create the database",
                    ),
                    code => (
                        classify(code, &server.message, false),
                        "check that the server accepts connections",
                    ),
                };
                Error::database(
                    kind,
                    BACKEND,
                    server.code.to_string(),
                    format!("could not connect to {target}: {cause}; {advice}"),
                )
            }
            _ => Error::connection_lost(format!(
                "could not connect to {target}: {cause}; check that the server is running and \
                 listening there"
            )),
        };
        error.with_source(e)
    }
}

async fn select_version(conn: &mut Conn) -> mysql_async::Result<String> {
    use mysql_async::prelude::Queryable;
    let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
    Ok(version.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use txkit_core::ErrorKind;

    fn opts(text: &str) -> Result<MySqlConnectOptions> {
        MySqlConnectOptions::from_url(&DatabaseUrl::parse(text)?)
    }

    #[test]
    fn reads_every_part() {
        let o = opts(
            "mysql://us%40er:p%40ss%3Aw@db.example:3307/shop%2Dx?connect_timeout=2.5&\
             socket=/run/mysqld.sock&ssl_mode=DISABLED&application_name=billing&\
             statement_cache_size=0&pool_size=4&isolation=serializable",
        )
        .expect("opts");
        assert_eq!(o.get_host(), "db.example");
        assert_eq!(o.get_port(), 3307);
        assert_eq!(o.get_user(), Some("us@er"));
        assert_eq!(o.password.as_ref().map(Secret::expose), Some("p@ss:w"));
        assert_eq!(o.get_database(), Some("shop-x"));
        assert_eq!(o.get_connect_timeout(), Some(Duration::from_millis(2500)));
        assert_eq!(o.get_socket(), Some("/run/mysqld.sock"));
        assert_eq!(o.get_ssl_mode(), SslMode::Disabled);
        assert_eq!(o.get_application_name(), Some("billing"));
        assert_eq!(o.get_statement_cache_size(), 0);
        assert!(o.prefer_socket, "mysql_async's default");
        assert!(
            !opts("mysql://h/db?prefer_socket=false")
                .expect("tcp")
                .prefer_socket
        );
        let err = opts("mysql://h/db?prefer_socket=maybe").unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn defaults_and_other_forms() {
        let o = opts("mariadb://127.0.0.1").expect("opts");
        assert_eq!((o.get_host(), o.get_port()), ("127.0.0.1", 3306));
        assert_eq!(o.get_user(), None);
        assert_eq!(o.get_database(), None);
        assert_eq!(o.get_ssl_mode(), SslMode::Preferred);
        let o = opts("mysql://[::1]:3310/db?password=x%26y&program_name=p").expect("v6");
        assert_eq!(o.get_host(), "::1");
        assert_eq!(o.password.as_ref().map(Secret::expose), Some("x&y"));
        assert_eq!(o.get_application_name(), Some("p"));
        let o = opts("mysql:///db?socket=/tmp/s").expect("socket only");
        assert_eq!(o.get_host(), "localhost");
        // One decoding rule on every backend, libpq's: a `+` in an option is a `+`.
        let o = opts("mysql://h/db?password=a+b&application_name=c%20d").expect("plus");
        assert_eq!(o.password.as_ref().map(Secret::expose), Some("a+b"));
        assert_eq!(o.get_application_name(), Some("c d"));
    }

    #[test]
    fn refusals() {
        for (text, needle) in [
            ("postgres://h/db", "not a MySQL URL"),
            (
                "mysql://h/db?sslmode=disable",
                "accepted: password, connect_timeout",
            ),
            ("mysql://h/db?connect_timeout=-1", "positive"),
            ("mysql://h/db?connect_timeout=abc", "positive"),
            ("mysql://h/db?ssl_mode=required", "no TLS"),
            ("mysql://h/db?ssl_mode=VERIFY_IDENTITY", "no TLS"),
            ("mysql://h/db?ssl_mode=sometimes", "VERIFY_CA"),
            ("mysql://u:a@h/db?password=b", "twice"),
            ("mysql://h/a/b", "one database"),
            ("mysql://h/db?statement_cache_size=x", "whole number"),
        ] {
            let e = opts(text).expect_err(text);
            assert_eq!(e.kind(), ErrorKind::Config, "{text}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn password_never_printed() {
        let o = opts("mysql://u:S3ntinel@h/db").expect("opts");
        assert!(!format!("{o:?}").contains("S3ntinel"));
        assert!(!o.display_target().contains("S3ntinel"));
        let o = MySqlConnectOptions::new()
            .user("u")
            .password("S3ntinel")
            .host("h")
            .database("d");
        assert!(!format!("{o:?}").contains("S3ntinel"));
        assert_eq!(o.display_target(), "mysql://u@h:3306/d");
        let e = opts("mysql://u:S3ntinel@h/db?bogus=1").expect_err("bogus");
        assert!(!e.to_string().contains("S3ntinel"), "{e}");
    }

    #[test]
    fn ssl_required_refused_by_builder_at_connect() {
        let o = MySqlConnectOptions::new().ssl_mode(SslMode::Required);
        let e = o.check_tls().expect_err("tls");
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
