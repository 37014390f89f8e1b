//! The bank test with faults (issue 9, item 2): the same workload while a session of the
//! test is killed on the server every 2 s. Each transfer ends committed, refused or unknown;
//! unknowns are settled through their ledger ids. Beyond the checks without faults: nothing
//! acknowledged is lost, nothing is applied twice, no session is left in a transaction, and
//! after each kill a transfer commits within 1 s.
//!
//! On MariaDB the reads of all balances take shared row locks (`LOCK IN SHARE MODE`): a
//! snapshot read there can see, for a moment, the writes of a session killed inside its
//! transaction while the server rolls them back — a server behaviour reproduced with
//! mysql_async alone (`cargo run -p txkit-tests --example mariadb_rollback_visibility`;
//! docs/reliability.md). A locking read waits for that rollback to finish.

use txkit::IsolationLevel::{ReadCommitted, Serializable};

bank_cells!(true;
    postgres_read_committed_for_update: Postgres, "read-committed-for-update", Some(ReadCommitted), IdOrder;
    postgres_serializable: Postgres, "serializable", Some(Serializable), Isolation;
    mysql_read_committed_for_update: MySql, "read-committed-for-update", Some(ReadCommitted), IdOrder;
);
