//! The isolation tester's machinery: a session is a task owning one txkit transaction on
//! its own pooled connection, fed steps through a channel, so the scenario can start a step,
//! see that it blocks (the database shows its session waiting for a lock, see
//! [`Step::blocks`]), go on with other sessions, and collect the answer once the blocker
//! ends. Nothing here sleeps to order steps: the order is the order the scenario sends them
//! in, and a step is known to have run when its answer comes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use txkit::{Engine, Error, Row, TableLock, Transaction, TxOptions};

use crate::common::{LockView, Waiter};

/// How long a step waits for its answer between two looks at the database's lock view.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// How long any step may take before the scenario fails (a bounded wait, never an order).
const STEP_LIMIT: Duration = Duration::from_secs(60);

type Reply = oneshot::Sender<Result<Vec<Row>, Error>>;

enum Cmd {
    Sql(String, Reply),
    LockTable(String, TableLock, Reply),
    /// `SAVEPOINT`; the statements; `ROLLBACK TO SAVEPOINT` — in one step.
    SavepointRolledBack(Vec<String>, Reply),
    Commit(Reply),
    Rollback(Reply),
}

/// One session: a transaction begun (with the session's options) at its first step.
pub struct SpecSession {
    pub name: &'static str,
    pub(super) engine: Engine,
    cmds: mpsc::UnboundedSender<Cmd>,
    /// The server's id for the connection of the open transaction (PostgreSQL backend pid,
    /// MySQL connection id); `None` between transactions and on SQLite.
    id: SessionId,
}

type SessionId = Arc<Mutex<Option<i64>>>;

/// The statement that reads a connection's server id, for `engine`'s backend (outside any
/// transaction, so it takes no snapshot).
fn id_query(engine: &Engine) -> Option<&'static str> {
    match engine.backend() {
        "postgres" => Some("SELECT pg_backend_pid()::bigint"),
        "mysql" => Some("SELECT CAST(CONNECTION_ID() AS SIGNED)"),
        _ => None,
    }
}

/// Checks a connection out, notes its server id in `id`, and begins on it.
async fn begin(
    engine: &Engine,
    opts: TxOptions,
    id: &SessionId,
) -> Result<Transaction<'static>, Error> {
    let mut conn = engine.connection().await?;
    if let Some(sql) = id_query(engine) {
        let rows = conn.query(sql, &[]).await?;
        *id.lock().expect("session id") = Some(rows[0].get::<i64>(0)?);
    }
    Transaction::begin_pooled(conn, opts).await
}

impl SpecSession {
    /// A session on `engine` whose transaction begins with `opts` at the first step (as
    /// the isolation tester's `BEGIN` takes no snapshot until the first statement).
    pub fn new(name: &'static str, engine: &Engine, opts: TxOptions) -> SpecSession {
        let (cmds, mut rx) = mpsc::unbounded_channel::<Cmd>();
        let id = SessionId::default();
        let (task_engine, task_id) = (engine.clone(), id.clone());
        tokio::spawn(async move {
            let (engine, id) = (task_engine, task_id);
            let mut tx: Option<Transaction<'static>> = None;
            while let Some(cmd) = rx.recv().await {
                if tx.is_none() && !matches!(cmd, Cmd::Rollback(_)) {
                    match begin(&engine, opts, &id).await {
                        Ok(t) => tx = Some(t),
                        Err(e) => {
                            reply_of(cmd).send(Err(e)).ok();
                            continue;
                        }
                    }
                }
                match cmd {
                    Cmd::Sql(sql, reply) => {
                        let t = tx.as_mut().expect("open");
                        reply.send(t.query(&sql, &[]).await).ok();
                    }
                    Cmd::LockTable(table, lock, reply) => {
                        let t = tx.as_mut().expect("open");
                        reply
                            .send(t.lock_table(&table, &lock).await.map(|()| Vec::new()))
                            .ok();
                    }
                    Cmd::SavepointRolledBack(sqls, reply) => {
                        let t = tx.as_mut().expect("open");
                        reply.send(savepoint_rolled_back(t, &sqls).await).ok();
                    }
                    Cmd::Commit(reply) => {
                        let t = tx.take().expect("open");
                        let r = t.commit().await;
                        *id.lock().expect("session id") = None;
                        reply.send(r.map(|()| Vec::new())).ok();
                    }
                    Cmd::Rollback(reply) => {
                        let r = match tx.take() {
                            Some(t) => t.rollback().await,
                            None => Ok(()),
                        };
                        *id.lock().expect("session id") = None;
                        reply.send(r.map(|()| Vec::new())).ok();
                    }
                }
            }
        });
        SpecSession {
            name,
            engine: engine.clone(),
            cmds,
            id,
        }
    }

    fn send(&self, label: &str, make: impl FnOnce(Reply) -> Cmd) -> Step {
        let (reply, rx) = oneshot::channel();
        self.cmds.send(make(reply)).expect("session task alive");
        Step {
            label: format!("{}:{label}", self.name),
            state: State::Waiting(rx),
            session_id: self.id.clone(),
        }
    }

    /// Starts a statement.
    pub fn step(&self, label: &str, sql: impl Into<String>) -> Step {
        let sql = sql.into();
        self.send(label, |r| Cmd::Sql(sql, r))
    }

    /// Starts `lock_table`.
    pub fn lock_table(&self, label: &str, table: &str, lock: TableLock) -> Step {
        let table = table.to_owned();
        self.send(label, |r| Cmd::LockTable(table, lock, r))
    }

    /// Starts a savepoint, the statements, and a rollback to the savepoint.
    pub fn savepoint_rolled_back(&self, label: &str, sqls: &[String]) -> Step {
        let sqls = sqls.to_vec();
        self.send(label, |r| Cmd::SavepointRolledBack(sqls, r))
    }

    /// Starts COMMIT.
    pub fn commit(&self) -> Step {
        self.send("commit", Cmd::Commit)
    }

    /// Starts ROLLBACK (nothing to do when no transaction is open).
    pub fn rollback(&self) -> Step {
        self.send("rollback", Cmd::Rollback)
    }
}

fn reply_of(cmd: Cmd) -> Reply {
    match cmd {
        Cmd::Sql(_, r)
        | Cmd::LockTable(_, _, r)
        | Cmd::SavepointRolledBack(_, r)
        | Cmd::Commit(r)
        | Cmd::Rollback(r) => r,
    }
}

async fn savepoint_rolled_back(
    tx: &mut Transaction<'static>,
    sqls: &[String],
) -> Result<Vec<Row>, Error> {
    let mut sp = tx.savepoint().await?;
    for sql in sqls {
        sp.execute(sql, &[]).await?;
    }
    sp.rollback().await?;
    Ok(Vec::new())
}

enum State {
    Waiting(oneshot::Receiver<Result<Vec<Row>, Error>>),
    Done(Result<Vec<Row>, Error>),
}

/// A started step: its answer may not have come yet.
pub struct Step {
    pub label: String,
    state: State,
    session_id: SessionId,
}

impl Step {
    async fn wait_for(&mut self, limit: Duration) -> bool {
        if let State::Waiting(rx) = &mut self.state {
            match tokio::time::timeout(limit, rx).await {
                Ok(answer) => {
                    self.state = State::Done(answer.expect("session task alive"));
                }
                Err(_) => return false,
            }
        }
        true
    }

    /// Whether the step blocks: false once its answer has come, true once `view` shows its
    /// session waiting for a lock (on SQLite: more txkit writers in line at the write gate
    /// than the `others_in_line` blocked steps already there, with the write lock held);
    /// whichever comes first. Fails the scenario if neither comes within the step limit.
    pub async fn blocks(&mut self, view: &LockView, others_in_line: usize) -> bool {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            if self.wait_for(LOOK_EVERY).await {
                return false;
            }
            let id = *self.session_id.lock().expect("session id");
            if view.waits(Waiter::Session { id, others_in_line }).await {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "{} neither answered nor waited for a lock within {STEP_LIMIT:?}",
                self.label
            );
        }
    }

    /// The answer, within the step limit.
    pub async fn result(mut self) -> Result<Vec<Row>, Error> {
        assert!(
            self.wait_for(STEP_LIMIT).await,
            "{} did not finish within {STEP_LIMIT:?}",
            self.label
        );
        match self.state {
            State::Done(r) => r,
            State::Waiting(_) => unreachable!(),
        }
    }
}
