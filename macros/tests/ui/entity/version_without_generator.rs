use txkit::Entity;

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(version)]
    stamp: String,
}

fn main() {}
