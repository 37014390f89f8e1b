//! Command-line options.

use clap::{Args, Parser, Subcommand, ValueEnum};
use txkit::IsolationLevel;

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
    /// No locks: a version column; a stale write is retried.
    Optimistic,
    /// SERIALIZABLE isolation; serialization failures are retried.
    Serializable,
    /// Every transfer goes through one queue worker, one at a time.
    Queue,
}

impl StrategyName {
    /// The name as given on the command line.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pessimistic => "pessimistic",
            Self::PessimisticUnordered => "pessimistic-unordered",
            Self::Optimistic => "optimistic",
            Self::Serializable => "serializable",
            Self::Queue => "queue",
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
    /// Concurrency-control strategy.
    #[arg(long, value_enum, default_value_t = StrategyName::Pessimistic)]
    pub(crate) strategy: StrategyName,
    /// Isolation level of the transfers (e.g. read-committed); `serializable` always uses
    /// SERIALIZABLE.
    #[arg(long, value_parser = parse_isolation)]
    pub(crate) isolation: Option<IsolationLevel>,
    /// Attempts per transfer, the first included.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_attempts: u32,
    /// Connections kept in the pool.
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
