//! Live counters and the progress bar on stderr (hidden with --json or when stderr is not
//! a terminal).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counters shared by the workers.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Transfers committed.
    pub(crate) committed: AtomicU64,
    /// Transfers refused for insufficient funds.
    pub(crate) refused: AtomicU64,
    /// Transfers finished in any way.
    pub(crate) finished: AtomicU64,
    /// Attempts retried.
    pub(crate) retries: AtomicU64,
}

/// The progress bar and the task that refreshes it.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

/// What the bar counts toward.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Goal {
    /// A number of transfers.
    Transfers(u64),
    /// A run time.
    Duration(Duration),
}

impl Progress {
    /// Starts the bar (hidden unless `visible` and stderr is a terminal).
    pub(crate) fn start(counters: Arc<Counters>, goal: Goal, visible: bool) -> Self {
        let (len, template) = match goal {
            Goal::Transfers(n) => (n, "{bar:30} {pos}/{len} transfers {msg}"),
            Goal::Duration(d) => (d.as_secs().max(1), "{bar:30} {pos}/{len} s {msg}"),
        };
        let bar = ProgressBar::new(len);
        if visible && std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        let started = Instant::now();
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let elapsed = started.elapsed();
                let committed = counters.committed.load(Ordering::Relaxed);
                let rate = committed as f64 / elapsed.as_secs_f64().max(1e-3);
                ticking.set_position(match goal {
                    Goal::Transfers(_) => counters.finished.load(Ordering::Relaxed),
                    Goal::Duration(_) => elapsed.as_secs(),
                });
                ticking.set_message(format!(
                    "{committed} committed, {rate:.0} commits/s, {} retries",
                    counters.retries.load(Ordering::Relaxed)
                ));
            }
        });
        Self { bar, ticker }
    }

    /// Stops and clears the bar.
    pub(crate) fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}
