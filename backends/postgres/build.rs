//! Marks the crate's own server tests (`tests/server`) `#[ignore]`d when
//! `TXKIT_POSTGRES_URL` is unset (and `TXKIT_REQUIRE_ALL_BACKENDS=1` does not ask for every
//! backend), so libtest counts them as ignored, with the variable to set, instead of as
//! passed tests that did nothing. The same cfg as the matrix's `tests/build.rs`, which this
//! published crate cannot reach outside its own directory.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(txkit_skip_postgres)");
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["TXKIT_POSTGRES_URL", "TXKIT_REQUIRE_ALL_BACKENDS"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let require_all = std::env::var("TXKIT_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1");
    let unset = std::env::var("TXKIT_POSTGRES_URL").map_or(true, |url| url.is_empty());
    if !require_all && unset {
        println!("cargo::rustc-cfg=txkit_skip_postgres");
    }
}
