//! Every example of the chapter, run on every backend.

use crate::common::TestDb;

/// `examples!(test_name: source_module => "path", …)` includes each example file as
/// `source_module` and stamps `test_name` for every backend, calling its `run(url)`;
/// `#[arm]` first passes `arm:` to [`matrix!`](crate::matrix) (`without_thread` leaves out
/// SQLite's thread-execution cell).
macro_rules! examples {
    ($(#[$($arm:tt)*])? $($name:ident: $source:ident => $path:literal),* $(,)?) => {
        $(
            #[allow(dead_code)] // each example's `main` is not used here
            #[path = $path]
            mod $source;

            async fn $name(db: TestDb) {
                if let Err(e) = $source::run(&db.url).await {
                    panic!("example {} failed on {:?}: {e}", stringify!($name), db.kind);
                }
                db.assert_no_idle_in_transaction().await;
            }
        )*
        crate::matrix!($($($arm)*:)? $($name),*);
    };
}

examples!(
    simple_transactions: simple_transactions_src => "../../examples/simple_transactions.rs",
    manual_control: manual_control_src => "../../examples/manual_control.rs",
    savepoints: savepoints_src => "../../examples/savepoints.rs",
    multiple_savepoints: multiple_savepoints_src => "../../examples/multiple_savepoints.rs",
    isolation_levels: isolation_levels_src => "../../examples/isolation_levels.rs",
    pessimistic_locking: pessimistic_locking_src => "../../examples/pessimistic_locking.rs",
    table_locking: table_locking_src => "../../examples/table_locking.rs",
    pool_status: pool_status_src => "../../examples/pool_status.rs",
    queue_worker: queue_worker_src => "../../examples/queue_worker.rs",
    session_begin: session_begin_src => "../../examples/session_begin.rs",
    optimistic_locking: optimistic_locking_src => "../../examples/optimistic_locking.rs",
    transfer_with_locking: transfer_with_locking_src => "../../examples/transfer_with_locking.rs",
    retry_on_deadlock: retry_on_deadlock_src => "../../examples/retry_on_deadlock.rs",
    bank: bank_src => "../../examples/bank/main.rs",
);

// sea-orm opens SQLite through its own pool, which has no execution modes, and PostgreSQL
// through sqlx's, which prepares named statements.
examples!(
    #[without_thread, not_pooled("not through a pooler: sqlx prepares named statements")]
    sea_orm_versioned: sea_orm_versioned_src => "../../examples/sea_orm_versioned.rs",
);
