//! Rows returned by a query, read by column name or position.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// One result row: the column names (shared by every row of a result) and the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row of `values` under `columns` (backends build rows with this).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    /// The row's values, taken out of it (the list's memory, reused by the session).
    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Reads a column by name (`row.get::<i64>("balance")`) or index (`row.get::<i64>(0)`).
    pub fn get<T: FromValue>(&self, index: impl RowIndex) -> Result<T> {
        let i = index.position(self)?;
        T::from_value(&self.values[i], &self.columns[i])
    }

    /// The raw value at a column.
    pub fn value(&self, index: impl RowIndex) -> Result<&Value> {
        let i = index.position(self)?;
        Ok(&self.values[i])
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A way to name a column of a [`Row`]: its name (`&str`) or its position (`usize`).
pub trait RowIndex {
    /// The position of the column in `row`, or an error naming the columns there are.
    fn position(&self, row: &Row) -> Result<usize>;
}

impl RowIndex for usize {
    fn position(&self, row: &Row) -> Result<usize> {
        if *self < row.values.len() {
            Ok(*self)
        } else {
            Err(Error::config(format!(
                "column index {self} is out of range: the row has {} columns",
                row.values.len()
            )))
        }
    }
}

impl RowIndex for &str {
    fn position(&self, row: &Row) -> Result<usize> {
        row.columns
            .iter()
            .position(|c| c == self)
            .or_else(|| {
                row.columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(self))
            })
            .ok_or_else(|| {
                Error::config(format!(
                    "no column named {self:?}; the row has: {}",
                    row.columns.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_by_name_and_index() {
        let row = Row::new(
            Arc::from(vec!["id".to_owned(), "name".to_owned()]),
            vec![Value::Int(7), Value::Text("alice".into())],
        );
        assert_eq!(row.get::<i64>("id").expect("id"), 7);
        assert_eq!(row.get::<String>(1).expect("name"), "alice");
        assert_eq!(row.get::<i64>("ID").expect("case"), 7);
        assert!(
            row.get::<i64>("nope")
                .expect_err("missing")
                .to_string()
                .contains("id, name")
        );
        assert!(row.get::<i64>(5).is_err());
    }
}
