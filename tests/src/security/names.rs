//! A fixed-seed generator of hostile identifiers: quotes of every dialect, statement
//! separators and comment openers, NUL, non-ASCII letters, emoji and combining marks,
//! leading and trailing spaces, names longer than any server keeps, the empty name, names
//! that look like a reserved prefix or an injected statement. The same seed gives the same
//! list on every run, so a failure names a reproducible index.

/// SplitMix64: small, well-mixed, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces names are made of; each hostile to some dialect or some layer.
const PIECES: &[&str] = &[
    "a",
    "b",
    "Z",
    "id",
    "name",
    "x1",
    "_",
    "'",
    "\"",
    "`",
    "''",
    "\"\"",
    "``",
    ";",
    "--",
    "/*",
    "*/",
    "#",
    "\\",
    "\0",
    " ",
    "  ",
    "\t",
    "\n",
    "é",
    "ß",
    "日本",
    "Ω",
    "😀",
    "👩‍💻",
    "e\u{301}",
    "\u{200B}",
    "\u{202E}",
    "%",
    "?",
    "$1",
    ":x",
    "@",
    ".",
    ",",
    "(",
    ")",
    "=",
    "DROP TABLE sentinel",
    "; DROP TABLE sentinel; --",
    "' OR '1'='1",
    "sqlite_",
    "SELECT",
    "order",
    "ORDER BY",
    "\u{7f}",
    "\u{1}",
];

/// The `i`-th… every name of the list of `n` generated from `seed`. A few fixed cases come
/// first (empty, exactly at and just over each server's length limit, one of each piece).
pub fn generate(seed: u64, n: usize) -> Vec<String> {
    let mut out: Vec<String> = vec![
        String::new(),
        "x".repeat(63),
        "x".repeat(64),
        "x".repeat(65),
        "é".repeat(32),
        "日".repeat(22),
        "y".repeat(200),
        " lead".to_owned(),
        "trail ".to_owned(),
        "sqlite_master".to_owned(),
    ];
    out.extend(PIECES.iter().map(|p| format!("n{p}n")));
    let mut rng = Rng::new(seed);
    while out.len() < n {
        let pieces = 1 + rng.below(12);
        let mut name = String::new();
        for _ in 0..pieces {
            name.push_str(PIECES[rng.below(PIECES.len())]);
        }
        if rng.below(10) == 0 {
            // Some names long enough to cross every limit.
            let times = 1 + rng.below(8);
            name = name.repeat(times * 8);
        }
        out.push(name);
    }
    out.truncate(n);
    out
}
