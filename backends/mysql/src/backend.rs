//! [`MySql`]: the backend marker the engine opens `mysql://` and `mariadb://` URLs with.

use crate::{MySqlConnectOptions, MySqlConnection};

/// The MySQL/MariaDB backend: schemes `mysql` and `mariadb`, options
/// [`MySqlConnectOptions`], connections [`MySqlConnection`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MySql;

impl txkit_core::Backend for MySql {
    type Connection = MySqlConnection;
    type Options = MySqlConnectOptions;
    const NAME: &'static str = "mysql";
    const SCHEMES: &'static [&'static str] = &["mysql", "mariadb"];

    fn options_from_url(url: &txkit_core::DatabaseUrl) -> txkit_core::Result<Self::Options> {
        MySqlConnectOptions::from_url(url)
    }

    fn connect(
        options: &Self::Options,
    ) -> impl std::future::Future<Output = txkit_core::Result<Self::Connection>> + Send {
        options.connect()
    }
}
