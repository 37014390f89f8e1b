//! Tests against a live PostgreSQL server: `TXKIT_POSTGRES_URL`, or
//! `postgres://postgres@127.0.0.1:5432/test` when it is unset.

// A test fails by panicking; the library itself keeps unwrap() out.
#![allow(clippy::unwrap_used)]

mod basics;
mod cancel;
mod commit;
mod errors;
mod passwords;
mod private_server;
mod support;
mod tls;
mod wire;
