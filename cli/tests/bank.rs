//! Runs the built `txkit` binary: every strategy on SQLite (and on PostgreSQL, through
//! PgBouncer and on MariaDB when TXKIT_POSTGRES_URL / TXKIT_PGBOUNCER_URL / TXKIT_MYSQL_URL
//! are set), the JSON report, and the one-line errors of a bad option and an unreachable
//! server.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

const STRATEGIES: [&str; 5] = [
    "pessimistic",
    "pessimistic-unordered",
    "optimistic",
    "serializable",
    "queue",
];

fn txkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_txkit"))
        .args(args)
        .output()
        .unwrap()
}

/// A table prefix no other test (or concurrent test run) uses.
fn prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "txkit_cli_{}_{}_",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The server URL in `var` (`TXKIT_POSTGRES_URL` or `TXKIT_MYSQL_URL`). A build without
/// it marks the test ignored (tests/build.rs, this crate's build script too), so a server
/// test that runs without the URL is a failure, never a silent pass: it lacks that
/// `#[cfg_attr(..)]`, or `--include-ignored` asked for it, or the binary was built with a
/// URL (or `TXKIT_REQUIRE_ALL_BACKENDS=1`) the run does not have.
fn server_url(var: &str) -> String {
    let marked_ignored = match var {
        "TXKIT_POSTGRES_URL" => cfg!(txkit_skip_postgres),
        "TXKIT_PGBOUNCER_URL" => cfg!(txkit_skip_pgbouncer),
        _ => cfg!(txkit_skip_mysql),
    };
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ if marked_ignored => panic!(
            "a server test ran without {var}: it lacks its #[cfg_attr(txkit_skip_.., ignore)], \
             or --include-ignored asked for it"
        ),
        _ => panic!(
            "{var} is not set, but this build needs it (TXKIT_REQUIRE_ALL_BACKENDS=1, or the \
             URL was set when it was built)"
        ),
    }
}

/// Runs a short JSON run and checks it succeeded with every invariant held.
fn run_ok(url: Option<&str>, strategy: &str) -> serde_json::Value {
    let prefix = prefix();
    let mut args = vec![
        "bank",
        "--strategy",
        strategy,
        "--transfers",
        "200",
        "--workers",
        "4",
        "--seed",
        "7",
        "--json",
        "--table-prefix",
        &prefix,
    ];
    if let Some(url) = url {
        args.extend(["--url", url]);
    }
    let out = txkit(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{strategy} on {url:?}: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["strategy"], strategy);
    let committed = report["committed"].as_u64().unwrap();
    assert_eq!(
        report["invariants"]["ledger_rows"].as_u64(),
        Some(committed)
    );
    assert_eq!(
        report["invariants"]["total_before"],
        report["invariants"]["total_after"]
    );
    assert_eq!(report["invariants"]["negative_balances"], 0);
    let finished = report["transfers"].as_u64().unwrap();
    assert_eq!(finished, 200, "{report}");
    report
}

#[test]
fn every_strategy_holds_the_invariants_on_sqlite() {
    for strategy in STRATEGIES {
        run_ok(None, strategy);
    }
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[test]
fn every_strategy_holds_the_invariants_on_postgres() {
    let url = server_url("TXKIT_POSTGRES_URL");
    for strategy in STRATEGIES {
        run_ok(Some(&url), strategy);
    }
}

/// Through PgBouncer in transaction mode, on both drivers, with nothing said about it in
/// the URL: the pooler is found at connect.
#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[test]
fn every_strategy_holds_the_invariants_through_pgbouncer() {
    let url = server_url("TXKIT_PGBOUNCER_URL");
    let wire = format!(
        "{url}{}driver=txkit",
        if url.contains('?') { '&' } else { '?' }
    );
    for url in [&url, &wire] {
        for strategy in STRATEGIES {
            run_ok(Some(url), strategy);
        }
    }
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[test]
fn every_strategy_holds_the_invariants_on_mysql() {
    let url = server_url("TXKIT_MYSQL_URL");
    for strategy in STRATEGIES {
        run_ok(Some(&url), strategy);
    }
}

#[test]
fn text_report_and_duration_run() {
    let out = txkit(&["bank", "--duration", "0.3", "--workers", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all hold"), "{stdout}");
    assert!(stdout.contains("p99"), "{stdout}");
    assert!(stdout.contains("per committed transfer"), "{stdout}");
}

#[test]
fn json_committed_equals_ledger_and_stdout_is_only_json() {
    let report = run_ok(None, "optimistic");
    assert_eq!(report["committed"], report["invariants"]["ledger_rows"]);
    assert!(report["retries_by_cause"].is_object());
    assert!(report["pool"]["checkouts"].as_u64().unwrap() > 0);
    // At least begin, read, two updates, the ledger row and commit per committed transfer.
    let per_commit = report["requests_per_commit"].as_f64().unwrap();
    assert!(per_commit >= 6.0, "{report}");
    assert!(report["requests"].as_u64().unwrap() >= 6 * report["committed"].as_u64().unwrap());
}

#[test]
fn same_seed_same_transfers() {
    // One worker: the same seed gives the same transfers, so the same outcome.
    let run = |seed: &str| {
        let out = txkit(&[
            "bank",
            "--workers",
            "1",
            "--transfers",
            "300",
            "--seed",
            seed,
            "--json",
            "--accounts",
            "3",
            "--initial-balance",
            "40",
        ]);
        assert!(out.status.success());
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (r["committed"].clone(), r["refused"].clone())
    };
    assert_eq!(run("11"), run("11"));
}

fn assert_one_line_error(out: &Output) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_options_give_one_line_errors() {
    for args in [
        &["bank", "--bogus"][..],
        &["bank", "--strategy", "nope"],
        &["bank", "--workers", "0"],
        &["bank", "--accounts", "1"],
        &["bank", "--isolation", "sometimes"],
        &["bank", "--transfers", "5", "--duration", "1"],
        &["bank", "--table-prefix", "x; DROP TABLE y"],
        &["bank", "--strategy", "all"],
        &["bank", "--plot", "x.svg"],
        &["bank", "--sweep", "workers=0"],
        &["bank", "--sweep", "threads=2"],
        &[],
    ] {
        let out = txkit(args);
        assert_one_line_error(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn unreachable_url_gives_a_one_line_error() {
    for url in ["postgres://u@127.0.0.1:1/db", "nosuch://x"] {
        let out = txkit(&["bank", "--url", url]);
        assert_one_line_error(&out);
        assert_eq!(out.status.code(), Some(1));
    }
}

#[test]
fn a_broken_invariant_fails_the_run() {
    let out = txkit(&["bank", "--transfers", "50", "--inject-fault", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("money not conserved"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// Runs the deliberately faulty lost-update strategy (8 workers, 3 accounts) until the
/// invariant check catches it, at most 5 runs: a run can by chance lose no update.
fn lost_updates_are_caught(url: &str) {
    for run in 1..=5 {
        let prefix = prefix();
        let out = txkit(&[
            "bank",
            "--url",
            url,
            "--strategy",
            "lost-update-faulty",
            "--workers",
            "8",
            "--accounts",
            "3",
            "--transfers",
            "200",
            "--json",
            "--table-prefix",
            &prefix,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            eprintln!("run {run} lost no update on {url}: retrying");
            continue;
        }
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("invariant broken"), "{stderr}");
        assert!(
            stderr.contains("money not conserved")
                || stderr.contains("balances differ from what the ledger explains"),
            "{stderr}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], false);
        return;
    }
    panic!("5 runs of lost-update-faulty on {url} lost no update");
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[test]
fn lost_updates_are_caught_on_postgres() {
    let url = server_url("TXKIT_POSTGRES_URL");
    lost_updates_are_caught(&url);
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[test]
fn lost_updates_are_caught_on_mysql() {
    let url = server_url("TXKIT_MYSQL_URL");
    lost_updates_are_caught(&url);
}

#[test]
fn the_faulty_strategy_is_hidden_from_help() {
    let out = txkit(&["bank", "--help"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("optimistic"), "{stdout}");
    assert!(!stdout.contains("faulty"), "{stdout}");
}

#[test]
fn a_sweep_prints_a_table_and_plots_an_svg() {
    let dir = std::env::temp_dir().join(format!("txkit-cli-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("sweep.svg");
    let out = txkit(&[
        "bank",
        "--sweep",
        "workers=1,2",
        "--strategy",
        "all",
        "--transfers",
        "40",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for strategy in STRATEGIES {
        assert_eq!(
            stdout
                .lines()
                .filter(|l| l.starts_with(&format!("{strategy} ")))
                .count(),
            2,
            "{stdout}"
        );
    }
    assert!(!stdout.contains("faulty"), "{stdout}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.trim_start().starts_with("<svg"), "{text}");
    assert!(text.trim_end().ends_with("</svg>"), "{text}");
    assert!(
        text.contains("optimistic"),
        "the legend names the strategies"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_in_json_is_an_array_of_reports() {
    let out = txkit(&[
        "bank",
        "--sweep",
        "workers=1,3",
        "--strategy",
        "optimistic",
        "--transfers",
        "30",
        "--json",
    ]);
    assert!(out.status.success());
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["workers"], 1);
    assert_eq!(reports[1]["workers"], 3);
    assert!(reports.iter().all(|r| r["ok"] == true));
}
