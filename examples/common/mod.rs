#![allow(dead_code)] // each example uses only some of these
//! What every example shares: reading the database URL from `--url` or `DATABASE_URL`
//! (embedded SQLite when neither is given), and reporting errors as one line.

use std::future::Future;

/// The error an example's `run` returns.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An engine on `url`, with `table` created afresh as `columns` say (dropped first if an
/// earlier run left it).
pub(crate) async fn engine_with_table(
    url: &str,
    table: &str,
    columns: &str,
) -> Result<txkit::Engine, BoxError> {
    let engine = txkit::Engine::connect(url).await?;
    engine
        .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
        .await?;
    engine
        .execute(&format!("CREATE TABLE {table} ({columns})"), &[])
        .await?;
    Ok(engine)
}

/// The URL from `--url URL`, `--url=URL` or `DATABASE_URL`; else `default`.
pub(crate) fn url_from_args(default: &str) -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = Some(args.next().ok_or("--url needs a value")?),
            s if s.starts_with("--url=") => url = Some(s["--url=".len()..].to_owned()),
            "-h" | "--help" => {
                println!("usage: [--url URL]   (or DATABASE_URL; default {default})");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; usage: [--url URL]")),
        }
    }
    Ok(url.unwrap_or_else(|| default.to_owned()))
}

/// Runs an example's `run(url)` on a tokio runtime and exits non-zero with a one-line
/// message on error.
pub(crate) fn main_with<F, Fut>(default_url: &str, run: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let url = match url_from_args(default_url) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(url)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// A file database in the system's temporary directory, for examples that need more than
/// one connection (a private `:memory:` database has exactly one).
pub(crate) fn temp_sqlite_url(name: &str) -> String {
    let path = std::env::temp_dir().join(format!("txkit-example-{name}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
}
