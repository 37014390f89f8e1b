//! Filters: WHERE conditions built from typed columns, combined with and / or / not.
//! Rendering (with every identifier quoted and every value bound) is done by the SQL
//! builders, which walk this tree.

use crate::value::Value;

/// A WHERE condition. Build one from a [`Column`](super::Column) and combine with
/// [`and`](Filter::and), [`or`](Filter::or) and [`not`](Filter::not).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `column <op> value`; `op` is one of `=`, `<>`, `<`, `<=`, `>`, `>=`.
    Compare {
        /// The column.
        column: &'static str,
        /// The operator.
        op: &'static str,
        /// The bound value.
        value: Value,
    },
    /// `column IN (values…)`.
    In {
        /// The column.
        column: &'static str,
        /// The bound values.
        values: Vec<Value>,
    },
    /// `column IS [NOT] NULL`.
    IsNull {
        /// The column.
        column: &'static str,
        /// `true` for IS NULL, `false` for IS NOT NULL.
        null: bool,
    },
    /// All of these.
    And(Vec<Filter>),
    /// Any of these.
    Or(Vec<Filter>),
    /// Not this.
    Not(Box<Filter>),
}

impl Filter {
    pub(crate) fn compare(column: &'static str, op: &'static str, value: Value) -> Self {
        Self::Compare { column, op, value }
    }

    pub(crate) fn in_list(column: &'static str, values: Vec<Value>) -> Self {
        Self::In { column, values }
    }

    pub(crate) fn is_null(column: &'static str, null: bool) -> Self {
        Self::IsNull { column, null }
    }

    /// Both this and `other`.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut all) => {
                all.push(other);
                Filter::And(all)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// This or `other`.
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut any) => {
                any.push(other);
                Filter::Or(any)
            }
            first => Filter::Or(vec![first, other]),
        }
    }

    /// Not this.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter::Not(Box::new(self))
    }
}
