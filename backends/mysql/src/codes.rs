//! MySQL/MariaDB error numbers (`ER_*`, `CR_*`, `TIDB_*`) as named constants, with
//! [`classify`], which maps one onto txkit's
//! [`ErrorKind`](txkit_core::ErrorKind): re-exported from
//! [`txkit_core::dialects::mysql::codes`], whose docs have the table of codes.
//!
//! [`Error::code`](txkit_core::Error::code) of a server error this crate reports is the
//! number as text (`"1213"`).

pub use txkit_core::dialects::mysql::codes::*;
