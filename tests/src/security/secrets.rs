//! A sentinel password given in the URL — in the userinfo, percent-encoded, and as
//! `?password=` — must never appear in the Debug or Display of `DatabaseUrl`, `EngineBuilder`
//! or `Engine`, in pool events, in errors (a closed port, a wrong database, a bad option, a
//! refused login), in the message of a panic from `.expect()` on such an error (caught with
//! `catch_unwind`), or in TRACE-level `tracing` output captured during connect, query and
//! failure. For sqlite://, postgres://, mysql:// and the sea-orm+… forms of each. A text
//! leaks if it contains "ntinel", which every encoding of the sentinel keeps.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use txkit::Engine;
use txkit::core::DatabaseUrl;

use crate::common::{Kind, TestDb};

const SECRET: &str = "S3ntinel-pa55";
const SECRET_ENCODED: &str = "%53%33ntinel%2Dpa55";
const MARK: &str = "ntinel";

/// `url` with `password` in its userinfo (the user kept, or `u` when there is none).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("u");
            format!("{scheme}://{user}:{password}@{host}")
        }
        None => format!("{scheme}://u:{password}@{rest}"),
    }
}

fn with_query(url: &str, pair: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{pair}")
}

/// `url` with its host:port replaced (a port nothing listens on).
fn with_host(url: &str, host: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (userinfo, after) = rest.split_once('@').expect("userinfo");
    let path = &after[after.find('/').unwrap_or(after.len())..];
    format!("{scheme}://{userinfo}@{host}{path}")
}

/// `url` with its database (path) replaced, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (userinfo, after) = rest.split_once('@').expect("userinfo");
    let slash = after.find('/').unwrap_or(after.len());
    let query = after.find('?').map(|q| &after[q..]).unwrap_or("");
    format!(
        "{scheme}://{userinfo}@{}/{database}{query}",
        &after[..slash]
    )
}

/// The URLs that carry the secret for a server `base` (no password in it).
fn server_urls(base: &str) -> Vec<(&'static str, String)> {
    let userinfo = with_password(base, SECRET);
    vec![
        ("userinfo", userinfo.clone()),
        ("userinfo-encoded", with_password(base, SECRET_ENCODED)),
        ("query", with_query(base, &format!("password={SECRET}"))),
        ("closed-port", with_host(&userinfo, "127.0.0.1:1")),
        (
            "wrong-database",
            with_database(&userinfo, "txkit_no_such_db"),
        ),
        ("bad-option", with_query(&userinfo, "txkit_bogus_option=1")),
    ]
}

fn sqlite_urls(scheme: &str, dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let file = dir.join("secret.db");
    let file = file.display();
    vec![
        ("query", format!("{scheme}://{file}?password={SECRET}")),
        (
            "query-encoded",
            format!("{scheme}://{file}?password={SECRET_ENCODED}"),
        ),
        ("userinfo", format!("{scheme}://u:{SECRET}@localhost{file}")),
        (
            "missing-dir",
            format!("{scheme}:///txkit/no/such/dir/a.db?password={SECRET}"),
        ),
        (
            "bad-option",
            format!("{scheme}://{file}?password={SECRET}&txkit_bogus_option=1"),
        ),
    ]
}

/// Every text txkit shows for `url`, from parse to query to failure.
async fn texts_for(url: &str) -> (Vec<String>, bool) {
    let mut texts = Vec::new();
    match DatabaseUrl::parse(url) {
        Ok(u) => texts.push(format!("{u:?} {u}")),
        Err(e) => texts.push(format!("{e:?} {e}")),
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let builder = Engine::builder(url)
        .pool_size(2)
        .connect_timeout(Duration::from_secs(3))
        .pool_timeout(Duration::from_secs(5))
        .on_event(move |e| sink.lock().unwrap().push(format!("{e:?}")));
    texts.push(format!("{builder:?}"));
    let built = tokio::time::timeout(Duration::from_secs(20), builder.build())
        .await
        .expect("build within the bound");
    let mut connected = false;
    let failure = match built {
        Ok(engine) => {
            texts.push(format!("{engine:?}"));
            texts.push(format!("{:?} {}", engine.url(), engine.url()));
            let queried =
                tokio::time::timeout(Duration::from_secs(20), engine.query("SELECT 1", &[]))
                    .await
                    .expect("query within the bound");
            engine.close().await;
            match queried {
                Ok(_) => {
                    connected = true;
                    None
                }
                Err(e) => Some(e),
            }
        }
        Err(e) => Some(e),
    };
    if let Some(e) = failure {
        texts.push(format!("{e:?}"));
        texts.push(e.to_string());
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            texts.push(format!("{s:?} {s}"));
            source = s.source();
        }
        // The panic an application gets from `.expect()` on this error.
        #[allow(clippy::unnecessary_literal_unwrap)]
        let panicked = catch_unwind(AssertUnwindSafe(move || {
            Err::<(), _>(e).expect("connecting to the database");
        }))
        .expect_err("expect() on an error panics");
        let message = panicked
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panicked.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .expect("panic message");
        texts.push(message);
    }
    texts.extend(events.lock().unwrap().iter().cloned());
    (texts, connected)
}

async fn check_urls(label: &str, urls: Vec<(&'static str, String)>) {
    let logs = crate::logs::captured();
    let mut checked = 0;
    let mut connected = 0;
    for (case, url) in &urls {
        let (texts, ok) = texts_for(url).await;
        connected += usize::from(ok);
        for text in &texts {
            checked += 1;
            assert!(
                !text.contains(MARK),
                "{label} {case}: the password leaked into: {text}"
            );
        }
    }
    // Other tests share the process-wide capture; none of them uses the sentinel.
    let log = logs.text();
    assert!(
        !log.contains(MARK),
        "{label}: the password leaked into the TRACE log"
    );
    println!(
        "RELIABILITY security secrets {label} urls={} texts_checked={checked} connected={connected} \
         failed={} log_bytes={} leaks=0",
        urls.len(),
        urls.len() - connected,
        log.len()
    );
}

async fn server(kind: Kind, sea_orm: bool, label: &str) {
    let Some(db) = TestDb::new(kind) else {
        return;
    };
    let base = if sea_orm {
        format!("sea-orm+{}", db.url)
    } else {
        db.url.clone()
    };
    check_urls(label, server_urls(&base)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    server(Kind::Postgres, false, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    server(Kind::MySql, false, "mysql").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sea_orm_postgres() {
    server(Kind::Postgres, true, "sea-orm+postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sea_orm_mysql() {
    server(Kind::MySql, true, "sea-orm+mysql").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_urls("sqlite", sqlite_urls("sqlite", dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sea_orm_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_urls("sea-orm+sqlite", sqlite_urls("sea-orm+sqlite", dir.path())).await;
}
