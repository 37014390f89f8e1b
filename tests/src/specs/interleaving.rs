//! Runs a permutation (the isolation tester's word: one interleaving of the sessions'
//! steps) the way the tester does: steps start in the permutation's order; a step the
//! database shows waiting for a lock before it answers is blocked ([`Step::blocks`]; the
//! tester asks PostgreSQL the same), and its session's later steps wait their turn
//! while the other sessions go on; after a step that can release locks (COMMIT, ROLLBACK,
//! or a failure) each blocked step gets a bounded wait to finish. A session whose step
//! failed is rolled back and its later steps are skipped (the tester would see them fail
//! with "transaction aborted"). SELECT results are kept as the outcome's reads.

use std::collections::VecDeque;

use txkit::TableLock;

use super::{Observed, SpecSession, Step, join};
use crate::common::{Kind, LockView};

/// What a step does.
#[derive(Clone)]
pub enum Act {
    /// A statement; a SELECT's first column (integers) is recorded as a read.
    Sql(String),
    /// `lock_table`.
    Lock(String, TableLock),
    /// SAVEPOINT, the statements, ROLLBACK TO SAVEPOINT.
    SavepointRolledBack(Vec<String>),
    Commit,
    /// Not a statement: waits (up to the step limit) for the session's blocked step to
    /// end by itself, e.g. by its own timeout, before the permutation goes on.
    AwaitBlocked,
}

/// One step of a permutation: which session, its name in the spec, what it does.
#[derive(Clone)]
pub struct StepDef {
    pub session: usize,
    pub label: &'static str,
    pub act: Act,
}

/// `s(i, label, sql)`: a statement step of session `i`.
pub fn sql(session: usize, label: &'static str, sql: impl Into<String>) -> StepDef {
    StepDef {
        session,
        label,
        act: Act::Sql(sql.into()),
    }
}

/// COMMIT of session `i`.
pub fn commit(session: usize, label: &'static str) -> StepDef {
    StepDef {
        session,
        label,
        act: Act::Commit,
    }
}

struct Running {
    def: StepDef,
    step: Step,
}

fn start(sessions: &[SpecSession], def: &StepDef) -> Step {
    let s = &sessions[def.session];
    match &def.act {
        Act::Sql(sql) => s.step(def.label, sql.clone()),
        Act::Lock(table, lock) => s.lock_table(def.label, table, lock.clone()),
        Act::SavepointRolledBack(sqls) => s.savepoint_rolled_back(def.label, sqls),
        Act::Commit => {
            let mut step = s.commit();
            step.label = format!("{}:{}", s.name, def.label);
            step
        }
        Act::AwaitBlocked => unreachable!("handled by the runner"),
    }
}

struct Interleaving<'a> {
    sessions: &'a [SpecSession],
    view: LockView,
    pending: Vec<Option<Running>>,
    deferred: Vec<VecDeque<StepDef>>,
    failed: Vec<bool>,
    reads: Vec<String>,
    outcome: Observed,
}

impl Interleaving<'_> {
    /// How many steps are known to be blocked now.
    fn blocked_count(&self) -> usize {
        self.pending.iter().filter(|p| p.is_some()).count()
    }

    /// Records a finished step; true if it may have released locks.
    async fn finished(&mut self, def: &StepDef, step: Step) -> bool {
        let is_select = matches!(&def.act, Act::Sql(q) if q.trim_start().starts_with("SELECT"));
        match self.outcome.finish(step).await {
            Some(rows) => {
                if is_select {
                    let values: Vec<i64> =
                        rows.iter().map(|r| r.get::<i64>(0).expect("int")).collect();
                    self.reads.push(format!("{}={}", def.label, join(&values)));
                }
                matches!(def.act, Act::Commit)
            }
            None => {
                self.failed[def.session] = true;
                self.sessions[def.session].rollback().result().await.ok();
                true
            }
        }
    }

    /// Starts `def` now (its session is free); true if it finished and may have released
    /// locks.
    async fn launch(&mut self, def: StepDef) -> bool {
        if self.failed[def.session] {
            return false;
        }
        let mut step = start(self.sessions, &def);
        let others = self.blocked_count();
        if step.blocks(&self.view, others).await {
            self.outcome.blocked_step(&step.label);
            let i = def.session;
            self.pending[i] = Some(Running { def, step });
            false
        } else {
            self.finished(&def, step).await
        }
    }

    /// Waits out session `i`'s blocked step (up to the step limit), starts the steps that
    /// queued behind it, and lets everything else move on.
    async fn finish_blocked(&mut self, i: usize) {
        let Some(running) = self.pending[i].take() else {
            return;
        };
        let released = self.finished(&running.def, running.step).await;
        while self.pending[i].is_none() {
            let Some(next) = self.deferred[i].pop_front() else {
                break;
            };
            self.launch(next).await;
        }
        self.settle(released).await;
    }

    /// Gives every blocked step a bounded wait (`wait`) to finish, then starts the deferred
    /// steps of the sessions that became free, until nothing changes.
    async fn settle(&mut self, mut released: bool) {
        while released {
            released = false;
            for i in 0..self.pending.len() {
                let Some(mut running) = self.pending[i].take() else {
                    continue;
                };
                let others = self.blocked_count();
                if running.step.blocks(&self.view, others).await {
                    self.pending[i] = Some(running);
                    continue;
                }
                released |= self.finished(&running.def, running.step).await;
                while self.pending[i].is_none() {
                    let Some(next) = self.deferred[i].pop_front() else {
                        break;
                    };
                    released |= self.launch(next).await;
                }
            }
        }
    }
}

/// Runs `perm` on `sessions`; every session's steps run in their order. Ends when every
/// step has run (a step blocked for good fails the scenario after the step limit).
pub async fn run(sessions: &[SpecSession], perm: &[StepDef]) -> Observed {
    let n = sessions.len();
    let engine = &sessions[0].engine;
    let kind = match engine.backend() {
        "sqlite" => Kind::Sqlite,
        "postgres" => Kind::Postgres,
        _ => Kind::MySql,
    };
    let mut r = Interleaving {
        sessions,
        view: LockView::new(kind, false, engine.url().expose()).await,
        pending: (0..n).map(|_| None).collect(),
        deferred: (0..n).map(|_| VecDeque::new()).collect(),
        failed: vec![false; n],
        reads: Vec::new(),
        outcome: Observed::default(),
    };
    for def in perm.iter().cloned() {
        let i = def.session;
        if matches!(def.act, Act::AwaitBlocked) {
            r.finish_blocked(i).await;
            continue;
        }
        if r.pending[i].is_some() || !r.deferred[i].is_empty() {
            r.deferred[i].push_back(def);
            continue;
        }
        let released = r.launch(def).await;
        r.settle(released).await;
    }
    // Whatever is still blocked must finish now that every step has been sent.
    while r.pending.iter().any(Option::is_some) {
        let before = r.pending.iter().filter(|p| p.is_some()).count();
        r.settle(true).await;
        let after = r.pending.iter().filter(|p| p.is_some()).count();
        if after == before {
            // Nothing moved within the bound: wait for the first blocked step at the step
            // limit (it fails the scenario if it never ends).
            let i = r.pending.iter().position(Option::is_some).expect("pending");
            r.finish_blocked(i).await;
        }
    }
    r.view.close().await;
    r.outcome.reads(r.reads);
    r.outcome
}
