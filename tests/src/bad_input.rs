//! Bad input gets a Config error that says what is accepted, never a panic; a password in
//! a URL never appears in Debug, Display, errors or logs.

use txkit::{Engine, ErrorKind};

use crate::logs;

const SENTINEL: &str = "Sentinel-Pw-7f3a";

async fn config_error(url: &str) -> txkit::Error {
    let err = Engine::connect(url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
    err
}

#[tokio::test]
async fn unknown_scheme_names_accepted_ones() {
    let err = config_error("oracle://scott:tiger@db/orcl").await;
    let text = err.to_string();
    for scheme in ["sqlite", "postgres", "mysql", "mariadb"] {
        assert!(text.contains(scheme), "{text}");
    }
    assert!(!text.contains("tiger"), "{text}");
}

#[tokio::test]
async fn unparsable_urls() {
    for url in [
        "",
        "no scheme here",
        "://nothing",
        "postgres://u:pw@[::1/db",
        "mysql://u@host:notaport/db",
    ] {
        let err = Engine::connect(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url:?}: {err}");
    }
}

#[tokio::test]
async fn missing_sqlite_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/bank.db");
    let err = config_error(&format!("sqlite://{}", missing.display())).await;
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[tokio::test]
async fn bad_engine_options() {
    let err = config_error("sqlite::memory:?pool_size=lots").await;
    assert!(err.to_string().contains("whole number"), "{err}");
    let err = config_error("sqlite::memory:?pool_order=random").await;
    assert!(err.to_string().contains("lifo, fifo"), "{err}");
    let err = config_error("sqlite::memory:?pool_size=3").await;
    assert!(err.to_string().contains("in-memory"), "{err}");
    let err = config_error("sqlite::memory:?no_such_option=1").await;
    assert!(err.to_string().contains("no_such_option"), "{err}");
}

#[tokio::test]
async fn password_never_printed() {
    let captured = logs::captured();

    // Port 1 on loopback refuses connections: every URL fails, and says why.
    let urls = [
        format!("postgres://alice:{SENTINEL}@127.0.0.1:1/db?connect_timeout=2"),
        format!("postgres://alice@127.0.0.1:1/db?password={SENTINEL}&connect_timeout=2"),
        format!("mysql://bob:{SENTINEL}@127.0.0.1:1/db"),
        format!(
            "mariadb://bob:{}@127.0.0.1:1/db",
            SENTINEL.replace('-', "%2D")
        ),
        format!("oracle://scott:{SENTINEL}@db/orcl"),
        format!("postgres://alice:{SENTINEL}@[::1/db"),
    ];
    for url in &urls {
        let builder = Engine::builder(url);
        assert!(
            !format!("{builder:?}").contains("Sentinel"),
            "builder Debug"
        );
        let err = builder.build().await.unwrap_err();
        let shown = format!("{err} | {err:?} | {:?}", std::error::Error::source(&err));
        assert!(!shown.contains("Sentinel"), "{shown}");
        assert!(!shown.contains("7f3a"), "{shown}");
    }
    let logs = captured.text();
    assert!(
        !logs.contains("Sentinel") && !logs.contains("7f3a"),
        "{logs}"
    );
}

/// `url` with its user (and password) replaced by `user`.
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}@{host}")
}

/// `url` with its database replaced by `db` (options kept).
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").expect("a URL with a scheme");
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    match query {
        Some(q) => format!("{scheme}://{host}/{db}?{q}"),
        None => format!("{scheme}://{host}/{db}"),
    }
}

/// A login the server refuses and a database it does not have are the URL's fault: a Config
/// error with what to check, on PostgreSQL and MySQL/MariaDB alike, the cause said once; a
/// server that does not answer is ConnectionLost.
#[tokio::test]
async fn login_and_database_mistakes_are_config_errors() {
    use crate::common::{Kind, TestDb};
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(db) = TestDb::new(kind) else {
            continue;
        };
        let user = with_user(&db.url, "txkit_no_such_user");
        let err = config_error(&user).await;
        assert!(err.to_string().contains("check the user name"), "{err}");
        let err = config_error(&with_database(&db.url, "txkit_no_such_db")).await;
        assert!(err.to_string().contains("check the database name"), "{err}");
        assert!(err.to_string().contains("txkit_no_such_db"), "{err}");

        let refused = with_database(&db.url, "test")
            .replace(&crate::common::host_port(&db.url), "127.0.0.1:1");
        let err = Engine::builder(&refused)
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionLost, "{err}");
        let text = err.to_string();
        assert_eq!(text.matches("refused").count(), 1, "the cause once: {text}");
        assert!(!text.contains("Input/output error"), "{text}");
        assert!(!text.ends_with('\''), "{text}");
    }
}
