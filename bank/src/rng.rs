//! A tiny deterministic random number generator (xorshift64*): enough to pick accounts
//! and amounts reproducibly from a seed, one stream per worker.

/// SplitMix64's golden-ratio increment.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
/// xorshift64*'s multiplier, also the state that stands in for zero.
const MULTIPLIER: u64 = 0x2545_F491_4F6C_DD1D;

/// xorshift64* state; never zero.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator of stream `stream` (one per worker) of the run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        // SplitMix64's finaliser of the two, so nearby seeds and streams give unrelated
        // sequences.
        let z = finalise(seed ^ stream.wrapping_add(1).wrapping_mul(GOLDEN));
        Self(if z == 0 { MULTIPLIER } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(MULTIPLIER)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An account id in `1..=accounts`.
    pub fn account(&mut self, accounts: u64) -> i64 {
        one_based(self.below(accounts))
    }

    /// Two distinct account ids of `1..=accounts` (`accounts` ≥ 2), the first uniform,
    /// the second uniform among the others.
    pub fn account_pair(&mut self, accounts: u64) -> (i64, i64) {
        let n = accounts.max(1);
        let from = self.below(n);
        let to = (from + 1 + self.below(n - 1)) % n;
        (one_based(from), one_based(to))
    }
}

/// The id of the account at 0-based position `index`.
fn one_based(index: u64) -> i64 {
    i64::try_from(index + 1).unwrap_or(i64::MAX)
}

/// SplitMix64: spreads any input over all 64 bits (a seed from a clock, a coin per attempt).
pub fn mix(z: u64) -> u64 {
    finalise(z.wrapping_add(GOLDEN))
}

/// SplitMix64's finaliser.
fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for a run not given one: the clock, mixed with the process id.
pub fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // The low 64 bits of the nanoseconds are the ones that change.
    mix(nanos as u64 ^ u64::from(std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence() {
        let a: Vec<u64> = (0..5)
            .scan(Rng::new(7, 1), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(Rng::new(7, 1), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..5)
            .scan(Rng::new(7, 2), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(Rng::new(0, 0).below(10) < 10);
    }

    #[test]
    fn pairs_are_distinct_accounts() {
        let mut rng = Rng::new(42, 0);
        for _ in 0..1000 {
            let (from, to) = rng.account_pair(3);
            assert_ne!(from, to);
            assert!((1..=3).contains(&from) && (1..=3).contains(&to));
        }
    }
}
