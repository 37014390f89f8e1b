//! The SQLSTATE codes txkit classifies, as named constants: re-exported from
//! [`txkit_core::dialects::postgres::sqlstate`]. Every other code is
//! [`ErrorKind::Database`](txkit_core::ErrorKind::Database).
//!
//! [`Error::code`](txkit_core::Error::code) of a server error this crate reports is its
//! SQLSTATE (`"40P01"`).

pub use txkit_core::dialects::postgres::sqlstate::*;
