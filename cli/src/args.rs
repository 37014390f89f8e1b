//! Command-line options.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use txkit::IsolationLevel;
use txkit_bank::Strategy;

/// txkit's command-line tools.
#[derive(Debug, Parser)]
#[command(name = "txkit", version, about = "txkit database transaction tools")]
pub(crate) struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// A contention workbench: concurrent bank transfers, then an invariant check.
    Bank(BankArgs),
}

/// How transfers protect themselves against concurrent transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StrategyName {
    /// Lock both accounts (SELECT … FOR UPDATE) in id order; IMMEDIATE on SQLite.
    Pessimistic,
    /// Lock the payer, then the payee: opposite transfers deadlock and are retried.
    PessimisticUnordered,
    /// Pessimistic, with the writes and COMMIT sent as one flush (2 round trips on
    /// PostgreSQL).
    Pipelined,
    /// No locks: a version column; a stale write is retried.
    Optimistic,
    /// SERIALIZABLE isolation; serialization failures are retried.
    Serializable,
    /// Every transfer goes through one queue worker, one at a time.
    Queue,
    /// Deliberately wrong, for testing the invariant check: reads both balances without
    /// locks at READ COMMITTED, then writes absolute values, losing concurrent updates.
    #[value(hide = true)]
    LostUpdateFaulty,
}

impl StrategyName {
    /// The name as given on the command line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pessimistic => "pessimistic",
            Self::PessimisticUnordered => "pessimistic-unordered",
            Self::Pipelined => "pipelined",
            Self::Optimistic => "optimistic",
            Self::Serializable => "serializable",
            Self::Queue => "queue",
            Self::LostUpdateFaulty => "lost-update-faulty",
        }
    }

    /// The strategy that makes each transfer (the queue's worker makes them pessimistically).
    pub(crate) fn strategy(self) -> Strategy {
        match self {
            Self::Pessimistic | Self::Queue => Strategy::Pessimistic,
            Self::PessimisticUnordered => Strategy::PessimisticUnordered,
            Self::Pipelined => Strategy::Pipelined,
            Self::Optimistic => Strategy::Optimistic,
            Self::Serializable => Strategy::Serializable,
            Self::LostUpdateFaulty => Strategy::LostUpdateFaulty,
        }
    }
}

/// Options of `txkit bank`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BankArgs {
    /// Database URL (default: a SQLite file in a fresh temporary directory).
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// Number of accounts.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..))]
    pub(crate) accounts: u32,
    /// Initial balance of each account, in cents.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) initial_balance: i64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) workers: u32,
    /// Run for this many seconds (instead of a number of transfers).
    #[arg(long, conflicts_with = "transfers", value_parser = parse_duration)]
    pub(crate) duration: Option<f64>,
    /// Number of transfers to attempt (default 2000).
    #[arg(long)]
    pub(crate) transfers: Option<u64>,
    /// Concurrency-control strategy; `all` (with --sweep only) runs every strategy.
    #[arg(long, default_value = "pessimistic", value_parser = strategy_parser())]
    pub(crate) strategy: StrategyChoice,
    /// Run the workload at each point of a sweep, e.g. `workers=1,2,4,8,16`, with the given
    /// --transfers or --duration per point, and print a table.
    #[arg(long, value_parser = parse_sweep)]
    pub(crate) sweep: Option<Sweep>,
    /// With --sweep, write an SVG chart of throughput and retry rate against workers.
    #[arg(long)]
    pub(crate) plot: Option<std::path::PathBuf>,
    /// Isolation level of the transfers (e.g. read-committed); `serializable` always uses
    /// SERIALIZABLE.
    #[arg(long, value_parser = parse_isolation)]
    pub(crate) isolation: Option<IsolationLevel>,
    /// Attempts per transfer, the first included.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_attempts: u32,
    /// Connections kept in the pool (default: the number of workers).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) pool_size: Option<u32>,
    /// Extra connections opened beyond the pool size under load.
    #[arg(long)]
    pub(crate) max_overflow: Option<u32>,
    /// Seed of the random transfers (default: from the clock).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Prefix of the table names (letters, digits, `_`), so runs can share a database.
    #[arg(long, default_value = "txkit_bank_", value_parser = parse_prefix)]
    pub(crate) table_prefix: String,
    /// Print the report as JSON on stdout, and nothing else.
    #[arg(long)]
    pub(crate) json: bool,
    /// After the run, credit one cent out of nowhere to account 1, to see the invariant
    /// check catch it (for testing the checker).
    #[arg(long, hide = true)]
    pub(crate) inject_fault: bool,
}

/// The --strategy option: one strategy, or all of them (with --sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrategyChoice {
    /// One strategy.
    One(StrategyName),
    /// Every strategy not hidden from --help.
    All,
}

impl StrategyChoice {
    /// The strategies chosen, in --help's order.
    pub(crate) fn strategies(self) -> Vec<StrategyName> {
        match self {
            Self::One(name) => vec![name],
            Self::All => StrategyName::value_variants()
                .iter()
                .copied()
                .filter(|v| v.to_possible_value().is_some_and(|p| !p.is_hide_set()))
                .collect(),
        }
    }
}

/// The strategies' names, with their --help text, and `all`.
fn strategy_parser() -> impl TypedValueParser<Value = StrategyChoice> {
    let mut values: Vec<PossibleValue> = StrategyName::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .collect();
    values.push(
        PossibleValue::new("all").help("Every strategy above, one after another (with --sweep)"),
    );
    PossibleValuesParser::new(values)
        .map(|s| StrategyName::from_str(&s, false).map_or(StrategyChoice::All, StrategyChoice::One))
}

/// What a sweep varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// The worker counts to run at.
    Workers(Vec<u32>),
}

fn parse_sweep(s: &str) -> Result<Sweep, String> {
    let Some(list) = s.strip_prefix("workers=") else {
        return Err(format!(
            "{s:?}: a sweep is `workers=N,N,…`, e.g. workers=1,2,4,8"
        ));
    };
    let counts = list
        .split(',')
        .map(|n| match n.trim().parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => Err(format!("{n:?} is not a worker count from 1 to 10000")),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    Ok(Sweep::Workers(counts))
}

impl BankArgs {
    /// The number of transfers to run, when not running for a duration.
    pub(crate) fn transfer_count(&self) -> u64 {
        self.transfers.unwrap_or(2000)
    }
}

fn parse_duration(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => Ok(secs),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

fn parse_isolation(s: &str) -> Result<IsolationLevel, String> {
    s.parse::<IsolationLevel>().map_err(|e| e.to_string())
}

fn parse_prefix(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 40
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?}: a table prefix is 1 to 40 letters, digits or '_', not starting with a digit"
        ))
    }
}
