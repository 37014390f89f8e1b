use txkit::Entity;

#[derive(Entity)]
#[txkit(name = "accounts")]
struct Account {
    #[txkit(primary_key)]
    id: i64,
}

fn main() {}
