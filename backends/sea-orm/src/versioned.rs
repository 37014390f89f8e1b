//! Optimistic locking for sea-orm entities: a version column that every update checks and
//! advances (what SQLAlchemy's `version_id_col` does, and sea-orm lacks — SeaQL/sea-orm#804).

use std::future::Future;

use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityName, EntityTrait,
    IdenStatic, IntoActiveModel, QueryFilter, Value,
};

/// An entity with a version column: one line per entity.
///
/// ```ignore
/// impl txkit_sea_orm::VersionedEntity for accounts::Entity {
///     fn version_column() -> accounts::Column {
///         accounts::Column::Version
///     }
/// }
/// ```
///
/// The column holds an integer (any width, signed or not) that starts at any value; each
/// versioned update writes the next one.
pub trait VersionedEntity: EntityTrait {
    /// The version column.
    fn version_column() -> Self::Column;
}

/// `model.update_versioned(&db)` on an ActiveModel of a [`VersionedEntity`].
pub trait VersionedUpdate: ActiveModelTrait + Sized + Send {
    /// Updates the row as `model.update(db)` would, and only if its version is still the
    /// one this model was read with; the version is advanced by one in the same statement
    /// (`UPDATE … SET …, version = v + 1 WHERE pk = … AND version = v`). Returns the
    /// updated model.
    ///
    /// When the row moved on (another transaction updated it since it was read) or is gone,
    /// nothing is written and the error is `DbErr::RecordNotUpdated`, which txkit classifies
    /// as [`ErrorKind::StaleData`](txkit_core::ErrorKind::StaleData): retryable, so a
    /// `#[retry_on_deadlock]` unit of work that re-reads the row and tries again succeeds.
    ///
    /// The version must have been read (the model came from the database, or the version is
    /// `Set` to the value read); a model without it is refused with `DbErr::AttrNotSet`.
    fn update_versioned<C>(
        self,
        db: &C,
    ) -> impl Future<Output = Result<<Self::Entity as EntityTrait>::Model, DbErr>> + Send
    where
        C: ConnectionTrait,
        Self::Entity: VersionedEntity,
        <Self::Entity as EntityTrait>::Model: IntoActiveModel<Self>;
}

impl<A> VersionedUpdate for A
where
    A: ActiveModelTrait + Sized + Send,
{
    async fn update_versioned<C>(
        mut self,
        db: &C,
    ) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
    where
        C: ConnectionTrait,
        A::Entity: VersionedEntity,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        let column = <A::Entity as VersionedEntity>::version_column();
        let read = match self.get(column) {
            ActiveValue::Set(v) | ActiveValue::Unchanged(v) => v,
            ActiveValue::NotSet => {
                return Err(DbErr::AttrNotSet(format!(
                    "{} (the version column: a versioned update needs the version the row \
                     was read with)",
                    column.as_str()
                )));
            }
        };
        let next = next_version(&read).ok_or_else(|| {
            DbErr::Type(format!(
                "the version column {} holds {read:?}; a version must be a non-null integer \
                 below its type's maximum",
                column.as_str()
            ))
        })?;
        self.set(column, next);
        let updated = A::Entity::update(self)
            .validate()?
            .filter(column.eq(read.clone()))
            .exec(db)
            .await;
        if matches!(updated, Err(DbErr::RecordNotUpdated)) {
            tracing::debug!(
                table = %<A::Entity as Default>::default().table_name(),
                expected_version = ?read,
                "versioned update matched no row: stale data"
            );
        }
        updated
    }
}

/// The version after `v`, of the same integer type; `None` for a null, a non-integer or
/// the type's maximum.
pub(crate) fn next_version(v: &Value) -> Option<Value> {
    Some(match v {
        Value::TinyInt(Some(n)) => Value::TinyInt(Some(n.checked_add(1)?)),
        Value::SmallInt(Some(n)) => Value::SmallInt(Some(n.checked_add(1)?)),
        Value::Int(Some(n)) => Value::Int(Some(n.checked_add(1)?)),
        Value::BigInt(Some(n)) => Value::BigInt(Some(n.checked_add(1)?)),
        Value::TinyUnsigned(Some(n)) => Value::TinyUnsigned(Some(n.checked_add(1)?)),
        Value::SmallUnsigned(Some(n)) => Value::SmallUnsigned(Some(n.checked_add(1)?)),
        Value::Unsigned(Some(n)) => Value::Unsigned(Some(n.checked_add(1)?)),
        Value::BigUnsigned(Some(n)) => Value::BigUnsigned(Some(n.checked_add(1)?)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_advance_within_their_type() {
        assert_eq!(
            next_version(&Value::BigInt(Some(7))),
            Some(Value::BigInt(Some(8)))
        );
        assert_eq!(
            next_version(&Value::Int(Some(-1))),
            Some(Value::Int(Some(0)))
        );
        assert_eq!(
            next_version(&Value::SmallUnsigned(Some(1))),
            Some(Value::SmallUnsigned(Some(2)))
        );
        assert_eq!(next_version(&Value::TinyInt(Some(i8::MAX))), None);
        assert_eq!(next_version(&Value::BigInt(None)), None);
        assert_eq!(next_version(&Value::String(Some("1".into()))), None);
    }
}
