//! Faults on the wire and in the caller (issue 9, items 3–5): a connection cut around its
//! COMMIT, operations cancelled after every number of polls, and a half-open peer. Server
//! restarts run on private server instances in their own test binary (`tests/restart/`).
//!
//! Each test prints one `RELIABILITY …` line per cell. `TXKIT_LONG=1` runs the long form.

mod cancel_sweep;
mod commit_outcome;
mod half_open;
mod proxy;

use crate::common::{Kind, TestDb};

pub(crate) use crate::common::long;

/// The backend's name in `RELIABILITY` lines.
fn backend_name(db: &TestDb) -> String {
    let base = match db.kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
        Kind::MySql => "mysql",
    };
    if db.sea_orm {
        format!("sea-orm-{base}")
    } else {
        base.to_owned()
    }
}

/// `url`'s `host:port`.
fn target_of(url: &str) -> String {
    let start = url
        .find('@')
        .or_else(|| url.find("://").map(|i| i + 2))
        .unwrap()
        + 1;
    let end = start + url[start..].find('/').unwrap();
    url[start..end].to_owned()
}

/// `url` with its `host:port` replaced by `addr`; PostgreSQL URLs also get
/// `sslmode=disable`, so the proxy sees the protocol in clear.
fn through(url: &str, addr: &str) -> String {
    let target = target_of(url);
    let url = url.replacen(&target, addr, 1);
    if url.starts_with("postgres") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}sslmode=disable")
    } else {
        url
    }
}
