//! A small xorshift generator for the bank workload: each worker draws its own sequence
//! from the run's seed, so a run is described by its seed (printed in its summary line).

/// xorshift64*: fast, and good enough to pick accounts and amounts.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// The generator of worker `stream` in the run seeded with `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut state = mix(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if state == 0 {
            state = 0x2545_F491_4F6C_DD1D;
        }
        Rng(state)
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// SplitMix64's finaliser: spreads any input over all 64 bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for a new run: `TXKIT_SEED` if set (to replay a run), else the clock.
pub(crate) fn seed() -> u64 {
    if let Some(seed) = std::env::var("TXKIT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seed;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    mix(nanos as u64 ^ u64::from(std::process::id()))
}
