use txkit::Entity;

#[derive(Entity)]
struct Account {
    id: i64,
    balance: i64,
}

fn main() {}
