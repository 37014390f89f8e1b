//! Hand-written mysql_async: one connection per task (mysql_async caches each statement
//! it prepares on the connection), each step awaited (START TRANSACTION, locked read, two
//! UPDATEs, ledger INSERT, COMMIT; the flush: START TRANSACTION, the read, 100
//! version-checked UPDATEs on one prepared statement, COMMIT). `prefer_socket` stays at mysql_async's default
//! (loopback TCP moves to the Unix socket) except when counting round trips through the
//! TCP proxy.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, TxOpts};

use crate::flush;
use crate::schema::q;
use crate::workload::{BATCH_ROWS, BoxFut, Contender, Op, Worker};

pub(crate) struct MysqlAsync {
    opts: Opts,
}

impl MysqlAsync {
    pub(crate) fn new(url: &str, prefer_socket: bool) -> Self {
        let opts = Opts::from_url(url).expect("mysql_async URL");
        let opts = OptsBuilder::from_opts(opts).prefer_socket(prefer_socket);
        Self { opts: opts.into() }
    }
}

struct MyWorker {
    conn: Conn,
}

impl Contender for MysqlAsync {
    fn name(&self) -> &'static str {
        "mysql_async"
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        Box::pin(async move {
            let conn = Conn::new(self.opts.clone())
                .await
                .expect("mysql_async connect");
            Box::new(MyWorker { conn }) as Box<dyn Worker>
        })
    }
}

/// The transfer locking `from`, then `to`.
async fn transfer_as_asked(conn: &mut Conn, from: i64, to: i64) -> mysql_async::Result<()> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    for id in [from, to] {
        let _: Option<i64> = tx.exec_first(q::LOCK_ONE, (id,)).await?;
    }
    tx.exec_drop(q::DEBIT, (1_i64, from)).await?;
    tx.exec_drop(q::CREDIT, (1_i64, to)).await?;
    tx.exec_drop(q::RECORD, (from, to, 1_i64)).await?;
    tx.commit().await
}

/// The flush unit of work: read the rows, then write each with its version checked.
async fn flush(conn: &mut Conn, first: i64) -> mysql_async::Result<()> {
    let last = first + flush::ROWS - 1;
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let rows: Vec<(i64, i64, i64)> = tx.exec(flush::q::READ, (first, last)).await?;
    assert_eq!(rows.len(), flush::ROWS as usize, "every row read");
    for (id, balance, version) in rows {
        tx.exec_drop(flush::q::UPDATE, (balance + 1, version + 1, id, version))
            .await?;
        assert_eq!(
            tx.affected_rows(),
            1,
            "a version-checked UPDATE missed its row"
        );
    }
    tx.commit().await
}

impl Worker for MyWorker {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        Box::pin(async move {
            match op {
                Op::Transfer { from, to } => {
                    let (low, high) = (from.min(to), from.max(to));
                    let mut tx = self
                        .conn
                        .start_transaction(TxOpts::default())
                        .await
                        .expect("START TRANSACTION");
                    let rows: Vec<(i64, i64)> = tx.exec(q::LOCK, (low, high)).await.expect("lock");
                    assert_eq!(rows.len(), 2, "both accounts locked");
                    tx.exec_drop(q::DEBIT, (1_i64, from)).await.expect("debit");
                    tx.exec_drop(q::CREDIT, (1_i64, to)).await.expect("credit");
                    tx.exec_drop(q::RECORD, (from, to, 1_i64))
                        .await
                        .expect("ledger");
                    tx.commit().await.expect("COMMIT");
                }
                Op::TransferRandomOrder { from, to } => {
                    // A deadlock (1213) rolled the transaction back: run it again.
                    while let Err(e) = transfer_as_asked(&mut self.conn, from, to).await {
                        match e {
                            mysql_async::Error::Server(ref s) if s.code == 1213 => {}
                            e => panic!("mysql_async random-order transfer: {e}"),
                        }
                    }
                }
                Op::PointRead { id } => {
                    let balance: Option<i64> =
                        self.conn.exec_first(q::POINT, (id,)).await.expect("read");
                    std::hint::black_box(balance.expect("the account exists"));
                }
                Op::InsertBatch { tag } => {
                    let mut tx = self
                        .conn
                        .start_transaction(TxOpts::default())
                        .await
                        .expect("START TRANSACTION");
                    for _ in 0..BATCH_ROWS {
                        tx.exec_drop(q::ITEM, (tag,)).await.expect("insert");
                    }
                    tx.commit().await.expect("COMMIT");
                }
                Op::Flush { first } => flush(&mut self.conn, first).await.expect("flush"),
                Op::Select1 => {
                    let one: Option<i64> = self
                        .conn
                        .exec_first(q::SELECT1, ())
                        .await
                        .expect("SELECT 1");
                    assert_eq!(one, Some(1));
                }
            }
        })
    }
}
