//! A bounded, least-recently-used cache of prepared statements, keyed by SQL text, for
//! both connection types: what it keeps is a handle whose last drop closes the statement
//! on the server (tokio-postgres's `Statement`; the protocol layer's `Prepared`), so a
//! statement evicted while a request still holds it stays usable until that request ends.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use tokio_postgres::Statement;

/// What the tokio-postgres connection keeps per statement: the statement and its result's
/// column names (shared by every row).
pub(crate) type PgStatement = (Statement, Arc<[String]>);

/// A cached statement and when it was last used.
#[derive(Debug)]
struct Entry<V> {
    value: V,
    used: u64,
}

/// The prepared statements of one connection.
#[derive(Debug)]
pub(crate) struct StatementCache<V = PgStatement> {
    capacity: usize,
    tick: u64,
    /// Keyed with foldhash (randomly seeded per process): the keys are the application's
    /// own SQL texts, hashed on every statement, where std's SipHash was a measurable cost.
    entries: HashMap<String, Entry<V>, RandomState>,
}

impl<V: Clone> StatementCache<V> {
    /// A cache of at most `capacity` statements; 0 turns caching off.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            tick: 0,
            entries: HashMap::default(),
        }
    }

    /// The statement prepared for `sql`, marked as just used.
    pub(crate) fn get(&mut self, sql: &str) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(sql).map(|entry| {
            entry.used = tick;
            entry.value.clone()
        })
    }

    /// Remembers `value` for `sql`, evicting the least recently used statement when full.
    pub(crate) fn insert(&mut self, sql: &str, value: V) {
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
            value,
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
