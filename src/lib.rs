//! txkit placeholder
pub use txkit_core::*;
