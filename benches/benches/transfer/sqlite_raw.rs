//! Hand-written rusqlite, as a tokio user writes it: one connection per task (WAL,
//! synchronous NORMAL, busy_timeout 5 s — txkit's SQLite defaults), each unit of work run
//! on a blocking thread (`spawn_blocking`), statements from rusqlite's cache, transfers in
//! an IMMEDIATE transaction (the flush too: it reads, then writes what it read).

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::flush;
use crate::schema::q;
use crate::workload::{BATCH_ROWS, BoxFut, Contender, Op, Worker};

pub(crate) struct Rusqlite {
    path: PathBuf,
}

impl Rusqlite {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

/// Opens `path` with txkit's SQLite defaults.
pub(crate) fn open(path: &PathBuf) -> Connection {
    let conn = Connection::open(path).expect("rusqlite open");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy_timeout");
    conn.pragma_update(None, "journal_mode", "wal")
        .expect("journal_mode");
    conn.pragma_update(None, "synchronous", "normal")
        .expect("synchronous");
    conn
}

struct SqliteWorker {
    conn: Option<Connection>,
}

impl Contender for Rusqlite {
    fn name(&self) -> &'static str {
        "rusqlite"
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        let path = self.path.clone();
        Box::pin(async move {
            let conn = tokio::task::spawn_blocking(move || open(&path))
                .await
                .expect("open task");
            Box::new(SqliteWorker { conn: Some(conn) }) as Box<dyn Worker>
        })
    }
}

/// The flush unit of work: read the rows, then write each with its version checked.
fn flush(conn: &mut Connection, first: i64) -> rusqlite::Result<()> {
    let last = first + flush::ROWS - 1;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let rows = tx
            .prepare_cached(flush::q::READ)?
            .query_map((first, last), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        assert_eq!(rows.len(), flush::ROWS as usize, "every row read");
        let mut update = tx.prepare_cached(flush::q::UPDATE)?;
        for (id, balance, version) in rows {
            let n = update.execute((balance + 1, version + 1, id, version))?;
            assert_eq!(n, 1, "a version-checked UPDATE missed its row");
        }
    }
    tx.commit()
}

fn run_op(conn: &mut Connection, op: Op) -> rusqlite::Result<()> {
    match op {
        Op::Transfer { from, to } => {
            let (low, high) = (from.min(to), from.max(to));
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut lock = tx.prepare_cached(q::LOCK_SQLITE)?;
                let rows = lock
                    .query_map((low, high), |r| r.get::<_, i64>(1))?
                    .collect::<rusqlite::Result<Vec<i64>>>()?;
                assert_eq!(rows.len(), 2, "both accounts read");
                tx.prepare_cached(q::DEBIT)?.execute((1_i64, from))?;
                tx.prepare_cached(q::CREDIT)?.execute((1_i64, to))?;
                tx.prepare_cached(q::RECORD)?.execute((from, to, 1_i64))?;
            }
            tx.commit()
        }
        Op::PointRead { id } => {
            let balance: i64 = conn
                .prepare_cached(q::POINT)?
                .query_row((id,), |r| r.get(0))?;
            std::hint::black_box(balance);
            Ok(())
        }
        Op::InsertBatch { tag } => {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(q::ITEM)?;
                for _ in 0..BATCH_ROWS {
                    insert.execute((tag,))?;
                }
            }
            tx.commit()
        }
        Op::TransferRandomOrder { .. } => {
            unreachable!("SQLite has no random-order cell: it has no row locks to order")
        }
        Op::Flush { first } => flush(conn, first),
        Op::Select1 => {
            let one: i64 = conn
                .prepare_cached(q::SELECT1)?
                .query_row((), |r| r.get(0))?;
            assert_eq!(one, 1);
            Ok(())
        }
    }
}

impl Worker for SqliteWorker {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let mut conn = self.conn.take().expect("the connection is back");
            let conn = tokio::task::spawn_blocking(move || {
                run_op(&mut conn, op).expect("rusqlite");
                conn
            })
            .await
            .expect("blocking task");
            self.conn = Some(conn);
        })
    }
}
