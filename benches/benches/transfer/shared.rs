//! Hand-written code sharing fewer connections than it has tasks: a raw driver's
//! dedicated connections (its workers) kept in a small first-come, first-served pool — a
//! semaphore with one permit per connection and a stack of idle ones — as a user of the
//! raw driver would put `tasks` callers over `connections` connections. Each operation
//! checks a connection out, runs, and puts it back; a cell whose tasks and connections
//! are equal never uses this.

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::workload::{BoxFut, Contender, Op, Work, Worker};

pub(crate) struct Shared {
    inner: Arc<dyn Contender>,
    connections: usize,
    idle: Arc<Idle>,
}

struct Idle {
    /// One permit per idle connection; FIFO, so tasks are served in the order they asked.
    permits: Semaphore,
    workers: Mutex<Vec<Box<dyn Worker>>>,
    /// Connections opened so far (at most `connections`).
    opened: Mutex<usize>,
}

impl Shared {
    /// `inner`'s dedicated connections, at most `connections` of them, shared by however
    /// many workers the cell asks for.
    pub(crate) fn over(inner: Arc<dyn Contender>, connections: usize) -> Arc<dyn Contender> {
        Arc::new(Self {
            inner,
            connections,
            idle: Arc::new(Idle {
                permits: Semaphore::new(0),
                workers: Mutex::new(Vec::new()),
                opened: Mutex::new(0),
            }),
        })
    }
}

/// A task's handle on the shared connections.
struct Checkout(Arc<Idle>);

impl Worker for Checkout {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let idle = &self.0;
            let permit = idle
                .permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let mut worker = idle
                .workers
                .lock()
                .expect("no panic while held")
                .pop()
                .expect("a permit stands for an idle connection");
            worker.run(op).await;
            idle.workers
                .lock()
                .expect("no panic while held")
                .push(worker);
            drop(permit);
        })
    }
}

impl Contender for Shared {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        Box::pin(async move {
            let open_one = {
                let mut opened = self.idle.opened.lock().expect("no panic while held");
                let below = *opened < self.connections;
                *opened += usize::from(below);
                below
            };
            if open_one {
                let worker = self.inner.worker().await;
                self.idle
                    .workers
                    .lock()
                    .expect("no panic while held")
                    .push(worker);
                self.idle.permits.add_permits(1);
            }
            Box::new(Checkout(Arc::clone(&self.idle))) as Box<dyn Worker>
        })
    }

    fn runs(&self, work: Work) -> bool {
        self.inner.runs(work)
    }

    fn close(&self) -> BoxFut<'_, ()> {
        self.inner.close()
    }
}
