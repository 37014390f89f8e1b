use txkit::Entity;

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(skip, unique)]
    cache: Vec<String>,
}

fn main() {}
