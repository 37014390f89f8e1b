//! The bank test with faults (issue 9, item 2): the same workload while a session of the
//! test is killed on the server every 2 s. Each transfer ends committed, refused or unknown;
//! unknowns are settled through their ledger ids. Beyond the checks without faults: nothing
//! acknowledged is lost, nothing is applied twice, no session is left in a transaction, and
//! after each kill a transfer commits within 1 s.

use txkit::IsolationLevel::{ReadCommitted, Serializable};

bank_cells!(true;
    postgres_read_committed_for_update: Postgres, "read-committed-for-update", Some(ReadCommitted), IdOrder;
    postgres_serializable: Postgres, "serializable", Some(Serializable), Isolation;
    mysql_read_committed_for_update: MySql, "read-committed-for-update", Some(ReadCommitted), IdOrder;
);
