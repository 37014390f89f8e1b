//! Security checks of txkit: every run-time name is either one exact identifier or a
//! Config error ([`identifiers`], with names from the fixed-seed [`names`] generator);
//! passwords never leak into Debug, Display, errors, panics, pool events or TRACE logs
//! ([`secrets`]); new SQLite files are private (0600) even under umask 022
//! ([`file_modes`]).

mod file_modes;
mod identifiers;
mod names;
mod secrets;

pub(crate) use crate::common::long;
