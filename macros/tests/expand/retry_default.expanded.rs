/// Moves money.
pub async fn transfer(engine: &Engine, from: i64, to: i64) -> txkit::Result<()> {
    let __txkit_retry_policy = ::txkit::core::RetryPolicy::new().named("transfer");
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
