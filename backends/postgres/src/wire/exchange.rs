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
    pub(crate) fn parse(tag: &str) -> Self {
        Self {
            count: tag
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            rolled_back: tag == "ROLLBACK",
        }
    }
}

/// Queues Bind and Execute of `statement` with its parameters, already encoded for its
/// parameter types (encode every statement of a pipeline before queueing any, so that a
/// bad value sends nothing).
pub(crate) fn bind(wire: &mut Wire, statement: &Prepared, encoded: &[Encoded<'_>]) -> Result<()> {
    // `Encoded`'s own ToSql answers (it ignores the type): the same format and bytes the
    // tokio-postgres connection sends.
    let formats = encoded.iter().map(|e| match e.encode_format(&Type::TEXT) {
        Format::Text => 0_i16,
        Format::Binary => 1,
    });
    frontend::bind(
        "",
        &statement.name,
        formats,
        encoded,
        |value, out| {
            let is_null = value.to_sql(&Type::TEXT, out)?;
            Ok(match is_null {
                IsNull::Yes => postgres_protocol::IsNull::Yes,
                IsNull::No => postgres_protocol::IsNull::No,
            })
        },
        statement.formats.iter().copied(),
        &mut wire.out,
    )
    .map_err(|_| Error::config("a parameter could not be written to the Bind message"))?;
    frontend::execute("", 0, &mut wire.out)
        .map_err(|e| Error::config(format!("the statement cannot be sent: {e}")))?;
    Ok(())
}

/// Sends what is queued and reads the answers of `statements` (in the order queued; the
/// `bool` says whether its rows are wanted), up to the last of the `owed` ReadyForQuery.
/// `groups[i]` is the Sync that ends statement `i`'s pipeline: after a failure the server
/// skips the rest of that pipeline.
pub(crate) async fn exchange(
    wire: &mut Wire,
    statements: &[(&Prepared, bool)],
    groups: &[usize],
) -> Result<Vec<Answer>> {
    wire.flush().await?;
    let mut answers: Vec<Answer> = Vec::with_capacity(statements.len());
    let mut rows: Vec<Row> = Vec::new();
    let mut group = 0;
    while wire.owed > 0 {
        match wire.next().await? {
            Message::DataRow(body) => {
                if let Some((statement, true)) = statements.get(answers.len()) {
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
                while answers.len() < statements.len() && groups.get(answers.len()) == Some(&group)
                {
                    answers.push(Answer::Skipped);
                }
            }
            Message::ReadyForQuery(_) => {
                // A pipeline ended: anything of it not answered was skipped.
                while answers.len() < statements.len() && groups.get(answers.len()) == Some(&group)
                {
                    answers.push(Answer::Skipped);
                }
                group += 1;
            }
            _ => {}
        }
    }
    if answers.len() != statements.len() {
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
            (Some(r), _) => Value::Text(String::from_utf8_lossy(&buffer[r]).into_owned()),
        };
        values.push(value);
        i += 1;
    }
    Ok(Row::new(Arc::clone(&statement.names), values))
}
