//! Every contender of a backend, connected directly or through the counting proxy.

use std::path::PathBuf;
use std::sync::Arc;

use crate::proxy::{Proxy, through};
use crate::random_order::RandomOrder;
use crate::schema::Backend;
use crate::shared::Shared;
use crate::workload::{Contender, Sizing};
use crate::{mysql_raw, pg_raw, seaorm_side, sqlite_raw, sqlx_side, txkit_side};

/// Where a backend lives.
#[derive(Clone, Debug)]
pub(crate) enum Server {
    Postgres(String),
    Mysql(String),
    Sqlite(PathBuf),
}

impl Server {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Server::Postgres(_) => Backend::Postgres,
            Server::Mysql(_) => Backend::Mysql,
            Server::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// txkit's URL for this server.
    pub(crate) fn txkit_url(&self) -> String {
        match self {
            Server::Postgres(url) | Server::Mysql(url) => url.clone(),
            Server::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

pub(crate) fn with_option(url: &str, option: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{option}")
}

/// The contenders on `server`, each putting `sizing.tasks` tasks over
/// `sizing.connections` connections (its pool's size; the raw drivers' own connections,
/// shared when fewer than the tasks); through `proxy` when given (round-trip counting).
/// With `TXKIT_BENCH_CONTENDERS` (comma-separated names, e.g. `txkit,tokio-postgres`),
/// only those.
pub(crate) async fn all(
    server: &Server,
    sizing: Sizing,
    proxy: Option<&Proxy>,
) -> Vec<Arc<dyn Contender>> {
    let pool = sizing.connections;
    let raw = |c: Arc<dyn Contender>| {
        if sizing.connections < sizing.tasks {
            Shared::over(c, sizing.connections)
        } else {
            c
        }
    };
    let mut out = every_contender(server, pool, proxy, raw).await;
    let twins: Vec<_> = out.iter().filter_map(RandomOrder::of).collect();
    out.extend(twins);
    if let Ok(wanted) = std::env::var("TXKIT_BENCH_CONTENDERS") {
        out.retain(|c| wanted.split(',').any(|w| w.trim() == c.name()));
    }
    out
}

/// Every contender, the raw drivers' passed through `raw`.
async fn every_contender(
    server: &Server,
    pool: usize,
    proxy: Option<&Proxy>,
    raw: impl Fn(Arc<dyn Contender>) -> Arc<dyn Contender>,
) -> Vec<Arc<dyn Contender>> {
    let backend = server.backend();
    match server {
        Server::Postgres(url) => {
            let url = match proxy {
                Some(p) => through(url, &p.addr).0,
                None => url.clone(),
            };
            let mut out = txkit_side::contenders(&url, backend, pool).await;
            if proxy.is_none() {
                out.extend(txkit_side::through_pgbouncer(&url, pool).await);
            }
            out.push(raw(Arc::new(pg_raw::TokioPostgres::new(&url))));
            out.push(raw(Arc::new(pg_raw::TokioPostgres::pipelined(&url))));
            out.push(Arc::new(sqlx_side::postgres(&url, pool).await));
            out.push(Arc::new(seaorm_side::SeaOrm::connect(&url, pool).await));
            out
        }
        Server::Mysql(url) => {
            let (txkit_url, tcp_url) = match proxy {
                Some(p) => {
                    let tcp = through(url, &p.addr).0;
                    (with_option(&tcp, "prefer_socket=false"), tcp)
                }
                None => (url.clone(), url.clone()),
            };
            let mut out = txkit_side::contenders(&txkit_url, backend, pool).await;
            out.push(raw(Arc::new(mysql_raw::MysqlAsync::new(
                &tcp_url,
                proxy.is_none(),
            ))));
            out.push(Arc::new(sqlx_side::mysql(&tcp_url, pool).await));
            out.push(Arc::new(seaorm_side::SeaOrm::connect(&tcp_url, pool).await));
            out
        }
        Server::Sqlite(path) => {
            let mut out = txkit_side::contenders(&server.txkit_url(), backend, pool).await;
            out.push(raw(Arc::new(sqlite_raw::Rusqlite::new(path.clone()))));
            out.push(Arc::new(sqlx_side::sqlite(path, pool).await));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            out.push(Arc::new(seaorm_side::SeaOrm::connect(&url, pool).await));
            out
        }
    }
}
