use txkit::Entity;

struct Handle(u8);

#[derive(Entity)]
struct Account {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(skip)]
    handle: Handle,
}

fn main() {}
