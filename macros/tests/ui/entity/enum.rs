use txkit::Entity;

#[derive(Entity)]
enum Account {
    Open { id: i64 },
    Closed { id: i64 },
}

fn main() {}
