//! `txkit`: command-line tools for txkit. `txkit bank` is a contention workbench: it runs
//! concurrent bank transfers on any database with a chosen concurrency-control strategy,
//! reports commits, retries by cause, latency and pool statistics, and checks that no money
//! was created or lost. With `--sweep workers=…` it runs each strategy at each worker count
//! and prints a table (and with `--plot` an SVG chart).

mod args;
mod progress;
mod report;
mod runner;
mod sweep;
mod workload;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use txkit::Engine;
use txkit_bank::Invariants;

use args::{BankArgs, Cli, Command, StrategyChoice, StrategyName, Sweep};
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

/// Runs `txkit bank`: the workload, the report and the invariant check (once, or at each
/// point of a sweep).
async fn bank(args: BankArgs) -> Result<ExitCode, String> {
    if args.strategy == StrategyChoice::All && args.sweep.is_none() {
        eprintln!("error: --strategy all needs --sweep (see txkit --help)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if args.plot.is_some() && args.sweep.is_none() {
        eprintln!("error: --plot needs --sweep (see txkit --help)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
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
    // By default one pooled connection per worker: with fewer, the overflow connections are
    // closed on return (SQLAlchemy's rule), and a run would mostly measure reconnecting.
    let most_workers = match &args.sweep {
        Some(Sweep::Workers(counts)) => counts.iter().copied().max().unwrap_or(args.workers),
        None => args.workers,
    };
    builder = builder.pool_size(args.pool_size.unwrap_or(most_workers) as usize);
    if let Some(n) = args.max_overflow {
        builder = builder.max_overflow(n as usize);
    }
    let engine = builder.build().await.map_err(|e| match e.kind() {
        txkit::ErrorKind::Config => e.to_string(),
        _ => format!("cannot connect to {shown}: {e}"),
    })?;
    let seed = args.seed.unwrap_or_else(txkit_bank::clock_seed);
    let outcome = match (&args.sweep, args.strategy) {
        (Some(Sweep::Workers(counts)), choice) => {
            run_sweep(&engine, &args, &choice.strategies(), counts, seed).await
        }
        (None, StrategyChoice::One(name)) => run_once(&engine, &args, name, seed).await,
        (None, StrategyChoice::All) => Err("--strategy all needs --sweep".to_owned()),
    };
    engine.close().await;
    outcome
}

/// One run, its report on stdout and the verdict.
async fn run_once(
    engine: &Engine,
    args: &BankArgs,
    name: StrategyName,
    seed: u64,
) -> Result<ExitCode, String> {
    let report = measure(engine, args, name, args.workers, seed).await?;
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| format!("cannot write the report as JSON: {e}"))?;
        println!("{json}");
    } else {
        print!("{}", report.text());
    }
    if report.ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: invariant broken: {}",
            report.invariants.violations.join("; ")
        );
        Ok(ExitCode::from(EXIT_BROKEN))
    }
}

/// Every strategy at every worker count: a table (or a JSON array of the reports) on
/// stdout, the chart with --plot, and the verdict.
async fn run_sweep(
    engine: &Engine,
    args: &BankArgs,
    strategies: &[StrategyName],
    workers: &[u32],
    seed: u64,
) -> Result<ExitCode, String> {
    let mut reports = Vec::new();
    for &name in strategies {
        for &w in workers {
            let report = measure(engine, args, name, w, seed)
                .await
                .map_err(|e| format!("{} with {w} workers: {e}", name.as_str()))?;
            reports.push(report);
        }
    }
    if args.json {
        let json = serde_json::to_string_pretty(&reports)
            .map_err(|e| format!("cannot write the reports as JSON: {e}"))?;
        println!("{json}");
    } else {
        print!("{}", sweep::table(&reports));
    }
    if let Some(path) = &args.plot {
        sweep::plot(&reports, path)
            .map_err(|e| format!("cannot write the chart to {}: {e}", path.display()))?;
    }
    let broken: Vec<String> = reports
        .iter()
        .filter(|r| !r.ok)
        .map(|r| {
            format!(
                "{} with {} workers: {}",
                r.strategy,
                r.workers,
                r.invariants.violations.join(", ")
            )
        })
        .collect();
    if broken.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: invariant broken: {}", broken.join("; "));
        Ok(ExitCode::from(EXIT_BROKEN))
    }
}

/// Sets up the bank, runs `name` with `workers` workers, checks the invariants, drops the
/// tables and reports.
async fn measure(
    engine: &Engine,
    args: &BankArgs,
    name: StrategyName,
    workers: u32,
    seed: u64,
) -> Result<Report, String> {
    let bank = workload::setup(engine, args)
        .await
        .map_err(|e| format!("cannot create the bank's tables: {e}"))?;
    let requests_before = engine.stats().requests;
    let run = workload::run(bank.clone(), args, name, workers, seed).await;
    // Every worker's connection is back in the pool, so its requests are counted.
    let requests = engine.stats().requests.saturating_sub(requests_before);
    let mut run = match run {
        Ok(run) => run,
        Err(e) => {
            let _ = bank.tables.drop(engine).await;
            return Err(format!("transfer failed: {e}"));
        }
    };
    if args.inject_fault {
        workload::inject_fault(&bank)
            .await
            .map_err(|e| format!("cannot inject the fault: {e}"))?;
    }
    let invariants = Invariants::check(
        engine,
        &bank.tables,
        args.accounts,
        args.initial_balance,
        run.committed,
    )
    .await
    .map_err(|e| format!("cannot check the invariants: {e}"))?;
    let _ = bank.tables.drop(engine).await;
    let stats = engine.stats();

    let (transfers, retries) = report::counts(&run);
    let ok = invariants.ok();
    Ok(Report {
        url: engine.url().to_string(),
        backend: engine.backend().to_owned(),
        strategy: name.as_str().to_owned(),
        isolation: args.isolation.map(|i| i.to_string()),
        workers,
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
        requests,
        requests_per_commit: (run.committed > 0).then(|| requests as f64 / run.committed as f64),
        pool: Pool::from_stats(&stats),
        invariants,
        ok,
    })
}
