//! Hand-written tokio-postgres, as a careful user writes it: one connection per task,
//! every statement prepared once on it, each step awaited (BEGIN, locked read, two
//! UPDATEs, ledger INSERT, COMMIT: 6 round trips; the flush: BEGIN, the read, 100
//! version-checked UPDATEs, COMMIT). `tokio-postgres-pipelined` runs only the flush, its
//! 100 UPDATEs sent together (`try_join_all` on one connection: tokio-postgres writes
//! every request before reading the answers), as a user who knows pipelining writes it.

use futures_util::future::try_join_all;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use crate::flush;
use crate::schema::{q, q_pg};
use crate::workload::{BATCH_ROWS, BoxFut, Contender, Op, Work, Worker};

pub(crate) struct TokioPostgres {
    url: String,
    /// The flush's UPDATEs sent together rather than each awaited.
    pipelined: bool,
}

impl TokioPostgres {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            pipelined: false,
        }
    }

    /// `tokio-postgres-pipelined`: the flush only, its UPDATEs pipelined.
    pub(crate) fn pipelined(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            pipelined: true,
        }
    }
}

struct Prepared {
    lock: Statement,
    lock_one: Statement,
    debit: Statement,
    credit: Statement,
    record: Statement,
    point: Statement,
    item: Statement,
    select1: Statement,
    flush_read: Statement,
    flush_update: Statement,
}

struct PgWorker {
    client: Client,
    st: Prepared,
    pipelined: bool,
}

impl Contender for TokioPostgres {
    fn name(&self) -> &'static str {
        if self.pipelined {
            "tokio-postgres-pipelined"
        } else {
            "tokio-postgres"
        }
    }

    fn runs(&self, work: Work) -> bool {
        !self.pipelined || work == Work::Flush
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        Box::pin(async move {
            let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
                .await
                .expect("tokio-postgres connect");
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("tokio-postgres connection: {e}");
                }
            });
            let st = Prepared {
                lock: client.prepare(q_pg::LOCK).await.expect("prepare"),
                lock_one: client.prepare(q_pg::LOCK_ONE).await.expect("prepare"),
                debit: client.prepare(q_pg::DEBIT).await.expect("prepare"),
                credit: client.prepare(q_pg::CREDIT).await.expect("prepare"),
                record: client.prepare(q_pg::RECORD).await.expect("prepare"),
                point: client.prepare(q_pg::POINT).await.expect("prepare"),
                item: client.prepare(q_pg::ITEM).await.expect("prepare"),
                select1: client.prepare(q::SELECT1).await.expect("prepare"),
                flush_read: client.prepare(flush::q_pg::READ).await.expect("prepare"),
                flush_update: client.prepare(flush::q_pg::UPDATE).await.expect("prepare"),
            };
            let pipelined = self.pipelined;
            Box::new(PgWorker {
                client,
                st,
                pipelined,
            }) as Box<dyn Worker>
        })
    }
}

impl PgWorker {
    /// The transfer locking `from`, then `to`.
    async fn transfer_as_asked(&mut self, from: i64, to: i64) -> Result<(), tokio_postgres::Error> {
        let st = &self.st;
        let tx = self.client.transaction().await?;
        for id in [from, to] {
            tx.query_one(&st.lock_one, &[&id]).await?;
        }
        tx.execute(&st.debit, &[&1_i64, &from]).await?;
        tx.execute(&st.credit, &[&1_i64, &to]).await?;
        tx.execute(&st.record, &[&from, &to, &1_i64]).await?;
        tx.commit().await
    }

    /// The flush unit of work: read the rows, then write each with its version checked.
    async fn flush(&mut self, first: i64) -> Result<(), tokio_postgres::Error> {
        let st = &self.st;
        let last = first + flush::ROWS - 1;
        let tx = self.client.transaction().await?;
        let rows = tx.query(&st.flush_read, &[&first, &last]).await?;
        assert_eq!(rows.len(), flush::ROWS as usize, "every row read");
        // (new balance, new version, id, version read) for each row.
        let writes: Vec<[i64; 4]> = rows
            .iter()
            .map(|r| {
                let (id, balance, version): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
                [balance + 1, version + 1, id, version]
            })
            .collect();
        if self.pipelined {
            let runs = writes.iter().map(|w| tx.execute_raw(&st.flush_update, *w));
            for n in try_join_all(runs).await? {
                assert_eq!(n, 1, "a version-checked UPDATE missed its row");
            }
        } else {
            for w in &writes {
                let n = tx
                    .execute(&st.flush_update, &[&w[0], &w[1], &w[2], &w[3]])
                    .await?;
                assert_eq!(n, 1, "a version-checked UPDATE missed its row");
            }
        }
        tx.commit().await
    }
}

impl Worker for PgWorker {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let st = &self.st;
            match op {
                Op::Transfer { from, to } => {
                    let (low, high) = (from.min(to), from.max(to));
                    let tx = self.client.transaction().await.expect("BEGIN");
                    let rows = tx.query(&st.lock, &[&low, &high]).await.expect("lock");
                    assert_eq!(rows.len(), 2, "both accounts locked");
                    tx.execute(&st.debit, &[&1_i64, &from])
                        .await
                        .expect("debit");
                    tx.execute(&st.credit, &[&1_i64, &to])
                        .await
                        .expect("credit");
                    tx.execute(&st.record, &[&from, &to, &1_i64])
                        .await
                        .expect("ledger");
                    tx.commit().await.expect("COMMIT");
                }
                Op::TransferRandomOrder { from, to } => {
                    // A deadlock (40P01, found after `deadlock_timeout`) rolled the
                    // transaction back: run it again, as a careful user would.
                    while let Err(e) = self.transfer_as_asked(from, to).await {
                        if e.code() != Some(&SqlState::T_R_DEADLOCK_DETECTED) {
                            panic!("tokio-postgres random-order transfer: {e}");
                        }
                    }
                }
                Op::PointRead { id } => {
                    let row = self
                        .client
                        .query_one(&st.point, &[&id])
                        .await
                        .expect("read");
                    std::hint::black_box(row.get::<_, i64>(0));
                }
                Op::InsertBatch { tag } => {
                    let tx = self.client.transaction().await.expect("BEGIN");
                    for _ in 0..BATCH_ROWS {
                        tx.execute(&st.item, &[&tag]).await.expect("insert");
                    }
                    tx.commit().await.expect("COMMIT");
                }
                Op::Flush { first } => self.flush(first).await.expect("flush"),
                Op::Select1 => {
                    let row = self
                        .client
                        .query_one(&st.select1, &[])
                        .await
                        .expect("SELECT 1");
                    assert_eq!(row.get::<_, i32>(0), 1);
                }
            }
        })
    }
}
