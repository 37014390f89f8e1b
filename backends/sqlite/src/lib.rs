//! SQLite backend of txkit (in progress).
