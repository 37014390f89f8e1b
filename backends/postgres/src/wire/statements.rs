//! Prepared statements of txkit's protocol layer: what the server said about each (its
//! parameter and column types), kept per connection under the SQL text as written.

use std::collections::HashMap;
use std::sync::Arc;

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio_postgres::types::Type;
use txkit_core::dialects::{asks_nowait, placeholders};
use txkit_core::{Error, Result};

use super::io::Wire;
use super::server_error::ServerError;

/// One prepared statement.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Its server-side name.
    pub(crate) name: String,
    /// Parameter types; a type txkit does not know is sent as text.
    pub(crate) params: Vec<Type>,
    /// Result column types; `None` for a type txkit does not know, read as text.
    pub(crate) columns: Vec<Option<Type>>,
    /// Result format per column: binary for known types, text for the others.
    pub(crate) formats: Vec<i16>,
    /// Result column names, shared by every row.
    pub(crate) names: Arc<[String]>,
}

/// The statement cache.
pub(crate) struct Statements {
    map: HashMap<String, Arc<Prepared>, foldhash::fast::RandomState>,
    capacity: usize,
    next: u64,
}

impl Statements {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::default(),
            capacity,
            next: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether statements are prepared for one use only (`statement_cache_size=0`): the
    /// caller then queues their Close ([`close`]) after using them.
    pub(crate) fn transient(&self) -> bool {
        self.capacity == 0
    }

    /// Whether `sql` is prepared (with capacity 0, never).
    pub(crate) fn contains(&self, sql: &str) -> bool {
        self.map.contains_key(sql)
    }

    /// Forgets `sql`'s statement and queues its Close (its plan went stale).
    pub(crate) fn remove(&mut self, sql: &str, wire: &mut Wire) {
        if let Some(gone) = self.map.remove(sql) {
            close(&gone.name, wire);
        }
    }

    /// The prepared statement of each of `texts`, preparing those not cached in one round
    /// trip. A failure to prepare is the first such statement's error.
    pub(crate) async fn prepare_all(
        &mut self,
        wire: &mut Wire,
        texts: &[&str],
    ) -> Result<Vec<Arc<Prepared>>> {
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.map.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            // Uncached (capacity 0): prepared for this use only; the caller closes them
            // after it ([`Statements::transient`]).
            if self.transient() {
                let prepared = self.describe(wire, texts).await?;
                return Ok(prepared.into_iter().map(Arc::new).collect());
            }
            let prepared = self.describe(wire, &missing).await?;
            for (text, statement) in missing.iter().zip(prepared) {
                self.map.insert((*text).to_owned(), Arc::new(statement));
            }
        }
        if self.map.len() > self.capacity {
            self.trim(wire, texts);
        }
        texts
            .iter()
            .map(|t| {
                self.map.get(*t).cloned().ok_or_else(|| {
                    Error::new(
                        txkit_core::ErrorKind::Database,
                        "a statement txkit had just prepared is missing from its cache",
                    )
                })
            })
            .collect()
    }

    /// Evicts statements (queueing their Close) down to the capacity, never one of `keep`
    /// (the statements of the request being prepared): a request using more statements
    /// than the capacity leaves the cache over it until a later request trims it.
    fn trim(&mut self, wire: &mut Wire, keep: &[&str]) {
        while self.map.len() > self.capacity {
            let victim = self
                .map
                .keys()
                .find(|key| !keep.contains(&key.as_str()))
                .cloned();
            match victim {
                Some(key) => self.remove(&key, wire),
                None => return,
            }
        }
    }

    /// Parse and Describe for each of `texts`, under one Sync.
    async fn describe(&mut self, wire: &mut Wire, texts: &[&str]) -> Result<Vec<Prepared>> {
        let mut names = Vec::with_capacity(texts.len());
        for text in texts {
            self.next += 1;
            let name = format!("txkit_{}", self.next);
            let sql = placeholders::rewrite(text);
            frontend::parse(&name, &sql, std::iter::empty(), &mut wire.out)
                .map_err(|e| Error::config(format!("the statement cannot be sent: {e}")))?;
            frontend::describe(b'S', &name, &mut wire.out)
                .map_err(|e| Error::config(format!("the statement cannot be sent: {e}")))?;
            names.push(name);
        }
        wire.sync();
        wire.flush().await?;
        let mut out: Vec<Prepared> = Vec::with_capacity(texts.len());
        let mut params = Vec::new();
        let mut failure: Option<Error> = None;
        loop {
            match wire.next().await? {
                Message::ParameterDescription(body) => {
                    let mut oids = body.parameters();
                    while let Some(oid) =
                        FallibleIterator::next(&mut oids).map_err(|e| wire.lost(&e.to_string()))?
                    {
                        params.push(Type::from_oid(oid).unwrap_or(Type::TEXT));
                    }
                }
                Message::RowDescription(body) => {
                    let mut columns = Vec::new();
                    let mut col_names = Vec::new();
                    let mut fields = body.fields();
                    while let Some(field) = FallibleIterator::next(&mut fields)
                        .map_err(|e| wire.lost(&e.to_string()))?
                    {
                        columns.push(Type::from_oid(field.type_oid()));
                        col_names.push(field.name().to_owned());
                    }
                    out.push(finish(
                        &names[out.len()],
                        std::mem::take(&mut params),
                        columns,
                        col_names,
                    ));
                }
                Message::NoData => {
                    out.push(finish(
                        &names[out.len()],
                        std::mem::take(&mut params),
                        Vec::new(),
                        Vec::new(),
                    ));
                }
                Message::ErrorResponse(body) if failure.is_none() => {
                    let text = texts.get(out.len()).copied().unwrap_or_default();
                    failure = Some(ServerError::parse(&body).into_error(asks_nowait(text)));
                }
                Message::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        match failure {
            Some(e) => {
                // Statements prepared before the failure stay on the server unnamed in
                // txkit's cache: close them.
                for done in &out {
                    close(&done.name, wire);
                }
                Err(e)
            }
            None if out.len() == texts.len() => Ok(out),
            None => Err(wire.lost("the server did not describe every statement")),
        }
    }
}

fn finish(
    name: &str,
    params: Vec<Type>,
    columns: Vec<Option<Type>>,
    names: Vec<String>,
) -> Prepared {
    let formats = columns.iter().map(|c| i16::from(c.is_some())).collect();
    Prepared {
        name: name.to_owned(),
        params,
        columns,
        formats,
        names: names.into(),
    }
}

/// Queues the Close of a named statement (its CloseComplete is read, and skipped, with the
/// answers of the request it goes with).
pub(crate) fn close(name: &str, wire: &mut Wire) {
    // A name txkit made (`txkit_<n>`) has no NUL byte, so writing it cannot fail.
    let _ = frontend::close(b'S', name, &mut wire.out);
}
