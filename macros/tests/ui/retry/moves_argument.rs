//! The body runs once per attempt and sees the arguments by reference: one that moves an
//! argument cannot be re-run, and does not compile.
use txkit::retry_on_deadlock;

fn consume(note: String) -> usize {
    note.len()
}

#[retry_on_deadlock]
async fn record(engine: &txkit::Engine, note: String) -> txkit::Result<usize> {
    let _ = engine;
    Ok(consume(note))
}

fn main() {}
