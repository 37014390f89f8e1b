//! What a PostgreSQL client could gain on the bench's transfer, before txkit is involved:
//! hand-written tokio-postgres (its connection spawned, as its docs do) against the same
//! transfer sent by a minimal client written on `postgres-protocol`'s messages, which
//! reads and writes its socket on the caller's task.
//!
//! Contenders, each with a fresh connection per task every round (as the transfer bench),
//! an untimed warm-up quarter batch, then one timed batch, in rotating order:
//! - `tokio-postgres`: BEGIN, locked read, two UPDATEs, INSERT, COMMIT, each awaited;
//! - `wire one-sync`: the same in two pipelines (BEGIN with the locked read; the rest with
//!   COMMIT), each ended by one Sync, as pgbench's `\startpipeline` sends them;
//! - `wire sync-each`: the same two pipelines with a Sync after every statement, as
//!   tokio-postgres sends pipelined requests;
//! - `wire sequential`: every statement sent and awaited alone;
//! - `tokio-postgres inline` and `tokio-postgres inline pipelined`: tokio-postgres with its
//!   connection future polled on the caller's task instead of spawned, each statement
//!   awaited, or joined into the same two pipelines;
//! - `txkit-wire-pipelined`: txkit's pipelined transfer with `driver=txkit` (an engine of
//!   one connection per task), as the transfer bench's contender of that name.
//!
//! Prints, per cell, each contender's transfers per second and its speed-up over
//! `tokio-postgres` (ratio of median batch times, and in parentheses the median of the
//! rounds' own ratios). Needs the server of `TXKIT_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`, trust authentication); `TXKIT_BENCH_ROUNDS`
//! sets the rounds (default 15). It makes and drops its own tables.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::IsNull;
use postgres_protocol::message::{backend::Message, frontend};
use postgres_protocol::types::int8_to_sql;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Socket, Statement};
use txkit::{Engine, params};

const LOCK: &str = "SELECT id, balance FROM txkit_ceiling_accounts WHERE id IN ($1, $2) \
                    ORDER BY id FOR UPDATE";
const DEBIT: &str = "UPDATE txkit_ceiling_accounts SET balance = balance - $1 WHERE id = $2";
const CREDIT: &str = "UPDATE txkit_ceiling_accounts SET balance = balance + $1 WHERE id = $2";
const RECORD: &str = "INSERT INTO txkit_ceiling_ledger (from_id, to_id, cents) VALUES ($1, $2, $3)";

const NAMES: [&str; 7] = [
    "tokio-postgres",
    "wire one-sync",
    "wire sync-each",
    "wire sequential",
    "tokio-postgres inline",
    "tokio-postgres inline pipelined",
    "txkit-wire-pipelined",
];

/// How the minimal client ends its requests.
#[derive(Clone, Copy, PartialEq)]
enum Syncs {
    /// One Sync per pipeline.
    PerPipeline,
    /// A Sync after every statement, all of a pipeline sent together.
    PerStatement,
    /// A Sync after every statement, each awaited before the next is sent.
    Sequential,
}

/// A connection speaking the protocol directly: requests are written to `out`, sent with
/// `flush`, and answers read from the socket into `inbox`, all on the caller's task.
struct Wire {
    socket: TcpStream,
    inbox: BytesMut,
    out: BytesMut,
    syncs: Syncs,
    /// Syncs sent whose ReadyForQuery has not been read.
    owed: usize,
}

impl Wire {
    async fn connect(host: &str, port: u16, user: &str, db: &str, syncs: Syncs) -> Wire {
        let socket = TcpStream::connect((host, port)).await.expect("connect");
        socket.set_nodelay(true).expect("TCP_NODELAY");
        let mut wire = Wire {
            socket,
            inbox: BytesMut::with_capacity(8192),
            out: BytesMut::with_capacity(8192),
            syncs,
            owed: 1,
        };
        frontend::startup_message([("user", user), ("database", db)], &mut wire.out)
            .expect("startup message");
        wire.finish().await;
        for (name, sql) in [
            ("b", "BEGIN"),
            ("l", LOCK),
            ("d", DEBIT),
            ("c", CREDIT),
            ("r", RECORD),
            ("k", "COMMIT"),
        ] {
            frontend::parse(name, sql, [], &mut wire.out).expect("parse message");
        }
        frontend::sync(&mut wire.out);
        wire.owed = 1;
        wire.finish().await;
        wire
    }

    /// Queues Bind and Execute of the prepared statement `name` with int8 parameters
    /// (and a Sync unless one Sync ends the pipeline); sequential mode also sends it and
    /// reads its answer. Returns the rows read.
    async fn run(&mut self, name: &str, params: &[i64]) -> usize {
        frontend::bind(
            "",
            name,
            [1_i16],
            params.iter().copied(),
            |v, buf| {
                int8_to_sql(v, buf);
                Ok(IsNull::No)
            },
            [1_i16],
            &mut self.out,
        )
        .map_err(|_| "bind")
        .expect("bind message");
        frontend::execute("", 0, &mut self.out).expect("execute message");
        if self.syncs != Syncs::PerPipeline {
            frontend::sync(&mut self.out);
            self.owed += 1;
        }
        if self.syncs == Syncs::Sequential {
            self.finish().await
        } else {
            0
        }
    }

    /// Ends the pipeline: sends what is queued (with its Sync if one is owed) and reads
    /// every answer up to the last ReadyForQuery. Returns the rows read.
    async fn finish(&mut self) -> usize {
        if self.syncs == Syncs::PerPipeline && self.owed == 0 {
            frontend::sync(&mut self.out);
            self.owed = 1;
        }
        if !self.out.is_empty() {
            self.socket.write_all(&self.out).await.expect("write");
            self.out.clear();
        }
        let mut rows = 0;
        while self.owed > 0 {
            match Message::parse(&mut self.inbox).expect("a protocol message") {
                Some(Message::ReadyForQuery(_)) => self.owed -= 1,
                Some(Message::DataRow(_)) => rows += 1,
                Some(Message::ErrorResponse(e)) => {
                    let fields: Vec<String> = e
                        .fields()
                        .map(|f| Ok(String::from_utf8_lossy(f.value_bytes()).into_owned()))
                        .collect()
                        .expect("error fields");
                    panic!("server error: {}", fields.join(" "));
                }
                Some(_) => {}
                None => {
                    let read = self.socket.read_buf(&mut self.inbox).await.expect("read");
                    assert!(read > 0, "the server closed the connection");
                }
            }
        }
        rows
    }

    async fn transfer(&mut self, from: i64, to: i64) {
        let (low, high) = (from.min(to), from.max(to));
        self.run("b", &[]).await;
        let rows = self.run("l", &[low, high]).await + self.finish().await;
        assert_eq!(rows, 2, "both accounts locked");
        self.run("d", &[1, from]).await;
        self.run("c", &[1, to]).await;
        self.run("r", &[from, to, 1]).await;
        self.run("k", &[]).await;
        self.finish().await;
    }
}

/// tokio-postgres's connection future, when polled by its caller.
type Io = Pin<Box<tokio_postgres::Connection<Socket, NoTlsStream>>>;

/// Runs `work` on `client`'s requests, polling the connection `io` whenever it waits.
async fn drive<F: Future>(io: &mut Io, work: F) -> F::Output {
    let mut work = pin!(work);
    poll_fn(move |cx| {
        if let std::task::Poll::Ready(out) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(out);
        }
        assert!(io.as_mut().poll(cx).is_pending(), "the connection ended");
        work.as_mut().poll(cx)
    })
    .await
}

/// Hand-written tokio-postgres; `io` is `Some` when its connection is polled inline.
struct Driver {
    client: Client,
    io: Option<Io>,
    pipelined: bool,
    statements: [Statement; 4],
}

impl Driver {
    async fn connect(url: &str, inline: bool, pipelined: bool) -> Driver {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
        let mut io = if inline {
            Some(Box::pin(connection))
        } else {
            tokio::spawn(connection);
            None
        };
        let mut statements = Vec::new();
        for sql in [LOCK, DEBIT, CREDIT, RECORD] {
            let prepare = client.prepare(sql);
            let stmt = match io.as_mut() {
                Some(io) => drive(io, prepare).await,
                None => prepare.await,
            };
            statements.push(stmt.expect("prepare"));
        }
        let statements = statements.try_into().map_err(|_| "four").expect("four");
        Driver {
            client,
            io,
            pipelined,
            statements,
        }
    }

    async fn on<F: Future>(io: &mut Option<Io>, work: F) -> F::Output {
        match io {
            Some(io) => drive(io, work).await,
            None => work.await,
        }
    }

    async fn transfer(&mut self, from: i64, to: i64) {
        let (low, high) = (from.min(to), from.max(to));
        let c = &self.client;
        let [lock, debit, credit, record] = &self.statements;
        let lock_params: [&(dyn ToSql + Sync); 2] = [&low, &high];
        let debit_params: [&(dyn ToSql + Sync); 2] = [&1_i64, &from];
        let credit_params: [&(dyn ToSql + Sync); 2] = [&1_i64, &to];
        let record_params: [&(dyn ToSql + Sync); 3] = [&from, &to, &1_i64];
        let io = &mut self.io;
        if self.pipelined {
            let (begun, rows) = Self::on(io, async {
                tokio::join!(c.batch_execute("BEGIN"), c.query(lock, &lock_params))
            })
            .await;
            begun.expect("BEGIN");
            assert_eq!(rows.expect("lock").len(), 2, "both accounts locked");
            let (d, cr, r, k) = Self::on(io, async {
                tokio::join!(
                    c.execute(debit, &debit_params),
                    c.execute(credit, &credit_params),
                    c.execute(record, &record_params),
                    c.batch_execute("COMMIT")
                )
            })
            .await;
            d.expect("debit");
            cr.expect("credit");
            r.expect("ledger");
            k.expect("COMMIT");
        } else {
            Self::on(io, c.batch_execute("BEGIN")).await.expect("BEGIN");
            let rows = Self::on(io, c.query(lock, &lock_params)).await;
            assert_eq!(rows.expect("lock").len(), 2, "both accounts locked");
            Self::on(io, c.execute(debit, &debit_params))
                .await
                .expect("debit");
            Self::on(io, c.execute(credit, &credit_params))
                .await
                .expect("credit");
            Self::on(io, c.execute(record, &record_params))
                .await
                .expect("ledger");
            Self::on(io, c.batch_execute("COMMIT"))
                .await
                .expect("COMMIT");
        }
    }
}

/// txkit's pipelined transfer on its own protocol layer (`driver=txkit`), as the transfer
/// bench's `txkit-wire-pipelined` runs it: the locked read carries BEGIN, `commit_with`
/// sends the rest with COMMIT. Measured here so that it meets the minimal client in the
/// same rounds.
async fn txkit_transfer(engine: &Engine, from: i64, to: i64) {
    let (low, high) = (from.min(to), from.max(to));
    let mut session = engine.session();
    let rows = session
        .query_sql(LOCK, &params![low, high])
        .await
        .expect("locked read");
    assert_eq!(rows.len(), 2, "both accounts locked");
    session
        .commit_with(&[
            (DEBIT, &params![1, from]),
            (CREDIT, &params![1, to]),
            (RECORD, &params![from, to, 1]),
        ])
        .await
        .expect("commit_with");
}

enum Worker {
    Txkit(Engine),
    Wire(Wire),
    Driver(Driver),
}

impl Worker {
    async fn make(kind: usize, url: &str, config: &tokio_postgres::Config) -> Worker {
        let wire = |syncs| async move {
            let host = match config.get_hosts().first() {
                Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
                _ => "127.0.0.1".to_owned(),
            };
            let port = config.get_ports().first().copied().unwrap_or(5432);
            let user = config.get_user().unwrap_or("postgres");
            let db = config.get_dbname().unwrap_or(user);
            Worker::Wire(Wire::connect(&host, port, user, db, syncs).await)
        };
        match kind {
            0 => Worker::Driver(Driver::connect(url, false, false).await),
            1 => wire(Syncs::PerPipeline).await,
            2 => wire(Syncs::PerStatement).await,
            3 => wire(Syncs::Sequential).await,
            4 => Worker::Driver(Driver::connect(url, true, false).await),
            5 => Worker::Driver(Driver::connect(url, true, true).await),
            _ => {
                let sep = if url.contains('?') { '&' } else { '?' };
                let engine = Engine::builder(&format!("{url}{sep}driver=txkit"))
                    .pool_size(1)
                    .build()
                    .await
                    .expect("txkit engine");
                Worker::Txkit(engine)
            }
        }
    }

    async fn transfer(&mut self, from: i64, to: i64) {
        match self {
            Worker::Wire(w) => w.transfer(from, to).await,
            Worker::Driver(d) => d.transfer(from, to).await,
            Worker::Txkit(engine) => txkit_transfer(engine, from, to).await,
        }
    }
}

/// Two distinct accounts in `1..=accounts`, from a xorshift state.
fn pair(state: &mut u64, accounts: i64) -> (i64, i64) {
    let n = accounts.unsigned_abs();
    loop {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let a = (*state % n) as i64 + 1;
        let b = ((*state >> 32) % n) as i64 + 1;
        if a != b {
            return (a, b);
        }
    }
}

/// Every worker runs `per_task` transfers on its own task; returns the time and workers.
async fn batch(
    workers: Vec<Worker>,
    per_task: usize,
    accounts: i64,
    seed: u64,
) -> (Duration, Vec<Worker>) {
    let start = Instant::now();
    let tasks: Vec<_> = workers
        .into_iter()
        .zip(0_u64..)
        .map(|(mut worker, i)| {
            tokio::spawn(async move {
                let mut state = seed.wrapping_add(i.wrapping_mul(7919)) | 1;
                for _ in 0..per_task {
                    let (from, to) = pair(&mut state, accounts);
                    worker.transfer(from, to).await;
                }
                worker
            })
        })
        .collect();
    let mut workers = Vec::new();
    for task in tasks {
        workers.push(task.await.expect("worker task"));
    }
    (start.elapsed(), workers)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn setup(client: &Client) {
    client
        .batch_execute(
            "DROP TABLE IF EXISTS txkit_ceiling_accounts, txkit_ceiling_ledger;
             CREATE TABLE txkit_ceiling_accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
             INSERT INTO txkit_ceiling_accounts SELECT g, 1000000 FROM generate_series(1, 1000000) g;
             CREATE TABLE txkit_ceiling_ledger (id bigserial PRIMARY KEY, from_id bigint,
                 to_id bigint, cents bigint)",
        )
        .await
        .expect("create the tables");
    client
        .batch_execute("VACUUM ANALYZE txkit_ceiling_accounts")
        .await
        .expect("vacuum");
}

fn main() {
    let url = std::env::var("TXKIT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let rounds: usize = std::env::var("TXKIT_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        setup(&client).await;
        for (tasks, accounts, per_task) in [(1, 1_000_000, 200), (8, 1_000_000, 50), (16, 10, 40)] {
            let mut times: [Vec<f64>; NAMES.len()] = Default::default();
            let mut ratios: [Vec<f64>; NAMES.len()] = Default::default();
            for round in 0..rounds {
                let mut took = [0.0; NAMES.len()];
                for kind in (0..NAMES.len()).map(|k| (k + round) % NAMES.len()) {
                    let mut workers = Vec::new();
                    for _ in 0..tasks {
                        workers.push(Worker::make(kind, &url, &config).await);
                    }
                    let seed = round as u64 * 131 + 17;
                    let (_, workers) = batch(workers, per_task / 4, accounts, seed + 1).await;
                    took[kind] = batch(workers, per_task, accounts, seed)
                        .await
                        .0
                        .as_secs_f64();
                }
                for kind in 0..NAMES.len() {
                    times[kind].push(took[kind]);
                    ratios[kind].push(took[0] / took[kind]);
                }
            }
            let total = (tasks * per_task) as f64;
            let base = median(times[0].clone());
            println!("{tasks} tasks, {accounts} accounts, {rounds} rounds");
            for kind in 0..NAMES.len() {
                let own = median(times[kind].clone());
                println!(
                    "  {:<32} {:>6.0}/s  {:.2}× ({:.2})",
                    NAMES[kind],
                    total / own,
                    base / own,
                    median(ratios[kind].clone())
                );
            }
        }
        client
            .batch_execute("DROP TABLE txkit_ceiling_accounts, txkit_ceiling_ledger")
            .await
            .expect("drop the tables");
    });
}
