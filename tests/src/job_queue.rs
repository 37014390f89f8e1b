//! The job-queue claim on every backend: 1,000 jobs, 8 workers claiming 10 at a time with
//! `FOR UPDATE SKIP LOCKED` (an IMMEDIATE transaction on SQLite); every job runs exactly
//! once. On the servers, a claim made while another claim holds its jobs must skip those
//! jobs at once rather than wait for them: what SKIP LOCKED adds over FOR UPDATE, which
//! alone would also run each job once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use txkit::{Engine, Entity, create_all};

use crate::common::{Kind, TestDb, bounded};
use crate::entities::Isolated;

#[derive(Debug, Clone, PartialEq, txkit::Entity)]
#[txkit(table = "queue_jobs")]
struct Job {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(max_len = 16)]
    status: String,
    runs: i64,
}

const JOBS: i64 = 1000;
const WORKERS: usize = 8;
const BATCH: u64 = 10;

crate::matrix!(sea_orm: job_queue_runs_each_job_once);

async fn job_queue_runs_each_job_once(db: TestDb) {
    let iso = Isolated::new(&db, WORKERS).await;
    create_all(&iso.engine, &[Job::table()]).await.unwrap();
    let mut jobs: Vec<Job> = (1..=JOBS)
        .map(|id| Job {
            id,
            status: "new".into(),
            runs: 0,
        })
        .collect();
    let mut session = iso.engine.session();
    session.add_all_borrowed(jobs.iter_mut());
    session.commit().await.unwrap();

    let ran = Arc::new(Mutex::new(Vec::new()));
    if db.kind != Kind::Sqlite {
        claims_skip_held_jobs(&iso.engine, &ran).await;
    }
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (engine, ran) = (iso.engine.clone(), ran.clone());
        workers.push(tokio::spawn(async move {
            let mut claims = 0;
            loop {
                let ran = ran.clone();
                let n = engine
                    .session()
                    .run_jobs(Job::STATUS.eq("new"), BATCH, move |mut job: Job| {
                        let ran = ran.clone();
                        async move {
                            ran.lock().unwrap().push(job.id);
                            job.status = "done".into();
                            job.runs += 1;
                            Ok(job)
                        }
                    })
                    .await
                    .unwrap();
                if n == 0 {
                    return claims;
                }
                assert!(n as u64 <= BATCH);
                claims += 1;
            }
        }));
    }
    let mut claims = 0;
    for w in workers {
        claims += w.await.unwrap();
    }
    let mut ran = ran.lock().unwrap().clone();
    ran.sort_unstable();
    assert_eq!(
        ran,
        (1..=JOBS).collect::<Vec<_>>(),
        "each job ran exactly once"
    );
    assert!(claims >= (JOBS as u64 / BATCH) as usize - 2);

    let mut s = iso.engine.session();
    let done = s
        .query::<Job>()
        .filter(Job::STATUS.eq("done").and(Job::RUNS.eq(1)))
        .count()
        .await
        .unwrap();
    assert_eq!(done, JOBS as u64);
    s.rollback().await.unwrap();
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// One claim holds its batch (its first job waits for a signal) while a second claim runs:
/// the second must finish without waiting, on other jobs. Without SKIP LOCKED the second
/// would wait for the first's row locks and fail the bounded wait.
async fn claims_skip_held_jobs(engine: &Engine, ran: &Arc<Mutex<Vec<i64>>>) {
    let (claimed_tx, mut claimed) = mpsc::unbounded_channel::<i64>();
    let (release_tx, release) = oneshot::channel::<()>();
    let release = Arc::new(tokio::sync::Mutex::new(Some(release)));
    let holder = {
        let (engine, ran) = (engine.clone(), ran.clone());
        tokio::spawn(async move {
            engine
                .session()
                .run_jobs(Job::STATUS.eq("new"), BATCH, move |mut job: Job| {
                    let (ran, claimed_tx, release) =
                        (ran.clone(), claimed_tx.clone(), release.clone());
                    async move {
                        ran.lock().unwrap().push(job.id);
                        claimed_tx.send(job.id).ok();
                        if let Some(release) = release.lock().await.take() {
                            release.await.ok();
                        }
                        job.status = "done".into();
                        job.runs += 1;
                        Ok(job)
                    }
                })
                .await
        })
    };
    let first_held = bounded("the first claim's first job", claimed.recv())
        .await
        .unwrap();
    let second: Arc<Mutex<Vec<i64>>> = Arc::default();
    let n = {
        let second = second.clone();
        let claim = engine
            .session()
            .run_jobs(Job::STATUS.eq("new"), BATCH, move |mut job: Job| {
                let second = second.clone();
                async move {
                    second.lock().unwrap().push(job.id);
                    job.status = "done".into();
                    job.runs += 1;
                    Ok(job)
                }
            });
        tokio::time::timeout(Duration::from_secs(10), claim)
            .await
            .expect("a claim waited for jobs another claim holds: SKIP LOCKED not applied")
            .unwrap()
    };
    assert_eq!(n as u64, BATCH);
    let second = second.lock().unwrap().clone();
    assert!(
        !second.contains(&first_held),
        "the second claim ran job {first_held}, held by the first: {second:?}"
    );
    ran.lock().unwrap().extend(&second);
    release_tx.send(()).unwrap();
    let held = bounded("the first claim", holder).await.unwrap().unwrap();
    assert_eq!(held as u64, BATCH);
}
