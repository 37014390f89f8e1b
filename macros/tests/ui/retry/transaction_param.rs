use txkit::{Transaction, retry_on_deadlock};

#[retry_on_deadlock(max_attempts = 5)]
async fn debit(tx: &mut Transaction<'_>, account: i64) -> txkit::Result<u64> {
    tx.execute("UPDATE accounts SET balance = balance - 1 WHERE id = ?", &txkit::params![account])
        .await
}

fn main() {}
