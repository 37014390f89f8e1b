//! The flush's UPDATE statements, rendered once per shape for the whole process: a flush
//! of one changed column renders the same text every time, and rendering it (sea-query,
//! quoting every identifier) cost more than binding and running it on SQLite.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::dialect::SqlFlavor;

/// The most shapes kept; past it new shapes are rendered each time (a program would need
/// thousands of distinct column sets per entity to get there).
const LIMIT: usize = 4096;

/// What an UPDATE's text depends on: the entity type (its table and columns), the SQL
/// flavor, the columns set (each with whether it is set to NULL), whether the version is
/// compared with `IS NULL`, and the rows it addresses (1, or a batch's padded count).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    pub(crate) entity: TypeId,
    pub(crate) flavor: SqlFlavor,
    pub(crate) sets: Vec<(usize, bool)>,
    pub(crate) version_null: bool,
    pub(crate) rows: usize,
}

fn texts() -> &'static Mutex<HashMap<Shape, Arc<str>>> {
    static TEXTS: OnceLock<Mutex<HashMap<Shape, Arc<str>>>> = OnceLock::new();
    TEXTS.get_or_init(Mutex::default)
}

/// The text rendered earlier for `shape`, if any.
pub(crate) fn get(shape: &Shape) -> Option<Arc<str>> {
    let texts = texts().lock().unwrap_or_else(PoisonError::into_inner);
    texts.get(shape).cloned()
}

/// Keeps `text` for `shape` (after the flush checked its parameters against it).
pub(crate) fn put(shape: Shape, text: Arc<str>) {
    let mut texts = texts().lock().unwrap_or_else(PoisonError::into_inner);
    if texts.len() < LIMIT {
        texts.insert(shape, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_is_found_again_and_another_is_not() {
        struct Probe;
        let shape = |sets: Vec<(usize, bool)>| Shape {
            entity: TypeId::of::<Probe>(),
            flavor: SqlFlavor::Sqlite,
            sets,
            version_null: false,
            rows: 1,
        };
        put(shape(vec![(1, false)]), Arc::from("UPDATE one"));
        assert_eq!(get(&shape(vec![(1, false)])).as_deref(), Some("UPDATE one"));
        assert_eq!(get(&shape(vec![(1, true)])), None);
        assert_eq!(get(&shape(vec![(2, false)])), None);
    }
}
