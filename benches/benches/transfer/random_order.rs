//! The `random-order` twin of a contender: in the `transfer_random_order` cell it asks for
//! the two account locks payer first, whatever their ids, where its plain twin locks in id
//! order. The cell runs both in the same rounds, so "random ÷ ordered" compares like with
//! like. Hand-written code locks as asked and retries the deadlocks that follow; txkit's
//! twin asks for both rows in one locking entity query, whose rows (and so whose locks)
//! txkit orders by primary key.

use std::sync::Arc;

use crate::workload::{BoxFut, Contender, Op, Work, Worker};

pub(crate) struct RandomOrder {
    inner: Arc<dyn Contender>,
    name: &'static str,
}

impl RandomOrder {
    /// The twin of `inner`, if it has one (txkit and the raw drivers).
    pub(crate) fn of(inner: &Arc<dyn Contender>) -> Option<Arc<dyn Contender>> {
        let name = match inner.name() {
            "txkit" => "txkit random-order",
            "tokio-postgres" => "tokio-postgres random-order",
            "mysql_async" => "mysql_async random-order",
            _ => return None,
        };
        Some(Arc::new(RandomOrder {
            inner: Arc::clone(inner),
            name,
        }))
    }
}

struct Twin(Box<dyn Worker>);

impl Worker for Twin {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        let op = match op {
            Op::Transfer { from, to } => Op::TransferRandomOrder { from, to },
            other => other,
        };
        self.0.run(op)
    }
}

impl Contender for RandomOrder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        Box::pin(async move { Box::new(Twin(self.inner.worker().await)) as Box<dyn Worker> })
    }

    fn runs(&self, work: Work) -> bool {
        work == Work::RandomOrder
    }
}
