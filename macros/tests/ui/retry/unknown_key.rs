use txkit::retry_on_deadlock;

#[retry_on_deadlock(max_attempts = 5, retries = 3)]
async fn transfer(engine: &txkit::Engine) -> txkit::Result<()> {
    let _ = engine;
    Ok(())
}

fn main() {}
