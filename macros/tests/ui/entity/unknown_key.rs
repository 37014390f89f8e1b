use txkit::Entity;

#[derive(Entity)]
struct Account {
    #[txkit(primary_key, autoincrement)]
    id: i64,
}

fn main() {}
