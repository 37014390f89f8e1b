async fn deposit<'a>(&self, account: &'a str, cents: i64) -> Result<u64, Error>
where
    Self: Sync,
{
    let __txkit_retry_policy = ::txkit::core::RetryPolicy::new()
        .named("deposit")
        .max_attempts(10);
    ::txkit::core::retry(
            &__txkit_retry_policy,
            async || -> Result<u64, Error> {
                let mut tx = self.engine.begin().await?;
                let n = tx
                    .execute(
                        "UPDATE a SET n = n + ? WHERE name = ?",
                        &params![cents, account],
                    )
                    .await?;
                tx.commit().await?;
                Ok(n)
            },
        )
        .await
}
