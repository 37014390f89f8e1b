//! One transfer: which accounts, how much, and the ledger id its client chose.

use crate::Rng;

/// A transfer to make, or one the ledger records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Transfer {
    /// The ledger row's id, chosen by the client before the first attempt; unique per run.
    pub id: String,
    /// The payer's account id.
    pub from: i64,
    /// The payee's account id.
    pub to: i64,
    /// Cents moved.
    pub amount: i64,
}

impl Transfer {
    /// A random transfer, under ledger id `id`, between two distinct accounts of
    /// `1..=accounts`, of 1 to `max_amount` cents.
    pub fn random(rng: &mut Rng, accounts: u64, max_amount: u64, id: String) -> Self {
        let (from, to) = rng.account_pair(accounts);
        let amount = 1 + rng.below(max_amount);
        Transfer {
            id,
            from,
            to,
            amount: i64::try_from(amount).unwrap_or(i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Rng, Transfer};

    #[test]
    fn picks_distinct_accounts_and_small_amounts() {
        let mut rng = Rng::new(42, 0);
        for n in 0..1000 {
            let t = Transfer::random(&mut rng, 3, 50, format!("t{n}"));
            assert_ne!(t.from, t.to);
            assert!((1..=3).contains(&t.from) && (1..=3).contains(&t.to));
            assert!((1..=50).contains(&t.amount));
        }
    }
}
