//! Several hosts in one URL, as libpq reads them: `postgres://h1:p1,h2:p2/db` (or
//! `?host=h1,h2&port=p1,p2`), tried in order (or shuffled, `load_balance_hosts=random`) until
//! one is the kind of server `target_session_attrs` asks for. Each connection a pool opens
//! chooses again, so a pool finds a new primary by itself once its old connections break.

use std::future::Future;

use txkit_core::{Connection, Error, ErrorKind, Result};

use crate::options::PgConnectOptions;

/// SQLSTATE `25006` read_only_sql_transaction: a write refused by a read-only transaction or
/// a server in recovery.
pub(crate) const READ_ONLY_SQL_TRANSACTION: &str = "25006";

/// The kind of server a connection must reach (URL option `target_session_attrs`, libpq's
/// spellings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetSessionAttrs {
    /// Any server that accepts the connection (the default).
    #[default]
    Any,
    /// A server whose sessions may write (`transaction_read_only` off).
    ReadWrite,
    /// A server whose sessions are read-only (a standby, or `default_transaction_read_only`).
    ReadOnly,
    /// A server not in recovery: the primary.
    Primary,
    /// A server in recovery: a standby.
    Standby,
    /// A standby when one answers, else any server.
    PreferStandby,
}

impl TargetSessionAttrs {
    /// Parses libpq's spelling.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "any" => Self::Any,
            "read-write" => Self::ReadWrite,
            "read-only" => Self::ReadOnly,
            "primary" => Self::Primary,
            "standby" => Self::Standby,
            "prefer-standby" => Self::PreferStandby,
            _ => {
                return Err(Error::config(format!(
                    "unknown target_session_attrs {text:?}; accepted: any, read-write, \
                     read-only, primary, standby, prefer-standby"
                )));
            }
        })
    }

    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::ReadWrite => "read-write",
            Self::ReadOnly => "read-only",
            Self::Primary => "primary",
            Self::Standby => "standby",
            Self::PreferStandby => "prefer-standby",
        }
    }

    /// Whether a connection made for these attributes must leave the pool when the server
    /// refuses a write as read-only ([`READ_ONLY_SQL_TRANSACTION`]): it now finds itself on
    /// a server that is not the kind asked for (a primary demoted to a standby), and the
    /// pool's next connection chooses its host again.
    pub(crate) fn wants_writes(self) -> bool {
        matches!(self, Self::ReadWrite | Self::Primary)
    }

    /// Whether the server `conn` reached is of this kind.
    async fn accepts<C: Connection>(self, conn: &mut C) -> Result<bool> {
        if self == Self::Any {
            return Ok(true);
        }
        let rows = conn
            .query(
                "SELECT pg_is_in_recovery() AS standby, \
                 current_setting('transaction_read_only') = 'on' AS read_only",
                &[],
            )
            .await?;
        let row = rows.first().ok_or_else(|| {
            Error::new(ErrorKind::Database, "the server kind probe returned no row")
        })?;
        let standby: bool = row.get("standby")?;
        let read_only: bool = row.get("read_only")?;
        Ok(match self {
            Self::ReadWrite => !read_only,
            Self::ReadOnly => read_only,
            Self::Primary => !standby,
            Self::Standby | Self::PreferStandby => standby,
            Self::Any => true,
        })
    }
}

/// In what order the hosts are tried (URL option `load_balance_hosts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadBalanceHosts {
    /// In the order written (the default).
    #[default]
    Disable,
    /// In a random order, chosen anew for each connection.
    Random,
}

impl LoadBalanceHosts {
    /// Parses libpq's spelling: `disable` or `random`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "disable" => Ok(Self::Disable),
            "random" => Ok(Self::Random),
            _ => Err(Error::config(format!(
                "unknown load_balance_hosts {text:?}; accepted: disable, random"
            ))),
        }
    }
}

/// Opens a connection with `open` to the first host of `opts` that answers and is of the
/// kind its `target_session_attrs` asks for; each host within the connect timeout. None: a
/// ConnectionLost error naming every host and what it answered.
pub(crate) async fn connect_to_any<C, F, Fut>(opts: &PgConnectOptions, open: F) -> Result<C>
where
    C: Connection,
    F: Fn(PgConnectOptions) -> Fut,
    Fut: Future<Output = Result<C>>,
{
    let attrs = opts.get_target_session_attrs();
    let hosts = opts.each_host();
    if hosts.len() == 1 && attrs == TargetSessionAttrs::Any {
        return open(opts.clone()).await;
    }
    let mut answers = Vec::new();
    // prefer-standby: the first other server that answered, kept (not reconnected) in
    // case no host is a standby.
    let mut fallback = None;
    for one in &hosts {
        let target = one.display_target();
        let mut conn = match open(one.clone()).await {
            Ok(conn) => conn,
            // The driver's error names the host already.
            Err(e) => {
                answers.push(e.to_string());
                continue;
            }
        };
        match attrs.accepts(&mut conn).await {
            Ok(true) => {
                if let Some(other) = fallback.take() {
                    C::close(other).await;
                }
                return Ok(conn);
            }
            Ok(false) if attrs == TargetSessionAttrs::PreferStandby && fallback.is_none() => {
                fallback = Some(conn);
            }
            Ok(false) => {
                answers.push(format!("{target}: not {}", attrs.as_str()));
                conn.close().await;
            }
            Err(e) => answers.push(format!("{target}: {e}")),
        }
    }
    if let Some(conn) = fallback {
        return Ok(conn);
    }
    Err(Error::connection_lost(format!(
        "no host of {} answered as target_session_attrs={} asks: {}",
        opts.display_target(),
        attrs.as_str(),
        answers.join("; ")
    )))
}

/// Splits `host:port` entries separated by commas (`[v6]:port` too); a missing port is
/// `default_port`.
pub(crate) fn split_hosts(text: &str, default_port: u16) -> Result<Vec<(String, u16)>> {
    text.split(',')
        .map(|entry| {
            let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
                let (host, after) = rest.split_once(']').ok_or_else(|| {
                    Error::config(format!("unclosed [ in the host list entry {entry:?}"))
                })?;
                (host, after.strip_prefix(':'))
            } else {
                match entry.rsplit_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (entry, None),
                }
            };
            if host.is_empty() {
                return Err(Error::config(format!(
                    "an empty host in the host list {text:?}"
                )));
            }
            let port = match port {
                None | Some("") => default_port,
                Some(p) => p.parse().map_err(|_| {
                    Error::config(format!("port {p:?} of host {host:?} is not a port number"))
                })?,
            };
            Ok((host.to_owned(), port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lists_split_with_their_ports() {
        assert_eq!(
            split_hosts("a:1,b,[::1]:3,[::2]", 5432).unwrap(),
            [
                ("a".to_owned(), 1),
                ("b".to_owned(), 5432),
                ("::1".to_owned(), 3),
                ("::2".to_owned(), 5432)
            ]
        );
        assert!(split_hosts("a:x", 5432).is_err());
        assert!(split_hosts("a,,b", 5432).is_err());
        assert!(split_hosts("[::1:5", 5432).is_err());
    }

    #[test]
    fn attrs_and_balancing_parse_libpq_spellings() {
        for attrs in [
            TargetSessionAttrs::Any,
            TargetSessionAttrs::ReadWrite,
            TargetSessionAttrs::ReadOnly,
            TargetSessionAttrs::Primary,
            TargetSessionAttrs::Standby,
            TargetSessionAttrs::PreferStandby,
        ] {
            assert_eq!(TargetSessionAttrs::parse(attrs.as_str()).unwrap(), attrs);
        }
        let e = TargetSessionAttrs::parse("master").unwrap_err();
        assert!(e.to_string().contains("prefer-standby"), "{e}");
        assert_eq!(
            LoadBalanceHosts::parse("random").unwrap(),
            LoadBalanceHosts::Random
        );
        assert!(LoadBalanceHosts::parse("round-robin").is_err());
    }
}
