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
