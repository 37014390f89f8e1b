//! Reliability tests (issue 9): long-running workloads on real servers that check what a
//! user of txkit relies on — money conserved, no acknowledged commit lost, none applied
//! twice — with and without injected faults. Each cell prints one `RELIABILITY …` line
//! with what it measured; `TXKIT_LONG=1` runs the long form.

/// Stamps one `#[tokio::test]` per bank cell:
/// `name: Kind, "label", isolation, locking;` (with `faults` first for the fault cells).
macro_rules! bank_cells {
    ($faults:expr; $($(#[$attr:meta])* $name:ident: $kind:ident, $label:literal, $level:expr, $locking:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            super::bank_run::cell(
                crate::common::Kind::$kind,
                $label,
                $level,
                super::bank_transfer::Locking::$locking,
                $faults,
            )
            .await;
        }
    )*};
}

mod bank_cells;
mod bank_check;
mod bank_fault_cells;
mod bank_faults;
mod bank_run;
mod bank_schema;
mod bank_sessions;
mod bank_transfer;
mod bank_workload;

pub(crate) use crate::common::long;
