//! `cargo xtask test [ARGS…]`: runs `cargo test --workspace [ARGS…]`, passing its output
//! through as it comes, and ends with one line that adds up every test binary's result and
//! says how many server tests were skipped for want of a database URL, and which variable
//! runs them. Without it the skipped cells show only as "ignored" in the summaries of the
//! crates that hold them, many screens above the last line.
//!
//! The exit status is cargo's.

mod summary;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};

use summary::Summary;

const USAGE: &str =
    "usage: cargo xtask test [ARGS…]   (cargo test --workspace ARGS…, then a summary)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("test") => test(args.collect()),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("xtask: unknown command {other:?}; {USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs the workspace's tests and prints the summary line last.
fn test(args: Vec<String>) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let child = Command::new(&cargo)
        // Every binary runs even after one fails, so the last line counts every failure.
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(&args)
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("xtask: cannot run {cargo} test: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut summary = Summary::default();
    if let Some(stdout) = child.stdout.take() {
        let mut reader = BufReader::new(stdout);
        let mut out = std::io::stdout().lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    // Passed on as read: a broken pipe (`| head`) must not stop the tests.
                    let _ = out.write_all(&line).and_then(|()| out.flush());
                    summary.read_line(&String::from_utf8_lossy(&line));
                }
                Err(e) => {
                    eprintln!("xtask: reading cargo test's output: {e}");
                    break;
                }
            }
        }
    }
    let status = match child.wait() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("xtask: waiting for cargo test: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", summary.last_line(status.success()));
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}
