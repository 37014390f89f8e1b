//! PostgreSQL backend of txkit (in progress).
