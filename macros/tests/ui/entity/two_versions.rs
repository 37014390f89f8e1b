use txkit::Entity;

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(version)]
    version: i64,
    #[txkit(version)]
    revision: i32,
}

fn main() {}
