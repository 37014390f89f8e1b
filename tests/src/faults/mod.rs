//! Faults on the wire and in the caller (issue 9, items 3–5): a connection cut around its
//! COMMIT, operations cancelled after every number of polls, and a half-open peer. Server
//! restarts run on private server instances in their own test binary (`tests/restart/`).
//!
//! Each test prints one `RELIABILITY …` line per cell. `TXKIT_LONG=1` runs the long form.

mod cancel_sweep;
mod commit_outcome;
mod half_open;
mod proxy;

use crate::common::{Kind, TestDb, host_port};

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

/// `url` with its `host:port` replaced by `addr`; PostgreSQL URLs also get
/// `sslmode=disable`, so the proxy sees the protocol in clear, and MySQL URLs
/// `prefer_socket=false`, so the driver does not leave the proxy for the server's Unix
/// socket.
fn through(url: &str, addr: &str) -> String {
    let url = url.replacen(&host_port(url), addr, 1);
    let sep = if url.contains('?') { '&' } else { '?' };
    if url.starts_with("postgres") {
        format!("{url}{sep}sslmode=disable")
    } else {
        format!("{url}{sep}prefer_socket=false")
    }
}
