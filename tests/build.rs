//! Marks the matrix's server cells `#[ignore]`d when their server's URL is unset (and
//! `TXKIT_REQUIRE_ALL_BACKENDS=1` does not ask for every backend), so libtest counts them
//! as ignored, with the variable to set, instead of as passed tests that did nothing.
//! The CLI's server tests (`cli/tests/bank.rs`) use this script too (`build` in
//! cli/Cargo.toml); the published backends carry copies of their own half.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(txkit_skip_postgres)");
    println!("cargo::rustc-check-cfg=cfg(txkit_skip_mysql)");
    println!("cargo::rustc-check-cfg=cfg(txkit_skip_pgbouncer)");
    for var in [
        "TXKIT_POSTGRES_URL",
        "TXKIT_MYSQL_URL",
        "TXKIT_PGBOUNCER_URL",
        "TXKIT_REQUIRE_ALL_BACKENDS",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let require_all = std::env::var("TXKIT_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1");
    let unset = |var: &str| std::env::var(var).map_or(true, |url| url.is_empty());
    if !require_all && unset("TXKIT_POSTGRES_URL") {
        println!("cargo::rustc-cfg=txkit_skip_postgres");
    }
    if !require_all && unset("TXKIT_MYSQL_URL") {
        println!("cargo::rustc-cfg=txkit_skip_mysql");
    }
    // The PgBouncer cells need PostgreSQL too.
    if !require_all && (unset("TXKIT_PGBOUNCER_URL") || unset("TXKIT_POSTGRES_URL")) {
        println!("cargo::rustc-cfg=txkit_skip_pgbouncer");
    }
}
