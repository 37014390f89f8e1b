//! MySQL/MariaDB backend of txkit (in progress).
