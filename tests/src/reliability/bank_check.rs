//! The bank's verdict, after Jepsen's bank test: from the final balances, the ledger and
//! what the workers were told, count what went wrong — lost commits, transfers applied
//! twice, ledger rows nobody was told about, wrong balances — and settle each unknown
//! outcome by its ledger id (present ⇒ committed).

use std::collections::{HashMap, HashSet};

use super::bank_schema::{ACCOUNTS, Bank, INITIAL, LedgerRow, TOTAL};
use super::bank_workload::Record;

/// What the final state says about the run.
#[derive(Debug, Default)]
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
    /// Accounts whose balance is not 1,000 plus the ledger's net for it.
    pub(crate) mismatched: usize,
    pub(crate) negative: usize,
    pub(crate) final_total: i64,
    /// Ledger rows.
    pub(crate) ledger: usize,
    /// The first few problems, described.
    pub(crate) details: Vec<String>,
}

impl Verdict {
    /// Whether the run kept every promise.
    pub(crate) fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.phantom == 0
            && self.mismatched == 0
            && self.negative == 0
            && self.final_total == TOTAL
    }

    fn note(&mut self, detail: String) {
        if self.details.len() < 10 {
            self.details.push(detail);
        }
    }
}

/// Reads the final state of `bank` and judges `record` against it.
pub(crate) async fn verify(bank: &Bank, record: &Record) -> Verdict {
    let ledger = bank.ledger_rows().await;
    let balances = bank.balances().await;
    let mut v = Verdict {
        ledger: ledger.len(),
        ..Verdict::default()
    };

    let mut by_id: HashMap<&str, Vec<&LedgerRow>> = HashMap::new();
    for row in &ledger {
        by_id.entry(row.id.as_str()).or_default().push(row);
    }
    for (id, rows) in &by_id {
        if rows.len() > 1 {
            v.duplicated += 1;
            v.note(format!("ledger id {id} appears {} times", rows.len()));
        }
    }
    let mut known: HashSet<&str> = HashSet::new();
    for t in &record.committed {
        known.insert(t.id.as_str());
        match by_id.get(t.id.as_str()).and_then(|rows| rows.first()) {
            Some(row) if (row.from, row.to, row.amount) == (t.from, t.to, t.amount) => {}
            Some(row) => {
                v.lost += 1;
                v.note(format!("transfer {t:?} committed, ledger holds {row:?}"));
            }
            None => {
                v.lost += 1;
                v.note(format!(
                    "transfer {t:?} was acknowledged but has no ledger row"
                ));
            }
        }
    }
    for t in &record.unknown {
        known.insert(t.id.as_str());
        if by_id.contains_key(t.id.as_str()) {
            v.unknown_committed += 1;
        } else {
            v.unknown_absent += 1;
        }
    }
    for id in by_id.keys() {
        if !known.contains(id) {
            v.phantom += 1;
            let why = if record.refused.iter().any(|r| r == id) {
                "refused"
            } else if record.gave_up.iter().any(|r| r == id) {
                "given up"
            } else {
                "never reported"
            };
            v.note(format!("ledger holds {id}, which the client saw {why}"));
        }
    }

    let mut expected: HashMap<i64, i64> = (1..=ACCOUNTS).map(|id| (id, INITIAL)).collect();
    for row in &ledger {
        *expected.entry(row.from).or_default() -= row.amount;
        *expected.entry(row.to).or_default() += row.amount;
    }
    v.final_total = balances.iter().map(|(_, b)| b).sum();
    for (id, balance) in &balances {
        if *balance < 0 {
            v.negative += 1;
            v.note(format!("account {id} is negative: {balance}"));
        }
        if expected.get(id) != Some(balance) {
            v.mismatched += 1;
            v.note(format!(
                "account {id} holds {balance}, the ledger says {:?}",
                expected.get(id)
            ));
        }
    }
    if balances.len() != ACCOUNTS as usize {
        v.mismatched += 1;
        v.note(format!("{} accounts instead of {ACCOUNTS}", balances.len()));
    }
    v
}
