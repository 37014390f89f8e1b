use txkit::Entity;

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    balance: u128,
}

fn main() {}
