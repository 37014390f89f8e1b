use txkit::Entity;
use txkit::Value;

// Stand-ins: the derive recognises types by name, and refuses these fields before any
// conversion is looked up, so the optional crates are not needed here.
struct Decimal;
struct Uuid;

#[derive(Entity)]
struct Priced {
    #[txkit(primary_key, precision = 10)]
    id: i64,
    #[txkit(precision = 5, scale = 6)]
    price: Decimal,
    #[txkit(precision = 70)]
    total: Decimal,
    #[txkit(default = "00000000-0000-0000-0000-000000000000")]
    token: Uuid,
    #[txkit(default = -1)]
    count: u32,
    ambiguous: Value,
}

fn main() {}
