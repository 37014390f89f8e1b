//! Shows, with mysql_async alone (no txkit), that MariaDB can let a snapshot read see the
//! writes of a session that ends inside its transaction while the server rolls them back.
//!
//! Writers move money between 10 accounts (10,000 in all) with `SELECT … FOR UPDATE` in id
//! order and two `UPDATE`s; readers sum every balance in one `SELECT`, in a transaction of
//! their own. How a writer's transaction ends unfinished is the mode:
//!
//! - `kill`: another session runs `KILL CONNECTION` on a random writer every 50 ms
//!   (`every_ms=`);
//! - `disconnect`: a writer closes its connection after its updates, 2 % of the time;
//! - `rollback`: a writer sends `ROLLBACK` after its updates, 30 % of the time (control).
//!
//! Each read whose total is not 10,000 is printed. Run:
//!
//! ```sh
//! cargo run -p txkit-tests --example mariadb_rollback_visibility -- \
//!     mode=kill read=snapshot seconds=40 url=mysql://root@127.0.0.1:3306/test
//! ```
//!
//! `read=shared` reads with `LOCK IN SHARE MODE` instead, `level=rr` at REPEATABLE READ.
//! On MariaDB 10.11.19 (2-vCPU VM, 16 writers, 8 readers, 40 s) `kill` and `disconnect`
//! each gave 1–2 bad reads in ~400,000 snapshot reads; `rollback` and `read=shared` none.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

const ACCOUNTS: i64 = 10;
const TOTAL: i64 = 10_000;

/// A small deterministic generator (xorshift64*), so runs can be repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[derive(Default)]
struct Counts {
    commits: AtomicU64,
    unfinished: AtomicU64,
    reads: AtomicU64,
    bad_reads: AtomicU64,
    kills: AtomicU64,
}

struct Run {
    opts: Opts,
    mode: String,
    deadline: Instant,
    counts: Counts,
    /// The connection id each writer uses now (0: none yet).
    writer_ids: Vec<AtomicU32>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let arg = |k: &str, default: &str| args.get(k).cloned().unwrap_or_else(|| default.into());
    let url = arg("url", "mysql://root@127.0.0.1:3306/test");
    let url = if url.contains('?') {
        format!("{url}&prefer_socket=false")
    } else {
        format!("{url}?prefer_socket=false")
    };
    let mode = arg("mode", "kill");
    if !["kill", "disconnect", "rollback"].contains(&mode.as_str()) {
        return Err(format!("unknown mode {mode:?}: use kill, disconnect or rollback").into());
    }
    let shared_read = arg("read", "snapshot") == "shared";
    let level = if arg("level", "rc") == "rr" {
        "REPEATABLE READ"
    } else {
        "READ COMMITTED"
    };
    let seconds: u64 = arg("seconds", "40").parse()?;
    let writers: usize = arg("writers", "16").parse()?;
    let readers: usize = arg("readers", "8").parse()?;

    let opts = Opts::from_url(&url)?;
    let mut admin = Conn::new(opts.clone()).await?;
    admin
        .query_drop("DROP TABLE IF EXISTS rollback_visibility")
        .await?;
    admin
        .query_drop(
            "CREATE TABLE rollback_visibility (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) \
             ENGINE=InnoDB",
        )
        .await?;
    for id in 1..=ACCOUNTS {
        admin
            .exec_drop(
                "INSERT INTO rollback_visibility VALUES (?, ?)",
                (id, TOTAL / ACCOUNTS),
            )
            .await?;
    }

    let run = Arc::new(Run {
        opts,
        mode: mode.clone(),
        deadline: Instant::now() + Duration::from_secs(seconds),
        counts: Counts::default(),
        writer_ids: (0..writers).map(|_| AtomicU32::new(0)).collect(),
    });
    let mut tasks = Vec::new();
    for w in 0..writers {
        tasks.push(tokio::spawn(writer(Arc::clone(&run), w, level)));
    }
    for _ in 0..readers {
        let run = Arc::clone(&run);
        tasks.push(tokio::spawn(async move {
            reader(&run, level, shared_read).await
        }));
    }
    if mode == "kill" {
        let every = Duration::from_millis(arg("every_ms", "50").parse()?);
        tasks.push(tokio::spawn(killer(Arc::clone(&run), every)));
    }
    for task in tasks {
        task.await??;
    }

    let balances: Vec<i64> = admin
        .query("SELECT balance FROM rollback_visibility")
        .await?;
    let c = &run.counts;
    println!(
        "mode={mode} read={} level={level:?} commits={} unfinished={} kills={} reads={} \
         bad_reads={} final_total={}",
        if shared_read { "shared" } else { "snapshot" },
        c.commits.load(Relaxed),
        c.unfinished.load(Relaxed),
        c.kills.load(Relaxed),
        c.reads.load(Relaxed),
        c.bad_reads.load(Relaxed),
        balances.iter().sum::<i64>(),
    );
    admin.query_drop("DROP TABLE rollback_visibility").await?;
    Ok(())
}

/// Transfers until the deadline, reconnecting whenever its connection ends.
async fn writer(run: Arc<Run>, w: usize, level: &str) -> mysql_async::Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
    while Instant::now() < run.deadline {
        let mut conn = Conn::new(run.opts.clone()).await?;
        conn.query_drop(format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}"))
            .await?;
        run.writer_ids[w].store(conn.id(), Relaxed);
        while Instant::now() < run.deadline {
            match transfer(&run, &mut conn, &mut rng).await {
                Ok(true) => {}
                Ok(false) => {
                    // COM_QUIT with the transaction open: the server rolls it back.
                    conn.disconnect().await.ok();
                    break;
                }
                // Killed: a new connection.
                Err(_) => break,
            }
        }
    }
    Ok(())
}

/// One transfer; `Ok(false)` when the mode ends the connection inside the transaction.
async fn transfer(run: &Run, conn: &mut Conn, rng: &mut Rng) -> mysql_async::Result<bool> {
    let from = rng.below(ACCOUNTS as u64) as i64 + 1;
    let to = (from + rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS + 1;
    let amount = rng.below(50) as i64 + 1;
    conn.query_drop("START TRANSACTION").await?;
    let mut balances = HashMap::new();
    for id in [from.min(to), from.max(to)] {
        let balance: Option<i64> = conn
            .exec_first(
                "SELECT balance FROM rollback_visibility WHERE id = ? FOR UPDATE",
                (id,),
            )
            .await?;
        balances.insert(id, balance.unwrap_or(0));
    }
    if balances[&from] < amount {
        conn.query_drop("ROLLBACK").await?;
        return Ok(true);
    }
    for (id, balance) in [
        (from, balances[&from] - amount),
        (to, balances[&to] + amount),
    ] {
        conn.exec_drop(
            "UPDATE rollback_visibility SET balance = ? WHERE id = ?",
            (balance, id),
        )
        .await?;
    }
    match run.mode.as_str() {
        "disconnect" if rng.below(100) < 2 => {
            run.counts.unfinished.fetch_add(1, Relaxed);
            return Ok(false);
        }
        "rollback" if rng.below(10) < 3 => {
            run.counts.unfinished.fetch_add(1, Relaxed);
            conn.query_drop("ROLLBACK").await?;
            return Ok(true);
        }
        _ => {}
    }
    conn.query_drop("COMMIT").await?;
    run.counts.commits.fetch_add(1, Relaxed);
    Ok(true)
}

/// Sums every balance in one statement, in a transaction of its own, until the deadline.
async fn reader(run: &Run, level: &str, shared_read: bool) -> mysql_async::Result<()> {
    let mut conn = Conn::new(run.opts.clone()).await?;
    conn.query_drop(format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}"))
        .await?;
    let sql = if shared_read {
        "SELECT balance FROM rollback_visibility ORDER BY id LOCK IN SHARE MODE"
    } else {
        "SELECT balance FROM rollback_visibility ORDER BY id"
    };
    while Instant::now() < run.deadline {
        conn.query_drop("START TRANSACTION").await?;
        let balances: Vec<i64> = conn.exec(sql, ()).await?;
        conn.query_drop("COMMIT").await?;
        run.counts.reads.fetch_add(1, Relaxed);
        let total: i64 = balances.iter().sum();
        if total != TOTAL {
            run.counts.bad_reads.fetch_add(1, Relaxed);
            println!("a read saw a total of {total}: {balances:?}");
        }
    }
    Ok(())
}

/// Kills a random writer's connection every `every`.
async fn killer(run: Arc<Run>, every: Duration) -> mysql_async::Result<()> {
    let mut conn = Conn::new(run.opts.clone()).await?;
    let mut rng = Rng(42);
    let mut tick = tokio::time::interval(every);
    while Instant::now() < run.deadline {
        tick.tick().await;
        let victim = run.writer_ids[rng.below(run.writer_ids.len() as u64) as usize].load(Relaxed);
        if victim != 0
            && conn
                .query_drop(format!("KILL CONNECTION {victim}"))
                .await
                .is_ok()
        {
            run.counts.kills.fetch_add(1, Relaxed);
        }
    }
    Ok(())
}
