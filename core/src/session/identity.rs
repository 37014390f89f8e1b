//! The session's identity map: every entity the session loaded or was given, owned by it,
//! one object per (entity type, primary key), each with the column values its row holds in
//! the database as last read or written — what a flush compares against to find changes.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::entity::key::key_text;
use crate::entity::{ColumnDef, Entity};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::Value;

/// What a flush needs of an entity, without its type.
pub(crate) trait Tracked: Send + Sync + 'static {
    fn table(&self) -> &'static str;
    fn columns(&self) -> &'static [ColumnDef];
    fn values(&self) -> Vec<Value>;
    fn write_values(&self, out: &mut Vec<Value>);
    fn next_version(&self) -> Option<Value>;
    fn set_version(&mut self, value: Value) -> Result<()>;
    /// Replaces the object with the one `values` (in column order) decode to.
    fn reload(&mut self, values: Vec<Value>) -> Result<()>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<E: Entity> Tracked for E {
    fn table(&self) -> &'static str {
        E::TABLE
    }
    fn columns(&self) -> &'static [ColumnDef] {
        E::COLUMNS
    }
    fn values(&self) -> Vec<Value> {
        Entity::values(self)
    }
    fn write_values(&self, out: &mut Vec<Value>) {
        Entity::write_values(self, out);
    }
    fn next_version(&self) -> Option<Value> {
        Entity::next_version(self)
    }
    fn set_version(&mut self, value: Value) -> Result<()> {
        Entity::set_version(self, value)
    }
    fn reload(&mut self, values: Vec<Value>) -> Result<()> {
        let names: Arc<[String]> = E::COLUMNS.iter().map(|c| c.name.to_owned()).collect();
        *self = E::from_row(&Row::new(names, values))?;
        Ok(())
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Where an entry stands with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Added to the session; INSERTed at the next flush.
    New,
    /// Its row exists (loaded, or inserted by a flush).
    Persistent,
    /// Marked for deletion; DELETEd at the next flush.
    Deleted,
    /// Its row was deleted by a flush of this session.
    Gone,
}

/// One object of the map.
pub(crate) struct Entry {
    pub(crate) object: Box<dyn Tracked>,
    pub(crate) status: Status,
    /// The values of the row in the database (as last read or written); empty while New.
    pub(crate) snapshot: Vec<Value>,
    /// When the entry was made (the map's serial then): a nested rollback removes the
    /// entries made inside the nested scope.
    serial: u64,
    /// The entity type.
    pub(crate) type_id: TypeId,
}

/// A place in the map: an object added with [`Session::add`](super::Session::add), found
/// again with [`Session::entity`](super::Session::entity) (its generated key is set once it
/// has been flushed).
pub struct Handle<E> {
    slot: usize,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Handle<E> {
    pub(crate) fn slot(self) -> usize {
        self.slot
    }
}

impl<E> Clone for Handle<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Handle<E> {}

impl<E> fmt::Debug for Handle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handle").field(&self.slot).finish()
    }
}

/// The state of the map when a nested scope began, to return to if it rolls back.
pub(crate) struct Mark {
    serial: u64,
    saved: Vec<(usize, Status, Vec<Value>)>,
}

/// The identity map.
#[derive(Default)]
pub(crate) struct IdentityMap {
    slots: Vec<Option<Entry>>,
    /// Each loaded or flushed object's slot by (entity type, primary key). Hashed with
    /// foldhash: a session hashes every row it loads, and SipHash showed in its profile.
    keys: HashMap<(TypeId, MapKey), usize, foldhash::fast::RandomState>,
    serial: u64,
}

/// A primary key as the map holds it: a single integer column (the usual key) as it is,
/// any other key as its text, so a lookup by the usual key allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum MapKey {
    /// A one-column integer key.
    Int(i64),
    /// Any other key, as [`key_text`] writes it.
    Text(String),
}

impl MapKey {
    /// The map's key for primary-key values in key-column order.
    fn of(key: &[Value]) -> Self {
        match key {
            [Value::Int(i)] => Self::Int(*i),
            other => Self::Text(key_text(other)),
        }
    }
}

/// Adds an entry to `slots` under the next serial; returns its slot.
fn push(
    slots: &mut Vec<Option<Entry>>,
    serial: &mut u64,
    object: Box<dyn Tracked>,
    type_id: TypeId,
    status: Status,
    snapshot: Vec<Value>,
) -> usize {
    *serial += 1;
    slots.push(Some(Entry {
        object,
        status,
        snapshot,
        serial: *serial,
        type_id,
    }));
    slots.len() - 1
}

/// The primary key of a row given in column order, as the map's key.
pub(crate) fn key_of(columns: &[ColumnDef], values: &[Value]) -> MapKey {
    let mut key = columns
        .iter()
        .zip(values)
        .filter(|(c, _)| c.primary_key)
        .map(|(_, v)| v);
    match (key.next(), key.next()) {
        (Some(one), None) => MapKey::of(std::slice::from_ref(one)),
        _ => MapKey::of(&key_values(columns, values)),
    }
}

/// The primary-key values of a row given in column order.
fn key_values(columns: &[ColumnDef], values: &[Value]) -> Vec<Value> {
    columns
        .iter()
        .zip(values)
        .filter(|(c, _)| c.primary_key)
        .map(|(_, v)| v.clone())
        .collect()
}

impl IdentityMap {
    /// How many objects the map holds (deleted ones included until the session ends).
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether the map holds no object.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    pub(crate) fn entry(&self, slot: usize) -> Option<&Entry> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    pub(crate) fn entry_mut(&mut self, slot: usize) -> Option<&mut Entry> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    /// The slots in use, in the order their entries were made.
    pub(crate) fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|_| i))
    }

    /// Adds an entry; `snapshot` is what its row holds (empty while it is New).
    fn push(
        &mut self,
        object: Box<dyn Tracked>,
        type_id: TypeId,
        status: Status,
        snapshot: Vec<Value>,
    ) -> usize {
        push(
            &mut self.slots,
            &mut self.serial,
            object,
            type_id,
            status,
            snapshot,
        )
    }

    /// Records the key of the entry in `slot` (after its row was read or inserted).
    pub(crate) fn index(&mut self, slot: usize) {
        if let Some(entry) = self.entry(slot) {
            let key = key_of(entry.object.columns(), &entry.snapshot);
            self.keys.insert((entry.type_id, key), slot);
        }
    }

    /// The object in `slot` was inserted: its row now holds what it holds.
    pub(crate) fn persisted(&mut self, slot: usize) {
        if let Some(entry) = self.entry_mut(slot) {
            entry.status = Status::Persistent;
            entry.snapshot = entry.object.values();
            self.index(slot);
        }
    }

    /// The slot holding `E`'s object with primary key `key` (values in key-column order).
    pub(crate) fn find<E: Entity>(&self, key: &[Value]) -> Option<usize> {
        self.keys
            .get(&(TypeId::of::<E>(), MapKey::of(key)))
            .copied()
            .filter(|slot| self.entry(*slot).is_some())
    }

    /// Like [`find`](Self::find), but not for an object that is deleted or gone.
    pub(crate) fn find_live<E: Entity>(&self, key: &[Value]) -> Option<usize> {
        self.find::<E>(key).filter(|slot| {
            self.entry(*slot)
                .is_some_and(|e| matches!(e.status, Status::New | Status::Persistent))
        })
    }

    /// Makes room for `more` objects (the rows of a query about to be loaded).
    pub(crate) fn reserve(&mut self, more: usize) {
        self.slots.reserve(more);
        self.keys.reserve(more);
    }

    /// Adds a new object, to be INSERTed at the next flush.
    pub(crate) fn add<E: Entity>(&mut self, entity: E) -> Handle<E> {
        Handle {
            slot: self.push(Box::new(entity), TypeId::of::<E>(), Status::New, Vec::new()),
            _entity: PhantomData,
        }
    }

    /// The slot of a row just read: the object already in the map for its key (left as it
    /// is, unflushed changes included, as SQLAlchemy does), or a new one decoded from it.
    pub(crate) fn load<E: Entity>(&mut self, row: Row) -> Result<usize> {
        let entity = E::from_row(&row)?;
        // The row's own list becomes the snapshot: one allocation fewer per row.
        let mut values = row.into_values();
        values.clear();
        entity.write_values(&mut values);
        let key = (TypeId::of::<E>(), key_of(E::COLUMNS, &values));
        let (slots, serial) = (&mut self.slots, &mut self.serial);
        match self.keys.entry(key) {
            MapEntry::Occupied(known)
                if slots
                    .get(*known.get())
                    .and_then(Option::as_ref)
                    .is_some_and(|entry| entry.status != Status::Gone) =>
            {
                Ok(*known.get())
            }
            entry => {
                let (object, status) = (Box::new(entity), Status::Persistent);
                let slot = push(slots, serial, object, TypeId::of::<E>(), status, values);
                entry.insert_entry(slot);
                Ok(slot)
            }
        }
    }

    /// Replaces the object in `slot` with the row just read, discarding its unflushed
    /// changes.
    pub(crate) fn overwrite(&mut self, slot: usize, row: &Row) -> Result<()> {
        if let Some(entry) = self.entry_mut(slot) {
            let names = entry.object.columns();
            let values = names
                .iter()
                .map(|c| row.value(c.name).cloned())
                .collect::<Result<Vec<_>>>()?;
            entry.object.reload(values)?;
            entry.snapshot = entry.object.values();
            entry.status = Status::Persistent;
        }
        Ok(())
    }

    /// `E`'s object in `slot`, unless it is deleted or gone.
    pub(crate) fn get_mut<E: Entity>(&mut self, slot: usize) -> Option<&mut E> {
        let entry = self.entry_mut(slot)?;
        if matches!(entry.status, Status::Deleted | Status::Gone) {
            return None;
        }
        entry.object.as_any_mut().downcast_mut::<E>()
    }

    /// `E`'s object behind `handle`, unless it was deleted or expunged.
    pub(crate) fn handle_mut<E: Entity>(&mut self, handle: Handle<E>) -> Option<&mut E> {
        self.get_mut(handle.slot)
    }

    /// The objects in `slots`, in that order; one slot twice (two rows with one key) is an
    /// error, since one object cannot be lent out twice.
    pub(crate) fn many_mut<E: Entity>(&mut self, slots: &[usize]) -> Result<Vec<&mut E>> {
        // Each slot's place in the answer (usize::MAX: not asked for).
        let mut wanted = vec![usize::MAX; self.slots.len()];
        for (position, slot) in slots.iter().enumerate() {
            match wanted.get_mut(*slot) {
                Some(place) if *place == usize::MAX => *place = position,
                Some(_) => {
                    return Err(Error::new(
                        crate::ErrorKind::Database,
                        format!(
                            "a query returned two rows of {} with one primary key; is it \
                             declared as the table's primary key?",
                            std::any::type_name::<E>()
                        ),
                    ));
                }
                None => return Err(Error::internal("an identity-map slot vanished")),
            }
        }
        let mut out: Vec<Option<&mut E>> =
            std::iter::repeat_with(|| None).take(slots.len()).collect();
        for (entry, position) in self.slots.iter_mut().zip(wanted) {
            if let (Some(entry), Some(place)) = (entry.as_mut(), out.get_mut(position)) {
                *place = entry.object.as_any_mut().downcast_mut::<E>();
            }
        }
        out.into_iter()
            .map(|o| o.ok_or_else(|| Error::internal("an identity-map slot vanished")))
            .collect()
    }

    /// Takes the object in `slot` out of the map.
    pub(crate) fn take<E: Entity>(&mut self, slot: usize) -> Option<E> {
        let entry = self.slots.get_mut(slot)?.take()?;
        let key = key_of(entry.object.columns(), &entry.snapshot);
        if self.keys.get(&(entry.type_id, key.clone())) == Some(&slot) {
            self.keys.remove(&(entry.type_id, key));
        }
        entry.object.into_any().downcast::<E>().ok().map(|b| *b)
    }

    /// The state to return to if a nested scope rolls back. Taken right after a flush, so
    /// every object then equals its snapshot.
    pub(crate) fn mark(&self) -> Mark {
        let saved = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e.status, e.snapshot.clone())))
            .collect();
        Mark {
            serial: self.serial,
            saved,
        }
    }

    /// Returns to `mark`: objects made since are removed (their rows, if flushed, were
    /// rolled back with the savepoint), the others get back the values and status they had.
    pub(crate) fn restore(&mut self, mark: Mark) -> Result<()> {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|e| e.serial > mark.serial) {
                *slot = None;
            }
        }
        let mut first_error = None;
        for (i, status, snapshot) in mark.saved {
            let Some(entry) = self.entry_mut(i) else {
                continue;
            };
            entry.status = status;
            if status != Status::New && entry.object.values() != snapshot {
                if let Err(e) = entry.object.reload(snapshot.clone()) {
                    first_error.get_or_insert(e);
                }
            }
            entry.snapshot = snapshot;
        }
        let slots = &self.slots;
        self.keys
            .retain(|_, slot| slots.get(*slot).is_some_and(Option::is_some));
        for i in 0..self.slots.len() {
            if self
                .entry(i)
                .is_some_and(|e| matches!(e.status, Status::Persistent | Status::Deleted))
            {
                self.index(i);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
