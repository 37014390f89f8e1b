//! The isolation tester's machinery: a session is a task owning one txkit transaction on
//! its own pooled connection, fed steps through a channel, so the scenario can start a step,
//! see that it blocks (no answer within [`BLOCKED`]), go on with other sessions, and collect
//! the answer once the blocker ends. Nothing here sleeps to order steps: the order is the
//! order the scenario sends them in, and a step is known to have run when its answer comes.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use txkit::{Engine, Error, Row, TableLock, Transaction, TxOptions};

/// How long a step must stay unanswered to count as blocked.
pub const BLOCKED: Duration = Duration::from_millis(300);

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
pub struct Session {
    pub name: &'static str,
    cmds: mpsc::UnboundedSender<Cmd>,
}

impl Session {
    /// A session on `engine` whose transaction begins with `opts` at the first step (as
    /// the isolation tester's `BEGIN` takes no snapshot until the first statement).
    pub fn new(name: &'static str, engine: &Engine, opts: TxOptions) -> Session {
        let (cmds, mut rx) = mpsc::unbounded_channel::<Cmd>();
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut tx: Option<Transaction<'static>> = None;
            while let Some(cmd) = rx.recv().await {
                if tx.is_none() && !matches!(cmd, Cmd::Rollback(_)) {
                    match engine.begin_with(opts).await {
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
                        reply.send(t.commit().await.map(|()| Vec::new())).ok();
                    }
                    Cmd::Rollback(reply) => {
                        let r = match tx.take() {
                            Some(t) => t.rollback().await,
                            None => Ok(()),
                        };
                        reply.send(r.map(|()| Vec::new())).ok();
                    }
                }
            }
        });
        Session { name, cmds }
    }

    fn send(&self, label: &str, make: impl FnOnce(Reply) -> Cmd) -> Step {
        let (reply, rx) = oneshot::channel();
        self.cmds.send(make(reply)).expect("session task alive");
        Step {
            label: format!("{}:{label}", self.name),
            state: State::Waiting(rx),
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

    /// Whether the step is still unanswered after [`BLOCKED`].
    pub async fn blocks(&mut self) -> bool {
        !self.wait_for(BLOCKED).await
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
