//! [`Sqlite`]: the backend marker the engine opens `sqlite:` URLs with.

use txkit_core::{Backend, DatabaseUrl, Result};

use crate::{SqliteConnectOptions, SqliteConnection};

/// The SQLite backend, for code generic over txkit backends.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

impl Backend for Sqlite {
    type Connection = SqliteConnection;
    type Options = SqliteConnectOptions;
    const NAME: &'static str = "sqlite";
    const SCHEMES: &'static [&'static str] = &["sqlite"];

    fn options_from_url(url: &DatabaseUrl) -> Result<SqliteConnectOptions> {
        SqliteConnectOptions::from_url(url)
    }

    async fn connect(options: &SqliteConnectOptions) -> Result<SqliteConnection> {
        options.connect().await
    }

    /// A private in-memory database exists only inside its one connection.
    fn single_connection(options: &SqliteConnectOptions) -> bool {
        options.is_memory()
    }
}

#[cfg(test)]
mod tests {
    use txkit_core::{Backend, Connection, DatabaseUrl};

    use super::Sqlite;

    #[tokio::test]
    async fn backend_reads_urls() {
        let url = DatabaseUrl::parse("sqlite::memory:").unwrap();
        let options = Sqlite::options_from_url(&url).unwrap();
        assert!(Sqlite::single_connection(&options));
        let mut conn = Sqlite::connect(&options).await.unwrap();
        conn.ping().await.unwrap();
        assert!(Sqlite::SCHEMES.contains(&"sqlite"));
        let file = Sqlite::options_from_url(&DatabaseUrl::parse("sqlite://x.db").unwrap());
        assert!(!Sqlite::single_connection(&file.unwrap()));
    }
}
