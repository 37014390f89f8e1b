// Each get() lends one object out of the session, borrowing it: two at once would let the
// same row (one object) be lent twice. Load both with get_many() instead.
use txkit::{Engine, Entity};

#[derive(Entity)]
#[txkit(table = "accounts")]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    balance: i64,
}

async fn transfer(engine: &Engine) -> txkit::Result<()> {
    let mut session = engine.session();
    let from = session.get::<Account>(1).await?.expect("account 1");
    let to = session.get::<Account>(2).await?.expect("account 2");
    from.balance -= 100;
    to.balance += 100;
    session.commit().await
}

fn main() {
    let _ = transfer;
}
