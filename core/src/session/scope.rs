//! What a [`Session`] and a [`NestedSession`] do alike: take entities into the unit of
//! work and lend out the objects it holds. One macro writes these methods for both, so a
//! nested scope offers everything its session does for its own pending work.

use std::marker::PhantomData;

use super::Session;
use super::identity::{Handle, IdentityMap};
use super::nested::NestedSession;
use super::pending::{BorrowedDelete, BorrowedInsert, BorrowedUpdate, OwnedInsert};
use crate::connection::Connection;
use crate::entity::{Entity, Filter, IntoKey, read};
use crate::error::{Error, Result};
use crate::value::Value;

/// The shared methods of a unit-of-work scope. The type must have `objects()` (the
/// session's identity map), a `pending` field, and `query` / `flush` methods; `$b` is how
/// long entities lent with the `_borrowed` methods are borrowed.
macro_rules! scope_methods {
    ($(impl<$($lt:lifetime),*> $scope:ty, lends $b:lifetime;)*) => {$(
        impl<$($lt,)* C: Connection> $scope {
            /// Gives `entity` to the session: it is INSERTed at the next flush (of this
            /// scope), and its generated key (and first version) are stored into it then.
            /// The handle finds it again ([`entity`](Self::entity)); once flushed it is
            /// also found by its key. Gone again if the scope rolls back.
            pub fn add<E: Entity>(&mut self, entity: E) -> Handle<E> {
                let handle = self.objects().add(entity);
                self.pending.push(OwnedInsert::<E> {
                    slot: handle.slot(),
                    _entity: PhantomData,
                });
                handle
            }

            /// [`add`](Self::add) for each entity, in order.
            pub fn add_all<E: Entity>(
                &mut self,
                entities: impl IntoIterator<Item = E>,
            ) -> Vec<Handle<E>> {
                entities.into_iter().map(|e| self.add(e)).collect()
            }

            /// An object of the session, by the handle [`add`](Self::add) gave; `None`
            /// once it was deleted or expunged.
            pub fn entity<E: Entity>(&mut self, handle: Handle<E>) -> Option<&mut E> {
                self.objects().handle_mut(handle)
            }

            /// INSERTs a borrowed entity at the next flush, storing its generated key (and
            /// first version) into it; the entity stays the caller's. If the scope then
            /// rolls back (or is dropped), what the insert stored is put back: no key of a
            /// row that does not exist.
            pub fn add_borrowed<E: Entity>(&mut self, entity: &$b mut E) {
                self.pending.push(BorrowedInsert {
                    entity,
                    before: None,
                });
            }

            /// [`add_borrowed`](Self::add_borrowed) for each entity, in order.
            pub fn add_all_borrowed<E: Entity>(
                &mut self,
                entities: impl IntoIterator<Item = &$b mut E>,
            ) {
                for entity in entities {
                    self.add_borrowed(entity);
                }
            }

            /// UPDATEs a borrowed entity's row — every column, from an entity read
            /// elsewhere (an earlier request, another session) — at the next flush; a
            /// versioned entity is checked against its version (StaleData if the row moved
            /// on) and gets the new one (put back if the scope does not commit). Objects
            /// the session loaded need no call: their changes are written at flush.
            pub fn update_borrowed<E: Entity>(&mut self, entity: &$b mut E) {
                self.pending.push(BorrowedUpdate {
                    entity,
                    before: None,
                });
            }

            /// DELETEs a borrowed entity's row at the next flush (version-checked when
            /// versioned).
            pub fn delete_borrowed<E: Entity>(&mut self, entity: &$b E) {
                self.pending.push(BorrowedDelete(entity));
            }

            /// The object of `E` with primary key `key`: the one the session holds (no
            /// SQL), or the row read now (after a flush, so pending work is seen), added
            /// to the identity map. `None` when there is no such row, or the session
            /// deleted it.
            pub async fn get<E: Entity>(&mut self, key: impl IntoKey) -> Result<Option<&mut E>> {
                let key = key.into_key();
                if let Some(slot) = self.objects().find::<E>(&key) {
                    return Ok(self.objects().get_mut(slot));
                }
                // The query flushes first; an object added with this key is inserted
                // then, and the row read back is that object.
                self.query::<E>()
                    .filter(read::key_filter::<E>(key)?)
                    .one_or_none()
                    .await
            }

            /// The objects of `E` with primary keys `keys`, in that order (`None` where
            /// there is no such row): those the session holds without SQL, the rest with
            /// one SELECT. For a unit of work that changes several rows at once — one
            /// `get` lends one object at a time — and the same key twice is a Usage error
            /// (one object cannot be lent twice).
            ///
            /// ```
            /// # async fn demo<A: txkit_core::Entity>(s: &mut txkit_core::Session<'_>, change: impl Fn(&mut A, &mut A)) -> txkit_core::Result<()> {
            /// if let [Some(from), Some(to)] = s.get_many::<A, _>([1, 2]).await?.as_mut_slice() {
            ///     change(from, to);
            /// }
            /// # Ok(()) }
            /// ```
            pub async fn get_many<E: Entity, K: IntoKey>(
                &mut self,
                keys: impl IntoIterator<Item = K>,
            ) -> Result<Vec<Option<&mut E>>> {
                let keys: Vec<Vec<Value>> = keys.into_iter().map(IntoKey::into_key).collect();
                if keys.iter().any(|k| self.objects().find::<E>(k).is_none()) {
                    self.flush().await?;
                    let map = self.objects();
                    let missing: Vec<Filter> = keys
                        .iter()
                        .filter(|k| map.find::<E>(k).is_none())
                        .map(|k| read::key_filter::<E>(k.clone()))
                        .collect::<Result<_>>()?;
                    if let Some(any) = missing.into_iter().reduce(Filter::or) {
                        self.query::<E>().filter(any).all().await?;
                    }
                }
                lend_many(self.objects(), &keys)
            }
        }
    )*};
}

scope_methods! {
    impl<'a> Session<'a, C>, lends 'a;
    impl<'s, 'b> NestedSession<'s, 'b, C>, lends 'b;
}

/// The objects of `E` with keys `keys`, in that order, from the identity map (`None` where
/// it holds none): one mutable borrow for all, refused when a key comes twice.
fn lend_many<'m, E: Entity>(
    map: &'m mut IdentityMap,
    keys: &[Vec<Value>],
) -> Result<Vec<Option<&'m mut E>>> {
    let slots: Vec<Option<usize>> = keys.iter().map(|k| map.find_live::<E>(k)).collect();
    let found: Vec<usize> = slots.iter().flatten().copied().collect();
    if found.len() > 1 {
        let mut sorted = found.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != found.len() {
            return Err(Error::usage(format!(
                "get_many() was given one key of {} twice; one object cannot be lent out \
                 twice",
                E::TABLE
            )));
        }
    }
    let mut objects = map.many_mut::<E>(&found)?.into_iter();
    Ok(slots
        .iter()
        .map(|slot| slot.and_then(|_| objects.next()))
        .collect())
}
