//! `txkit`: command-line tools for txkit. `txkit bank` is a contention workbench: it runs
//! concurrent bank transfers on any database with a chosen concurrency-control strategy,
//! reports commits, retries by cause, latency and pool statistics, and checks that no money
//! was created or lost.

mod args;
mod invariants;
mod progress;
mod report;
mod rng;
mod strategy;
mod workload;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use txkit::Engine;

use args::{BankArgs, Cli, Command};
use report::{Latency, Pool, Report};

/// Exit code of a bad option.
const EXIT_USAGE: u8 = 2;
/// Exit code of a run that could not be carried out.
const EXIT_ERROR: u8 = 1;
/// Exit code of a run that broke an invariant.
const EXIT_BROKEN: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("error: a subcommand is required, e.g. `txkit bank` (see txkit --help)");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("bad options");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see txkit --help)");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            // --help or --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let outcome = match cli.command {
        Command::Bank(args) => runtime.block_on(bank(args)),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `txkit bank`: the workload, the report and the invariant check.
async fn bank(args: BankArgs) -> Result<ExitCode, String> {
    // Kept until the end of the run: the default database lives in it.
    let mut _tempdir = None;
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("txkit-bank-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
            let url = format!("sqlite://{}", dir.path().join("bank.db").display());
            _tempdir = Some(dir);
            url
        }
    };
    let shown = txkit::core::redact(&url);
    let mut builder = Engine::builder(&url).connect_timeout(Duration::from_secs(10));
    if let Some(n) = args.pool_size {
        builder = builder.pool_size(n as usize);
    }
    if let Some(n) = args.max_overflow {
        builder = builder.max_overflow(n as usize);
    }
    let engine = builder.build().await.map_err(|e| match e.kind() {
        txkit::ErrorKind::Config => e.to_string(),
        _ => format!("cannot connect to {shown}: {e}"),
    })?;
    let seed = args.seed.unwrap_or_else(clock_seed);

    let bank = workload::setup(&engine, &args)
        .await
        .map_err(|e| format!("cannot create the bank's tables: {e}"))?;
    let run = workload::run(bank.clone(), &args, seed).await;
    let mut run = match run {
        Ok(run) => run,
        Err(e) => {
            let _ = workload::teardown(&bank).await;
            return Err(format!("transfer failed: {e}"));
        }
    };
    if args.inject_fault {
        workload::inject_fault(&bank)
            .await
            .map_err(|e| format!("cannot inject the fault: {e}"))?;
    }
    let invariants = invariants::check(&bank, args.accounts, args.initial_balance, run.committed)
        .await
        .map_err(|e| format!("cannot check the invariants: {e}"))?;
    let _ = workload::teardown(&bank).await;
    let stats = engine.stats();
    engine.close().await;

    let (transfers, retries) = report::counts(&run);
    let ok = invariants.ok();
    let report = Report {
        url: engine.url().to_string(),
        backend: engine.backend().to_owned(),
        strategy: args.strategy.as_str().to_owned(),
        isolation: args.isolation.map(|i| i.to_string()),
        workers: args.workers,
        accounts: args.accounts,
        seed,
        elapsed_secs: run.elapsed.as_secs_f64(),
        transfers,
        committed: run.committed,
        refused: run.refused,
        gave_up: std::mem::take(&mut run.gave_up),
        retries,
        retries_by_cause: std::mem::take(&mut run.retries),
        latency_ms: Latency::of(&mut run.latencies_us),
        commits_per_sec: run.committed as f64 / run.elapsed.as_secs_f64().max(1e-9),
        pool: Pool::from_stats(&stats),
        invariants,
        ok,
    };
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| format!("cannot write the report as JSON: {e}"))?;
        println!("{json}");
    } else {
        print!("{}", report.text());
    }
    if ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: invariant broken: {}",
            report.invariants.violations.join("; ")
        );
        Ok(ExitCode::from(EXIT_BROKEN))
    }
}

/// A seed from the clock, for runs without --seed.
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0x5EED, |d| d.as_nanos() as u64)
}
