//! The job-queue claim on every backend: 1,000 jobs, 8 workers claiming 10 at a time with
//! `FOR UPDATE SKIP LOCKED` (an IMMEDIATE transaction on SQLite); every job runs exactly
//! once.

use std::sync::{Arc, Mutex};

use txkit::{Entity, create_all};

use crate::common::TestDb;
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
    assert!(claims >= (JOBS as u64 / BATCH) as usize);

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
