use txkit::retry_on_deadlock;

#[retry_on_deadlock(also = [lock_timeout, unique_violation])]
async fn transfer(engine: &txkit::Engine) -> txkit::Result<()> {
    let _ = engine;
    Ok(())
}

fn main() {}
