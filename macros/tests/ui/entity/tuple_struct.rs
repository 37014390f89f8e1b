use txkit::Entity;

#[derive(Entity)]
struct Account(i64, String);

fn main() {}
