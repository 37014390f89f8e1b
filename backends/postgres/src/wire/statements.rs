//! Prepared statements of txkit's protocol layer: what the server said about each (its
//! parameter and column types), kept per connection under the SQL text as written in the
//! same least-recently-used [`StatementCache`] as the tokio-postgres connection's.
//!
//! As with tokio-postgres's statements, the server's statement is closed when the last
//! handle to it drops: [`Prepared`]'s drop queues its Close on the connection ([`Closing`]),
//! which sends it with the next request. So a statement evicted, or prepared uncached
//! (`statement_cache_size=0`), while a request still holds it stays usable until that
//! request ends.

use std::sync::{Arc, Mutex, PoisonError};

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{Message, RowDescriptionBody};
use postgres_protocol::message::frontend;
use tokio_postgres::types::Type;
use txkit_core::dialects::{asks_nowait, placeholders};
use txkit_core::{Error, Result};

use super::io::Wire;
use super::server_error::ServerError;
use crate::statement_cache::StatementCache;

/// Names of statements whose last handle dropped, waiting for their Close to be sent.
pub(crate) type Closing = Arc<Mutex<Vec<String>>>;

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
    /// Where its drop leaves its name for the Close.
    closing: Closing,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // The unnamed statement (a described portal's) needs no Close.
        if self.name.is_empty() {
            return;
        }
        self.closing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(std::mem::take(&mut self.name));
    }
}

impl Prepared {
    /// The unnamed statement whose portal `body` describes, every column asked for in
    /// binary (an unnamed statement's result formats are chosen before its columns are
    /// known); a column of a type txkit does not know has no type here, and reading it is
    /// an error that says to cast it to text.
    pub(crate) fn described(wire: &mut Wire, body: &RowDescriptionBody) -> Result<Self> {
        let mut columns = Vec::new();
        let mut names = Vec::new();
        let mut fields = body.fields();
        while let Some(field) =
            FallibleIterator::next(&mut fields).map_err(|e| wire.lost(&e.to_string()))?
        {
            columns.push(Type::from_oid(field.type_oid()));
            names.push(field.name().to_owned());
        }
        Ok(Self {
            name: String::new(),
            params: Vec::new(),
            formats: vec![1; columns.len()],
            columns,
            names: names.into(),
            closing: Arc::clone(&wire.closing),
        })
    }
}

/// Queues the Close of every statement whose last handle dropped (each answered with a
/// CloseComplete, read and skipped with the answers of the request it goes with).
pub(crate) fn queue_closes(closing: &Closing, out: &mut bytes::BytesMut) {
    let mut names = closing.lock().unwrap_or_else(PoisonError::into_inner);
    for name in names.drain(..) {
        // A name txkit made (`txkit_<n>`) has no NUL byte, so writing it cannot fail.
        let _ = frontend::close(b'S', &name, out);
    }
}

/// The statement cache.
pub(crate) struct Statements {
    cache: StatementCache<Arc<Prepared>>,
    next: u64,
}

impl Statements {
    /// A cache of at most `capacity` statements; 0 prepares every statement for one use.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            cache: StatementCache::new(capacity),
            next: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }

    /// The statement cached for `sql`, marked as just used.
    pub(crate) fn get(&mut self, sql: &str) -> Option<Arc<Prepared>> {
        self.cache.get(sql)
    }

    /// Forgets `sql`'s statement (its plan went stale); it is closed when unused.
    pub(crate) fn remove(&mut self, sql: &str) {
        self.cache.remove(sql);
    }

    /// The prepared statement of each of `texts`, preparing those not cached in one round
    /// trip. A failure to prepare is the first such statement's error.
    pub(crate) async fn prepare_all(
        &mut self,
        wire: &mut Wire,
        texts: &[&str],
    ) -> Result<Vec<Arc<Prepared>>> {
        let (mut found, missing) = self.cache.get_all(texts);
        if !missing.is_empty() {
            let prepared = self.describe(wire, &missing).await?;
            for (text, statement) in missing.iter().zip(prepared) {
                self.cache
                    .insert_found(text, Arc::new(statement), texts, &mut found);
            }
        }
        Ok(found.into_iter().flatten().collect())
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
                        wire,
                        &names[out.len()],
                        std::mem::take(&mut params),
                        columns,
                        col_names,
                    ));
                }
                Message::NoData => {
                    out.push(finish(
                        wire,
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
            // Those prepared before the failure are closed as `out` drops.
            Some(e) => Err(e),
            None if out.len() == texts.len() => Ok(out),
            None => Err(wire.lost("the server did not describe every statement")),
        }
    }
}

fn finish(
    wire: &Wire,
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
        closing: Arc::clone(&wire.closing),
    }
}
