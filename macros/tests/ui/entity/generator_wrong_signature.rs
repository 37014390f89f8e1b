use txkit::Entity;

fn next_stamp(current: &i64) -> i64 {
    current + 2
}

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(version(generator = next_stamp))]
    stamp: String,
}

fn main() {}
