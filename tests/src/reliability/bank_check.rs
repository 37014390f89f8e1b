//! The bank's verdict, after Jepsen's bank test: from the final balances, the ledger and
//! what the workers were told, count what went wrong — lost commits, transfers applied
//! twice, ledger rows nobody was told about — settle each unknown outcome by its ledger id
//! (present ⇒ committed), then run the bank workload's invariants check (every account
//! there, money conserved, nothing negative, one ledger row per commit, every balance
//! explained by the ledger).

use std::collections::{HashMap, HashSet};

use txkit_bank::{Invariants, Transfer};

use super::bank_schema::{ACCOUNTS, Bank, INITIAL};
use super::bank_workload::Record;

/// What the final state says about the run.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// Acknowledged commits whose ledger row is missing or differs.
    pub(crate) lost: usize,
    /// Ledger ids present more than once (a transfer applied twice).
    pub(crate) duplicated: usize,
    /// Ledger rows of transfers that were refused, given up, or never attempted.
    pub(crate) phantom: usize,
    /// Unknown outcomes found committed / not committed.
    pub(crate) unknown_committed: usize,
    pub(crate) unknown_absent: usize,
    /// The balances and the ledger against the commits (acknowledged, and unknown outcomes
    /// found committed).
    pub(crate) invariants: Invariants,
    /// The first few problems, described.
    pub(crate) details: Vec<String>,
}

impl Verdict {
    /// Whether the run kept every promise.
    pub(crate) fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.phantom == 0 && self.invariants.ok()
    }
}

/// The first few problems, described.
#[derive(Debug, Default)]
struct Details(Vec<String>);

impl Details {
    fn note(&mut self, detail: String) {
        if self.0.len() < 10 {
            self.0.push(detail);
        }
    }
}

/// Reads the final state of `bank` and judges `record` against it.
pub(crate) async fn verify(bank: &Bank, record: &Record) -> Verdict {
    let ledger = bank.ledger_rows().await;
    let balances = bank.balances().await;
    let mut details = Details::default();
    let (mut lost, mut duplicated, mut phantom) = (0, 0, 0);
    let (mut unknown_committed, mut unknown_absent) = (0, 0);

    let mut by_id: HashMap<&str, Vec<&Transfer>> = HashMap::new();
    for row in &ledger {
        by_id.entry(row.id.as_str()).or_default().push(row);
    }
    for (id, rows) in &by_id {
        if rows.len() > 1 {
            duplicated += 1;
            details.note(format!("ledger id {id} appears {} times", rows.len()));
        }
    }
    let mut known: HashSet<&str> = HashSet::new();
    for t in &record.committed {
        known.insert(t.id.as_str());
        match by_id.get(t.id.as_str()).and_then(|rows| rows.first()) {
            Some(row) if *row == t => {}
            Some(row) => {
                lost += 1;
                details.note(format!("transfer {t:?} committed, ledger holds {row:?}"));
            }
            None => {
                lost += 1;
                details.note(format!(
                    "transfer {t:?} was acknowledged but has no ledger row"
                ));
            }
        }
    }
    for t in &record.unknown {
        known.insert(t.id.as_str());
        if by_id.contains_key(t.id.as_str()) {
            unknown_committed += 1;
        } else {
            unknown_absent += 1;
        }
    }
    for id in by_id.keys() {
        if !known.contains(id) {
            phantom += 1;
            let why = if record.refused.iter().any(|r| r == id) {
                "refused"
            } else if record.gave_up.iter().any(|r| r == id) {
                "given up"
            } else {
                "never reported"
            };
            details.note(format!("ledger holds {id}, which the client saw {why}"));
        }
    }

    let committed = (record.committed.len() + unknown_committed) as u64;
    let invariants = Invariants::of(ACCOUNTS, INITIAL, committed, &balances, &ledger);
    for violation in &invariants.violations {
        details.note(violation.clone());
    }
    if !invariants.ok() {
        details.note(format!("balances by account: {balances:?}"));
    }
    Verdict {
        lost,
        duplicated,
        phantom,
        unknown_committed,
        unknown_absent,
        invariants,
        details: details.0,
    }
}
