//! Procedural macros of txkit: `#[derive(Entity)]` and `#[retry_on_deadlock]` arrive in a
//! later release; this crate reserves their home so the facade's re-exports stay stable.

#![forbid(unsafe_code)]
