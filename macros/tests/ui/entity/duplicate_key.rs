use txkit::Entity;

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(column = "owner_name")]
    #[txkit(column = "owner")]
    owner: String,
}

fn main() {}
