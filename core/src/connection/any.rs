//! [`AnyConnection`]: a connection whose backend is chosen at run time (by URL scheme).
//!
//! It boxes a private object-safe twin of [`Connection`] whose methods box their futures.
//! The twin, its blanket implementation and `AnyConnection`'s implementation of
//! `Connection` are all written by one macro from one list of the trait's methods, so a
//! method added to the trait is forwarded by adding one line here.

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use super::{BoxFuture, Connection, ResetMode};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::isolation::TxOptions;
use crate::lock::TableLock;
use crate::row::Row;
use crate::value::Value;

/// A connection to a backend chosen at run time (by URL scheme).
pub struct AnyConnection(Box<dyn DynConnection>);

impl AnyConnection {
    /// Wraps a concrete connection.
    pub fn new(conn: impl Connection) -> Self {
        Self(Box::new(conn))
    }

    /// The concrete connection inside, when it is a `T`: for backend-specific extensions
    /// (such as running sea-orm code in a txkit transaction).
    pub fn downcast_ref<T: Connection>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }

    /// The concrete connection inside, mutably, when it is a `T`: for backend-specific
    /// calls such as `MySqlConnection::with_table_locks`. Calls made through it bypass
    /// txkit's transaction bookkeeping, so they must not leave a transaction open.
    pub fn downcast_mut<T: Connection>(&mut self) -> Option<&mut T> {
        self.0.as_any_mut().downcast_mut::<T>()
    }
}

impl std::fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AnyConnection")
            .field(&self.0.dialect().name())
            .finish()
    }
}

/// Writes the object-safe twin of [`Connection`] (same method names, boxed futures), its
/// implementation for every connection type, and [`AnyConnection`]'s implementation of
/// `Connection` that calls through the box.
macro_rules! forward_connection {
    (
        async { $( fn $name:ident( $( $arg:ident : $ty:ty ),* ) -> $out:ty; )* }
        sync { $( fn $sync:ident() -> $sout:ty; )* }
    ) => {
        /// [`Connection`] made object-safe.
        trait DynConnection: Send + 'static {
            $( fn $name<'a>(&'a mut self $(, $arg: $ty)*) -> BoxFuture<'a, $out>; )*
            $( fn $sync(&self) -> $sout; )*
            fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
            fn as_any(&self) -> &dyn Any;
            fn as_any_mut(&mut self) -> &mut dyn Any;
        }

        impl<C: Connection> DynConnection for C {
            $(
                fn $name<'a>(&'a mut self $(, $arg: $ty)*) -> BoxFuture<'a, $out> {
                    Box::pin(<C as Connection>::$name(self $(, $arg)*))
                }
            )*
            $( fn $sync(&self) -> $sout { <C as Connection>::$sync(self) } )*
            fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
                Box::pin(<C as Connection>::close(*self))
            }
            fn as_any(&self) -> &dyn Any {
                self
            }
            fn as_any_mut(&mut self) -> &mut dyn Any {
                self
            }
        }

        impl Connection for AnyConnection {
            $(
                // One signature for every listed method: those without arguments name
                // the lifetime they could elide.
                #[allow(clippy::needless_lifetimes)]
                fn $name<'a>(
                    &'a mut self $(, $arg: $ty)*
                ) -> impl Future<Output = $out> + Send {
                    self.0.$name($($arg),*)
                }
            )*
            $( fn $sync(&self) -> $sout { self.0.$sync() } )*
            fn close(self) -> impl Future<Output = ()> + Send {
                self.0.close()
            }
        }
    };
}

forward_connection! {
    async {
        fn execute(sql: &'a str, params: &'a [Value]) -> Result<u64>;
        fn query(sql: &'a str, params: &'a [Value]) -> Result<Vec<Row>>;
        fn batch(sql: &'a str) -> Result<()>;
        fn begin(opts: &'a TxOptions) -> Result<()>;
        fn begin_and_query(opts: &'a TxOptions, sql: &'a str, params: &'a [Value])
            -> Result<Result<Vec<Row>>>;
        fn begin_and_execute(opts: &'a TxOptions, sql: &'a str, params: &'a [Value])
            -> Result<Result<u64>>;
        fn commit() -> Result<()>;
        fn execute_all_and_commit(statements: &'a [(&'a str, &'a [Value])]) -> Result<Vec<u64>>;
        fn execute_many(sql: &'a str, rows: &'a [&'a [Value]]) -> Result<Vec<u64>>;
        fn rollback() -> Result<()>;
        fn savepoint(name: &'a str) -> Result<()>;
        fn release_savepoint(name: &'a str) -> Result<()>;
        fn rollback_to_savepoint(name: &'a str) -> Result<()>;
        fn lock_table(table: &'a str, lock: &'a TableLock) -> Result<()>;
        fn ping() -> Result<()>;
        fn server_in_transaction() -> Result<bool>;
        fn recover() -> Result<()>;
        fn reset(mode: ResetMode) -> Result<()>;
    }
    sync {
        fn dialect() -> &dyn Dialect;
        fn pipelines() -> bool;
        fn is_broken() -> bool;
        fn server_session_id() -> Option<u64>;
        fn ping_after_idle() -> Option<Duration>;
    }
}
