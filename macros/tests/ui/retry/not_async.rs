use txkit::retry_on_deadlock;

#[retry_on_deadlock]
fn transfer(engine: &txkit::Engine) -> txkit::Result<()> {
    let _ = engine;
    Ok(())
}

fn main() {}
