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

    /// Looks up each of `texts` (in order, marking what it finds as used); returns what was
    /// found and each text not found, once (a pipeline may repeat a statement).
    pub(crate) fn get_all<'t>(&mut self, texts: &[&'t str]) -> (Vec<Option<V>>, Vec<&'t str>) {
        let found: Vec<Option<V>> = texts.iter().map(|t| self.get(t)).collect();
        let mut missing: Vec<&str> = texts
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(t, _)| *t)
            .collect();
        missing.sort_unstable();
        missing.dedup();
        (found, missing)
    }

    /// Remembers `value`, just prepared for `text`, and puts it in every empty place of
    /// `found` (from [`get_all`](Self::get_all) over `texts`) that asked for `text`.
    pub(crate) fn insert_found(
        &mut self,
        text: &str,
        value: V,
        texts: &[&str],
        found: &mut [Option<V>],
    ) {
        for (slot, t) in found.iter_mut().zip(texts) {
            if slot.is_none() && *t == text {
                *slot = Some(value.clone());
            }
        }
        self.insert(text, value);
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
