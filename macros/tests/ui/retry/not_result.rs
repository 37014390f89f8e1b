use txkit::retry_on_deadlock;

#[retry_on_deadlock]
async fn balance(engine: &txkit::Engine) -> i64 {
    let _ = engine;
    0
}

fn main() {}
