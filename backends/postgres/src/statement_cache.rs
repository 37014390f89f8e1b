//! A bounded, least-recently-used cache of prepared statements, keyed by SQL text.
//!
//! A statement evicted or removed here is closed on the server when its last handle drops
//! (tokio-postgres sends Close then).

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use tokio_postgres::Statement;

/// A prepared statement, its result's column names (shared by every row), and when it was
/// last used.
#[derive(Debug)]
struct Entry {
    statement: Statement,
    names: Arc<[String]>,
    used: u64,
}

/// The prepared statements of one connection.
#[derive(Debug)]
pub(crate) struct StatementCache {
    capacity: usize,
    tick: u64,
    /// Keyed with foldhash (randomly seeded per process): the keys are the application's
    /// own SQL texts, hashed on every statement, where std's SipHash was a measurable cost.
    entries: HashMap<String, Entry, RandomState>,
}

impl StatementCache {
    /// A cache of at most `capacity` statements; 0 turns caching off.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            tick: 0,
            entries: HashMap::default(),
        }
    }

    /// The statement prepared for `sql`, marked as just used.
    pub(crate) fn get(&mut self, sql: &str) -> Option<(Statement, Arc<[String]>)> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(sql).map(|entry| {
            entry.used = tick;
            (entry.statement.clone(), Arc::clone(&entry.names))
        })
    }

    /// Remembers `stmt` for `sql`, evicting the least recently used statement when full.
    pub(crate) fn insert(&mut self, sql: &str, statement: Statement, names: Arc<[String]>) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(sql) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                self.entries.remove(&key);
            }
        }
        self.tick += 1;
        let entry = Entry {
            statement,
            names,
            used: self.tick,
        };
        self.entries.insert(sql.to_owned(), entry);
    }

    /// Forgets the statement for `sql` (after the server said its plan is stale).
    pub(crate) fn remove(&mut self, sql: &str) {
        self.entries.remove(sql);
    }

    /// How many statements are cached.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
