//! The bank workload, written once for `txkit bank` (the CLI), `examples/bank`, the test
//! suite and the benches: accounts and a ledger ([`Tables`]), a transfer ([`Transfer`]) and
//! how it ended ([`Outcome`]), the concurrency-control strategies that make one
//! ([`Strategy`]), a seeded generator to draw transfers ([`Rng`]) and the check that no
//! money was created or lost ([`Invariants`]).
//!
//! Money is integer cents in 64-bit columns, never a float.

mod bank;
mod invariants;
mod outcome;
mod rng;
mod strategy;
mod tables;
mod transfer;

pub use bank::{Bank, transaction_options};
pub use invariants::Invariants;
pub use outcome::Outcome;
pub use rng::{Rng, clock_seed, mix};
pub use strategy::Strategy;
pub use tables::{LedgerKey, Tables};
pub use transfer::Transfer;
