// An object the session lent out cannot outlive the session: commit() ends it, and the
// object goes with it (so nothing stale is changed and silently never written).
use txkit::{Engine, Entity};

#[derive(Entity)]
#[txkit(table = "accounts")]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    balance: i64,
}

async fn pay(engine: &Engine) -> txkit::Result<()> {
    let mut session = engine.session();
    let account = session.get::<Account>(1).await?.expect("account 1");
    session.commit().await?;
    account.balance += 100;
    Ok(())
}

fn main() {
    let _ = pay;
}
