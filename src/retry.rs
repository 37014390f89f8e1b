//! The engine as a [`TransactionSource`] for
//! [`RetryPolicy::run_transaction`](txkit_core::RetryPolicy::run_transaction).

use txkit_core::{AnyConnection, Result, Transaction, TransactionSource, TxOptions};

use crate::Engine;

/// Each transaction is begun on a connection checked out of the engine's pool (and goes
/// back when the transaction ends).
impl TransactionSource for &Engine {
    fn begin_transaction(
        &mut self,
        opts: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'_, AnyConnection>>> + Send {
        let engine: &Engine = self;
        async move {
            let tx: Transaction<'_, AnyConnection> = engine.begin_with(opts).await?;
            Ok(tx)
        }
    }
}
