use txkit::retry_on_deadlock;

#[retry_on_deadlock(base_delay_ms = 10, max_attempts = 5, base_delay_ms = 20)]
async fn transfer(engine: &txkit::Engine) -> txkit::Result<()> {
    let _ = engine;
    Ok(())
}

fn main() {}
