//! The bank test without faults (issue 9, item 1): 10 accounts of 1,000, concurrent
//! transfers and reads for a fixed time, on every isolation/locking plan that must keep
//! the bank correct, then the checks of `bank_check` (every read sums to 10,000, nothing
//! negative, balances match the ledger, the ledger holds exactly the acknowledged commits).

use txkit::IsolationLevel::{ReadCommitted, RepeatableRead, Serializable};

bank_cells!(false;
    postgres_read_committed_for_update: Postgres, "read-committed-for-update", Some(ReadCommitted), IdOrder;
    postgres_repeatable_read: Postgres, "repeatable-read", Some(RepeatableRead), Isolation;
    postgres_serializable: Postgres, "serializable", Some(Serializable), Isolation;
    postgres_random_lock_order: Postgres, "read-committed-random-lock-order", Some(ReadCommitted), RandomOrder;
    mysql_read_committed_for_update: MySql, "read-committed-for-update", Some(ReadCommitted), IdOrder;
    mysql_repeatable_read_for_update: MySql, "repeatable-read-for-update", Some(RepeatableRead), IdOrder;
    mysql_serializable: MySql, "serializable", Some(Serializable), Isolation;
    mysql_random_lock_order: MySql, "read-committed-random-lock-order", Some(ReadCommitted), RandomOrder;
    sqlite_wal_immediate: Sqlite, "wal-immediate", None, Isolation;
);

/// SQLite again with a thread per connection (`execution=thread`; the cell above runs the
/// default, inline): writers queue at the same write gate from their threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_thread_wal_immediate() {
    super::bank_run::cell_on(
        crate::common::TestDb::new_sqlite_thread(),
        "wal-immediate-thread",
        None,
        super::bank_transfer::Locking::Isolation,
        false,
    )
    .await;
}
