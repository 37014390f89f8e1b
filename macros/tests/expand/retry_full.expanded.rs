/// Moves money.
pub async fn transfer(engine: &Engine, from: i64, to: i64) -> txkit::Result<()> {
    let __txkit_retry_policy = ::txkit::core::RetryPolicy::new()
        .named("transfer")
        .max_attempts(5)
        .base_delay(::core::time::Duration::from_millis(50))
        .max_delay(::core::time::Duration::from_millis(1000))
        .deadline(::core::time::Duration::from_millis(10000))
        .jitter(false)
        .retry_on(::txkit::core::ErrorKind::LockTimeout)
        .retry_on(::txkit::core::ErrorKind::LockNotAvailable)
        .retry_on(::txkit::core::ErrorKind::StaleData);
    ::txkit::core::retry(
            &__txkit_retry_policy,
            async || -> txkit::Result<()> {
                let mut tx = engine.begin().await?;
                tx.execute("UPDATE a SET n = n - 1 WHERE id = ?", &params![from]).await?;
                tx.execute("UPDATE a SET n = n + 1 WHERE id = ?", &params![to]).await?;
                tx.commit().await
            },
        )
        .await
}
