//! [`PgConnectOptions`]: everything needed to open a connection, from a URL or a builder.

use std::path::PathBuf;
use std::time::Duration;

use txkit_core::{DatabaseUrl, ENGINE_URL_KEYS, Error, Result, Secret};

use crate::PgConnection;
use crate::hosts::{LoadBalanceHosts, TargetSessionAttrs, split_hosts};
use crate::pooler::Pooler;

/// The URL query keys this backend reads.
pub const URL_KEYS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "application_name",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "options",
    "statement_cache_size",
    "driver",
    "pooler",
    "target_session_attrs",
    "load_balance_hosts",
];

/// The default number of prepared statements kept per connection.
pub const DEFAULT_STATEMENT_CACHE_SIZE: usize = 100;

/// Whether and how the connection is encrypted, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain text.
    Disable,
    /// TLS when the `tls` feature is compiled in and the server offers it, else plain text
    /// (libpq's default). The certificate is not verified.
    #[default]
    Prefer,
    /// TLS or no connection; the traffic is encrypted but the server's certificate is not
    /// verified (as in libpq). Needs the `tls` feature.
    Require,
    /// TLS with the certificate chain verified against `sslrootcert` (or the Mozilla roots);
    /// the host name is not checked. Needs the `tls` feature.
    VerifyCa,
    /// TLS with the chain and the host name verified. Needs the `tls` feature.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling: `disable`, `prefer`, `require`, `verify-ca`, `verify-full`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" | "verify_ca" => Ok(Self::VerifyCa),
            "verify-full" | "verify_full" => Ok(Self::VerifyFull),
            _ => Err(Error::config(format!(
                "unknown sslmode {text:?}; accepted: disable, prefer, require, verify-ca, \
                 verify-full"
            ))),
        }
    }

    /// libpq's spelling of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Whether the mode refuses a plain-text connection.
    pub fn requires_tls(self) -> bool {
        matches!(self, Self::Require | Self::VerifyCa | Self::VerifyFull)
    }
}

/// Which client speaks the protocol: tokio-postgres (the default), or txkit's own layer,
/// which sends a pipeline with one Sync ([`PgWireConnection`](crate::PgWireConnection)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PgDriver {
    /// tokio-postgres: every feature, TLS and every authentication method.
    #[default]
    TokioPostgres,
    /// txkit's own protocol layer: faster pipelines; no TLS, trust authentication only.
    Txkit,
}

impl PgDriver {
    /// Parses the URL spelling: `tokio-postgres` or `txkit`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "tokio-postgres" => Ok(Self::TokioPostgres),
            "txkit" => Ok(Self::Txkit),
            _ => Err(Error::config(format!(
                "unknown driver {text:?}; accepted: tokio-postgres (the default), txkit"
            ))),
        }
    }
}

/// How to reach a PostgreSQL server. `Debug` shows the password as `***`.
///
/// ```
/// use txkit_postgres::PgConnectOptions;
/// let url = txkit_core::DatabaseUrl::parse(
///     "postgres://app:secret@127.0.0.1:5432/shop?application_name=api&connect_timeout=5",
/// )?;
/// let opts = PgConnectOptions::from_url(&url)?;
/// assert_eq!(opts.get_database(), Some("shop"));
/// assert!(!format!("{opts:?}").contains("secret"));
/// # Ok::<(), txkit_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PgConnectOptions {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<Secret>,
    database: Option<String>,
    application_name: Option<String>,
    connect_timeout: Option<Duration>,
    ssl_mode: SslMode,
    ssl_root_cert: Option<PathBuf>,
    options: Option<String>,
    statement_cache_size: usize,
    driver: PgDriver,
    pooler: Pooler,
    /// The hosts after the first (`host` and `port`), in the order written.
    others: Vec<(String, u16)>,
    target_session_attrs: TargetSessionAttrs,
    load_balance_hosts: LoadBalanceHosts,
    /// The URL these options came from, password redacted; cleared when a setter changes
    /// where to connect.
    redacted_url: Option<String>,
}

impl Default for PgConnectOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl PgConnectOptions {
    /// Options for `localhost:5432` with no user yet, `sslmode=prefer`.
    pub fn new() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: 5432,
            user: None,
            password: None,
            database: None,
            application_name: None,
            connect_timeout: None,
            ssl_mode: SslMode::default(),
            ssl_root_cert: None,
            options: None,
            statement_cache_size: DEFAULT_STATEMENT_CACHE_SIZE,
            driver: PgDriver::TokioPostgres,
            pooler: Pooler::Auto,
            others: Vec::new(),
            target_session_attrs: TargetSessionAttrs::Any,
            load_balance_hosts: LoadBalanceHosts::Disable,
            redacted_url: None,
        }
    }

    /// Reads `postgres://user:password@host:port/dbname?key=value` (scheme `postgres` or
    /// `postgresql`). Query keys: see [`URL_KEYS`]; the engine's keys
    /// ([`ENGINE_URL_KEYS`]) are skipped; any other key is a Config error listing both.
    pub fn from_url(url: &DatabaseUrl) -> Result<Self> {
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(Error::config(format!(
                "{} is not a PostgreSQL URL; use postgres://user@host:port/database",
                url.redacted()
            )));
        }
        // `h1:p1,h2:p2` is no URL authority the url crate reads: it parses the first host,
        // and the list is read here.
        let several = several_hosts(url.expose());
        let first_only = match &several {
            Some((first_only, _)) => Some(DatabaseUrl::parse(first_only)?),
            None => None,
        };
        let parsed = parse_url(first_only.as_ref().unwrap_or(url))?;
        let mut opts = Self::new();
        if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            opts.host = url.decode(host, "the host")?;
        }
        if let Some(port) = parsed.port() {
            opts.port = port;
        }
        if !parsed.username().is_empty() {
            opts.user = Some(url.decode(parsed.username(), "the user name")?);
        }
        if let Some(password) = parsed.password() {
            opts.password = Some(Secret::new(url.decode(password, "the password")?));
        }
        let path = parsed.path().trim_start_matches('/');
        if !path.is_empty() {
            opts.database = Some(url.decode(path, "the database name")?);
        }
        if let Some((_, list)) = &several {
            opts.set_hosts(split_hosts(list, 5432)?);
        }
        for (key, value) in url.query_pairs()? {
            opts.apply(&key, value, url)?;
        }
        opts.check()?;
        opts.redacted_url = Some(url.redacted().to_owned());
        Ok(opts)
    }

    fn apply(&mut self, key: &str, value: String, url: &DatabaseUrl) -> Result<()> {
        let number = |v: &str| {
            v.trim().parse::<u64>().map_err(|_| {
                Error::config(format!("URL option {key}={v:?} must be a whole number"))
            })
        };
        match key {
            "host" if value.contains(',') => self.set_hosts(split_hosts(&value, self.port)?),
            "host" => self.host = value,
            "port" if value.contains(',') => self.set_ports(&value)?,
            "port" => {
                self.port = u16::try_from(number(&value)?)
                    .map_err(|_| Error::config(format!("port {value} is out of range")))?;
                // One port for several hosts is every host's (libpq).
                for (_, port) in &mut self.others {
                    *port = self.port;
                }
            }
            "user" => self.user = Some(value),
            "password" => self.password = Some(Secret::new(value)),
            "dbname" => self.database = Some(value),
            "application_name" => self.application_name = Some(value),
            "connect_timeout" => {
                let secs = number(&value)?;
                self.connect_timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "sslmode" => self.ssl_mode = SslMode::parse(&value)?,
            "sslrootcert" => self.ssl_root_cert = Some(PathBuf::from(value)),
            "options" => self.options = Some(value),
            "statement_cache_size" => {
                self.statement_cache_size = usize::try_from(number(&value)?).unwrap_or(usize::MAX);
            }
            "driver" => self.driver = PgDriver::parse(&value)?,
            "pooler" => self.pooler = Pooler::parse(&value)?,
            "target_session_attrs" => {
                self.target_session_attrs = TargetSessionAttrs::parse(&value)?;
            }
            "load_balance_hosts" => self.load_balance_hosts = LoadBalanceHosts::parse(&value)?,
            k if ENGINE_URL_KEYS.contains(&k) => {}
            other => {
                return Err(Error::config(format!(
                    "unknown option {other:?} in {}; accepted: {}; and the engine's: {}",
                    url.redacted(),
                    URL_KEYS.join(", "),
                    ENGINE_URL_KEYS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Refuses combinations that cannot work: TLS asked of a build without the `tls`
    /// feature, TLS over a Unix socket, no user.
    pub(crate) fn check(&self) -> Result<()> {
        if self.ssl_mode.requires_tls() && !cfg!(feature = "tls") {
            return Err(Error::config(format!(
                "sslmode={} needs TLS, which this build of txkit-postgres lacks; enable its \
                 `tls` Cargo feature (or use sslmode=disable/prefer on a trusted network)",
                self.ssl_mode.as_str()
            )));
        }
        if self.ssl_mode.requires_tls() && self.is_unix_socket() {
            return Err(Error::config(format!(
                "sslmode={} cannot be honoured over the Unix socket {}: PostgreSQL does not \
                 encrypt socket connections; connect over TCP or use sslmode=disable",
                self.ssl_mode.as_str(),
                self.host
            )));
        }
        if self.user.is_none() {
            return Err(Error::config(
                "no user name: write postgres://USER@host/database or add ?user=USER",
            ));
        }
        Ok(())
    }

    /// Sets the host name, IP address, or Unix-socket directory (a path starting with `/`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self.redacted_url = None;
        self
    }

    /// Sets the port (5432 by default); for a socket it picks the socket file.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self.redacted_url = None;
        self
    }

    /// Sets the user name.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self.redacted_url = None;
        self
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret::new(password));
        self
    }

    /// Sets the database name (the server's default is the user name).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self.redacted_url = None;
        self
    }

    /// Sets `application_name`, shown in `pg_stat_activity`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Sets how long to wait for the TCP connection (no limit by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets the TLS mode.
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self
    }

    /// Sets a PEM file of CA certificates for `verify-ca` / `verify-full`.
    pub fn ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_root_cert = Some(path.into());
        self
    }

    /// Sets command-line options sent to the server (`-c search_path=app`).
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = Some(options.into());
        self
    }

    /// Sets how many prepared statements each connection keeps (0 prepares every time).
    pub fn statement_cache_size(mut self, size: usize) -> Self {
        self.statement_cache_size = size;
        self
    }

    /// The host, IP address or socket directory.
    pub fn get_host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn get_port(&self) -> u16 {
        self.port
    }

    /// The user name.
    pub fn get_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password, if one is set (printing it shows `***`).
    pub fn get_password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The database name.
    pub fn get_database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The application name.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The TLS mode.
    pub fn get_ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The CA certificate file.
    pub fn get_ssl_root_cert(&self) -> Option<&std::path::Path> {
        self.ssl_root_cert.as_deref()
    }

    /// The server command-line options.
    pub fn get_options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// The protocol client (URL option `driver`).
    pub fn get_driver(&self) -> PgDriver {
        self.driver
    }

    /// Chooses the protocol client (see [`PgDriver`]).
    pub fn driver(mut self, driver: PgDriver) -> Self {
        self.driver = driver;
        self
    }

    /// Sets the hosts to try, in order (the first is [`get_host`](Self::get_host) and
    /// [`get_port`](Self::get_port)); an empty list changes nothing.
    pub fn hosts(mut self, hosts: Vec<(String, u16)>) -> Self {
        self.set_hosts(hosts);
        self.redacted_url = None;
        self
    }

    fn set_hosts(&mut self, mut hosts: Vec<(String, u16)>) {
        if hosts.is_empty() {
            return;
        }
        let (host, port) = hosts.remove(0);
        self.host = host;
        self.port = port;
        self.others = hosts;
    }

    /// `port=p1,p2,…`: one port per host, in order.
    fn set_ports(&mut self, list: &str) -> Result<()> {
        let ports = list
            .split(',')
            .map(|p| {
                p.trim().parse::<u16>().map_err(|_| {
                    Error::config(format!("port {p:?} in port={list:?} is not a port number"))
                })
            })
            .collect::<Result<Vec<u16>>>()?;
        if ports.len() != self.others.len() + 1 {
            return Err(Error::config(format!(
                "port={list:?} gives {} ports for {} hosts: give one port, or one per host",
                ports.len(),
                self.others.len() + 1
            )));
        }
        self.port = ports[0];
        for ((_, port), p) in self.others.iter_mut().zip(&ports[1..]) {
            *port = *p;
        }
        Ok(())
    }

    /// Every host to try, as options of its own, in the order to try them
    /// (`load_balance_hosts`: shuffled anew on each call when `random`).
    pub(crate) fn each_host(&self) -> Vec<PgConnectOptions> {
        if self.others.is_empty() {
            return vec![self.clone()];
        }
        let mut hosts: Vec<(String, u16)> = std::iter::once((self.host.clone(), self.port))
            .chain(self.others.iter().cloned())
            .collect();
        if self.load_balance_hosts == LoadBalanceHosts::Random {
            use std::hash::BuildHasher;
            let seed = std::hash::RandomState::new();
            for i in (1..hosts.len()).rev() {
                // Modulo bias over at most a few hosts is negligible.
                let j = usize::try_from(seed.hash_one(i) % (i as u64 + 1)).unwrap_or(0);
                hosts.swap(i, j);
            }
        }
        hosts
            .into_iter()
            .map(|(host, port)| {
                let mut one = self.clone();
                one.host = host;
                one.port = port;
                one.others = Vec::new();
                one.redacted_url = None;
                one
            })
            .collect()
    }

    /// The hosts after the first, in the order written.
    pub fn get_other_hosts(&self) -> &[(String, u16)] {
        &self.others
    }

    /// Sets the kind of server a connection must reach (URL option `target_session_attrs`).
    pub fn target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.target_session_attrs = attrs;
        self
    }

    /// The kind of server a connection must reach.
    pub fn get_target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }

    /// Sets the order the hosts are tried in (URL option `load_balance_hosts`).
    pub fn load_balance_hosts(mut self, order: LoadBalanceHosts) -> Self {
        self.load_balance_hosts = order;
        self
    }

    /// The order the hosts are tried in.
    pub fn get_load_balance_hosts(&self) -> LoadBalanceHosts {
        self.load_balance_hosts
    }

    /// Says what stands between txkit and the server (see [`Pooler`]; URL option `pooler`).
    pub fn pooler(mut self, pooler: Pooler) -> Self {
        self.pooler = pooler;
        self
    }

    /// What stands between txkit and the server, as configured ([`Pooler::Auto`] unless
    /// set).
    pub fn get_pooler(&self) -> Pooler {
        self.pooler
    }

    /// How many prepared statements each connection keeps.
    pub fn get_statement_cache_size(&self) -> usize {
        self.statement_cache_size
    }

    /// Whether the host is a Unix-socket directory.
    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// Where this connects, safe to print: the URL it was read from with the password
    /// redacted, or `postgres://user@host:port/database`.
    pub fn display_target(&self) -> String {
        if let Some(url) = &self.redacted_url {
            return url.clone();
        }
        let user = self.user.as_deref().unwrap_or("");
        let db = self.database.as_deref().unwrap_or("");
        if self.is_unix_socket() {
            format!(
                "postgres://{user}@/{db}?host={}&port={}",
                self.host, self.port
            )
        } else if self.host.contains(':') {
            format!("postgres://{user}@[{}]:{}/{db}", self.host, self.port)
        } else {
            format!("postgres://{user}@{}:{}/{db}", self.host, self.port)
        }
    }

    /// Opens a tokio-postgres connection, whatever [`get_driver`](Self::get_driver) says
    /// (the engine reads it to choose between this and
    /// [`PgWireConnection`](crate::PgWireConnection)).
    pub async fn connect(&self) -> Result<PgConnection> {
        crate::hosts::connect_to_any(self, |one| async move {
            crate::tokio_driver::connect(&one).await
        })
        .await
    }
}

/// For a URL whose authority names several hosts (`user@h1:p1,h2:p2`): the URL with only
/// the first, and the list.
fn several_hosts(raw: &str) -> Option<(String, String)> {
    let (scheme, rest) = raw.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let at = authority.rfind('@').map_or(0, |i| i + 1);
    let (user_info, list) = authority.split_at(at);
    let first = list.split(',').next().filter(|_| list.contains(','))?;
    Some((
        format!("{scheme}://{user_info}{first}{tail}"),
        list.to_owned(),
    ))
}

/// Parses the URL; libpq's `postgres://user@/db?host=/socket/dir` (user-info, empty host)
/// is read as if its host were `localhost`, which the `host` option then replaces.
fn parse_url(url: &DatabaseUrl) -> Result<url::Url> {
    let first = url.to_url();
    if first.is_ok() {
        return first;
    }
    let raw = url.expose();
    let patched = raw.split_once("://").and_then(|(scheme, rest)| {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        authority
            .ends_with('@')
            .then(|| format!("{scheme}://{authority}localhost{tail}"))
    });
    match patched.map(|p| DatabaseUrl::parse(&p).and_then(|u| u.to_url())) {
        Some(Ok(parsed)) => Ok(parsed),
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use txkit_core::ErrorKind;

    fn parse(text: &str) -> Result<PgConnectOptions> {
        PgConnectOptions::from_url(&DatabaseUrl::parse(text)?)
    }

    #[test]
    fn several_hosts_in_the_authority_or_the_query() {
        let o = parse(
            "postgres://u:pw@db1:5433,db2,[::1]:5435/app?target_session_attrs=primary\
             &load_balance_hosts=random",
        )
        .unwrap();
        assert_eq!((o.get_host(), o.get_port()), ("db1", 5433));
        assert_eq!(
            o.get_other_hosts(),
            [("db2".to_owned(), 5432), ("::1".to_owned(), 5435)]
        );
        assert_eq!(o.get_database(), Some("app"));
        assert_eq!(o.get_password().unwrap().expose(), "pw");
        assert_eq!(o.get_target_session_attrs(), TargetSessionAttrs::Primary);
        assert_eq!(o.get_load_balance_hosts(), LoadBalanceHosts::Random);
        assert!(!format!("{o:?}").contains("pw\""));
        let mut seen: Vec<String> = o.each_host().iter().map(|h| h.display_target()).collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                "postgres://u@[::1]:5435/app",
                "postgres://u@db1:5433/app",
                "postgres://u@db2:5432/app"
            ]
        );
        let one = parse("postgres://u@x/app?host=a,b&port=7").unwrap();
        assert_eq!((one.get_port(), one.get_other_hosts()[0].1), (7, 7));
        let q = parse("postgres://u@x/app?host=a,b&port=1,2").unwrap();
        assert_eq!((q.get_host(), q.get_port()), ("a", 1));
        assert_eq!(q.get_other_hosts(), [("b".to_owned(), 2)]);
        let e = parse("postgres://u@x/app?host=a,b&port=1,2,3").unwrap_err();
        assert!(e.to_string().contains("3 ports for 2 hosts"), "{e}");
        let e = parse("postgres://u@x/app?target_session_attrs=master").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }

    #[test]
    fn every_part_of_a_url() {
        let o = parse(
            "postgresql://al%40ice:p%40ss+w@db.example:6543/my%20db?application_name=api\
             &connect_timeout=7&sslmode=disable&options=-c%20search_path%3Dapp\
             &statement_cache_size=5&pool_size=3&isolation=serializable",
        )
        .unwrap();
        assert_eq!(o.get_host(), "db.example");
        assert_eq!(o.get_port(), 6543);
        assert_eq!(o.get_user(), Some("al@ice"));
        assert_eq!(o.get_password().unwrap().expose(), "p@ss+w");
        assert_eq!(o.get_database(), Some("my db"));
        assert_eq!(o.get_application_name(), Some("api"));
        assert_eq!(o.get_connect_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(o.get_ssl_mode(), SslMode::Disable);
        assert_eq!(o.get_options(), Some("-c search_path=app"));
        assert_eq!(o.get_statement_cache_size(), 5);
    }

    #[test]
    fn defaults_and_query_password() {
        let o = parse("postgres://bob@h?password=a%2Bb+c").unwrap();
        assert_eq!(o.get_port(), 5432);
        assert_eq!(o.get_database(), None);
        assert_eq!(o.get_ssl_mode(), SslMode::Prefer);
        assert_eq!(o.get_password().unwrap().expose(), "a+b+c");
        assert_eq!(
            parse("postgres://u@h?connect_timeout=0")
                .unwrap()
                .get_connect_timeout(),
            None
        );
    }

    #[test]
    fn unix_sockets_and_ipv6() {
        let o = parse("postgres://u@/test?host=/var/run/postgresql").unwrap();
        assert!(o.is_unix_socket());
        assert_eq!(o.get_host(), "/var/run/postgresql");
        let o = parse("postgres://u@%2Fvar%2Frun%2Fpostgresql/test").unwrap();
        assert_eq!(o.get_host(), "/var/run/postgresql");
        assert_eq!(o.get_database(), Some("test"));
        let o = parse("postgres://u@[::1]:5433/test").unwrap();
        assert_eq!(o.get_host(), "::1");
        assert_eq!(o.display_target(), "postgres://u@[::1]:5433/test");
    }

    #[test]
    fn password_never_in_debug_or_errors() {
        let o = parse("postgres://u:S3ntinel@h/db?sslmode=disable").unwrap();
        assert!(!format!("{o:?}").contains("S3ntinel"));
        assert!(!o.display_target().contains("S3ntinel"));
        let e = parse("postgres://u:S3ntinel@h/db?bogus=1").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("S3ntinel"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_config_errors() {
        let e = parse("postgres://u@h/db?sslmdoe=disable").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let text = e.to_string();
        for key in ["sslmode", "application_name", "pool_size"] {
            assert!(text.contains(key), "{text}");
        }
        for bad in [
            "postgres://u@h/db?port=x",
            "postgres://u@h/db?connect_timeout=soon",
            "postgres://u@h/db?sslmode=allow",
            "postgres://h/db",
            "mysql://u@h/db",
        ] {
            assert_eq!(parse(bad).unwrap_err().kind(), ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn require_without_tls_feature_is_config_error() {
        let r = parse("postgres://u@h/db?sslmode=require");
        if cfg!(feature = "tls") {
            assert_eq!(r.unwrap().get_ssl_mode(), SslMode::Require);
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains("`tls` Cargo feature"), "{e}");
        }
        let e = parse("postgres://u@/db?host=/tmp&sslmode=verify-full").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
