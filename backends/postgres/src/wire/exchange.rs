//! Sending prepared statements (Bind and Execute) in pipelines and reading their answers.

use std::sync::Arc;

use postgres_protocol::message::backend::{DataRowBody, Message};
use postgres_protocol::message::frontend;
use txkit_core::{Error, Result, Row, Value};

use super::io::Wire;
use super::server_error::ServerError;
use super::statements::Prepared;
use crate::decode;
use crate::encode::Encoded;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};

/// What one statement of a pipeline returned.
#[derive(Debug)]
pub(crate) enum Answer {
    /// It ran: its rows (when asked for) and its command tag.
    Done { rows: Vec<Row>, tag: Tag },
    /// It failed with this error from the server.
    Failed(ServerError),
    /// An earlier statement under the same Sync failed, so the server skipped it.
    Skipped,
}

/// What txkit reads from a command tag (`UPDATE 3`, `INSERT 0 1`, `ROLLBACK`, …), read
/// where it arrives so that no copy of its text is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tag {
    /// The affected-row count; 0 for tags without one.
    pub(crate) count: u64,
    /// The tag is `ROLLBACK`: what a COMMIT of a failed transaction answers.
    pub(crate) rolled_back: bool,
}

impl Tag {
    /// Reads a tag: its count is the run of digits after its last space (`INSERT 0 1`
    /// counts 1), 0 when there is none or it overflows.
    pub(crate) fn parse(tag: &str) -> Self {
        let bytes = tag.as_bytes();
        let digits = bytes
            .iter()
            .rposition(|&b| b == b' ')
            .map_or(&[][..], |space| &bytes[space + 1..]);
        let count = if digits.is_empty() {
            Some(0)
        } else {
            digits.iter().try_fold(0_u64, |n, &b| {
                let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
                n.checked_mul(10)?.checked_add(u64::from(digit))
            })
        };
        Self {
            count: count.unwrap_or(0),
            rolled_back: tag == "ROLLBACK",
        }
    }
}

/// Queues Bind and Execute of `statement` with its parameters, already encoded for its
/// parameter types (encode every statement of a pipeline before queueing any, so that a
/// bad value sends nothing).
pub(crate) fn bind(wire: &mut Wire, statement: &Prepared, encoded: &[Encoded<'_>]) -> Result<()> {
    bind_as(
        wire,
        &statement.name,
        statement.formats.iter().copied(),
        encoded,
    )?;
    frontend::execute("", 0, &mut wire.out)
        .map_err(|e| Error::config(format!("the statement cannot be sent: {e}")))
}

/// Queues Parse, Bind, Describe and Execute of `sql` as the unnamed statement, its
/// parameters of unspecified types sent as text ([`encode_untyped`](crate::encode::encode_untyped))
/// and every result column asked for in binary: a statement that leaves nothing on the
/// server session, for a pooler in transaction mode. The portal's description precedes its
/// rows ([`Shapes::Described`]).
pub(crate) fn parse_bind(wire: &mut Wire, sql: &str, encoded: &[Encoded<'_>]) -> Result<()> {
    let sent = |e: std::io::Error| Error::config(format!("the statement cannot be sent: {e}"));
    frontend::parse("", sql, std::iter::empty(), &mut wire.out).map_err(sent)?;
    bind_as(wire, "", std::iter::once(1), encoded)?;
    frontend::describe(b'P', "", &mut wire.out).map_err(sent)?;
    frontend::execute("", 0, &mut wire.out).map_err(sent)
}

/// Queues a Bind of statement `name` with `encoded` parameters and `result_formats`.
fn bind_as(
    wire: &mut Wire,
    name: &str,
    result_formats: impl IntoIterator<Item = i16>,
    encoded: &[Encoded<'_>],
) -> Result<()> {
    // `Encoded`'s own ToSql answers (it ignores the type): the same format and bytes the
    // tokio-postgres connection sends.
    let formats = encoded.iter().map(|e| match e.encode_format(&Type::TEXT) {
        Format::Text => 0_i16,
        Format::Binary => 1,
    });
    frontend::bind(
        "",
        name,
        formats,
        encoded,
        |value, out| {
            let is_null = value.to_sql(&Type::TEXT, out)?;
            Ok(match is_null {
                IsNull::Yes => postgres_protocol::IsNull::Yes,
                IsNull::No => postgres_protocol::IsNull::No,
            })
        },
        result_formats,
        &mut wire.out,
    )
    .map_err(|_| Error::config("a parameter could not be written to the Bind message"))
}

/// How the rows of a pipeline's statements are to be read.
#[derive(Clone, Copy)]
pub(crate) enum Shapes<'a> {
    /// By each statement's prepared description.
    Prepared(&'a [Arc<Prepared>]),
    /// By the description each of this many unnamed statements' portals sends first.
    Described(usize),
}

impl Shapes<'_> {
    fn len(self) -> usize {
        match self {
            Self::Prepared(statements) => statements.len(),
            Self::Described(n) => n,
        }
    }
}

/// Sends what is queued and reads the answers of `statements` (in the order queued, their
/// rows when `want_rows`), up to the last of the `owed` ReadyForQuery. They were sent
/// under one Sync, or with `sync_each` each under its own: after a failure the server
/// skips the rest of the failed statement's pipeline.
pub(crate) async fn exchange(
    wire: &mut Wire,
    statements: Shapes<'_>,
    want_rows: bool,
    sync_each: bool,
) -> Result<Vec<Answer>> {
    wire.flush().await?;
    let count = statements.len();
    let mut answers: Vec<Answer> = Vec::with_capacity(count);
    let mut rows: Vec<Row> = Vec::new();
    // The description of the unnamed statement being answered.
    let mut described: Option<Prepared> = None;
    // The pipeline being answered, and whether statement `i` belongs to it.
    let mut group = 0;
    let in_group =
        |i: usize, group: usize| i < count && if sync_each { i == group } else { group == 0 };
    while wire.owed > 0 {
        let message = match wire.next().await {
            Ok(message) => message,
            // A server (or pooler) that ends the session says why first.
            Err(lost) => {
                let fatal = answers
                    .iter()
                    .rposition(|a| matches!(a, Answer::Failed(e) if e.is_fatal()));
                return Err(match fatal.map(|i| answers.swap_remove(i)) {
                    Some(Answer::Failed(e)) => e.or_lost(lost),
                    _ => lost,
                });
            }
        };
        match message {
            Message::RowDescription(body) if want_rows => {
                described = Some(Prepared::described(wire, &body)?);
            }
            Message::DataRow(body) if want_rows => {
                let statement = match statements {
                    Shapes::Prepared(prepared) => prepared.get(answers.len()).map(AsRef::as_ref),
                    Shapes::Described(_) => described.as_ref(),
                };
                if let Some(statement) = statement {
                    rows.push(row(statement, &body)?);
                }
            }
            Message::CommandComplete(body) => {
                let tag = Tag::parse(body.tag().map_err(|e| wire.lost(&e.to_string()))?);
                answers.push(Answer::Done {
                    rows: std::mem::take(&mut rows),
                    tag,
                });
            }
            Message::CopyInResponse(_) => refuse_copy_in(wire, true).await?,
            Message::EmptyQueryResponse => answers.push(Answer::Done {
                rows: Vec::new(),
                tag: Tag::default(),
            }),
            Message::ErrorResponse(body) => {
                rows.clear();
                answers.push(Answer::Failed(ServerError::parse(&body)));
                while in_group(answers.len(), group) {
                    answers.push(Answer::Skipped);
                }
            }
            Message::ReadyForQuery(_) => {
                // A pipeline ended: anything of it not answered was skipped.
                while in_group(answers.len(), group) {
                    answers.push(Answer::Skipped);
                }
                group += 1;
            }
            _ => {}
        }
    }
    if answers.len() != count {
        return Err(wire.lost("the server answered a different number of statements"));
    }
    Ok(answers)
}

/// Answers a CopyInResponse (a `COPY … FROM STDIN` run as a statement) with CopyFail, so
/// the server fails the statement instead of waiting for data that will never come. In
/// the extended protocol (`extended`) the server ignored the Sync sent with the statement
/// while it was in copy mode, and skips everything after the failure until a Sync: one
/// more Sync, answered by the one ReadyForQuery already counted.
pub(crate) async fn refuse_copy_in(wire: &mut Wire, extended: bool) -> Result<()> {
    frontend::copy_fail(
        "txkit does not send COPY data; use PgConnection::client with driver=tokio-postgres",
        &mut wire.out,
    )
    .map_err(|e| Error::config(format!("CopyFail cannot be sent: {e}")))?;
    if extended {
        frontend::sync(&mut wire.out);
    }
    wire.flush().await
}

/// One DataRow as a txkit row.
fn row(statement: &Prepared, body: &DataRowBody) -> Result<Row> {
    let buffer = body.buffer();
    let mut values = Vec::with_capacity(statement.columns.len());
    let mut ranges = body.ranges();
    let mut i = 0;
    while let Some(range) = fallible_iterator::FallibleIterator::next(&mut ranges)
        .map_err(|e| Error::connection_lost(format!("an unreadable row: {e}")))?
    {
        let value = match (range, statement.columns.get(i)) {
            (None, _) => Value::Null,
            (Some(r), Some(Some(ty))) => decode::value(ty, &buffer[r]).map_err(|why| {
                Error::config(format!(
                    "column {:?} of type {}: {why}",
                    statement.names.get(i).map_or("?", String::as_str),
                    ty.name()
                ))
            })?,
            (Some(_), Some(None)) if statement.formats.get(i) == Some(&1) => {
                return Err(Error::config(format!(
                    "column {:?} is of a type txkit does not know (an enum, a domain, an \
                     extension's type), which it cannot read behind a connection pooler: cast \
                     it to text in the query (for example `SELECT col::text`)",
                    statement.names.get(i).map_or("?", String::as_str),
                )));
            }
            (Some(r), _) => Value::Text(String::from_utf8_lossy(&buffer[r]).into_owned()),
        };
        values.push(value);
        i += 1;
    }
    Ok(Row::new(Arc::clone(&statement.names), values))
}

#[cfg(test)]
mod tests {
    use super::Tag;

    #[test]
    fn a_tag_counts_the_digits_after_its_last_space() {
        let count = |tag| Tag::parse(tag).count;
        assert_eq!(count("INSERT 0 1"), 1);
        assert_eq!(count("UPDATE 3"), 3);
        assert_eq!(count("SELECT 1234567"), 1_234_567);
        assert_eq!(count("DELETE 0"), 0);
        // No count, or none that fits: 0.
        assert_eq!(count("BEGIN"), 0);
        assert_eq!(count("SELECT "), 0);
        assert_eq!(count("SELECT 18446744073709551616"), 0);
        assert_eq!(count("SELECT 18446744073709551615"), u64::MAX);
        assert_eq!(count("SELECT 1x"), 0);
    }

    #[test]
    fn only_rollback_reads_as_rolled_back() {
        assert!(Tag::parse("ROLLBACK").rolled_back);
        assert!(!Tag::parse("COMMIT").rolled_back);
        assert!(!Tag::parse("ROLLBACK 1").rolled_back);
    }
}
