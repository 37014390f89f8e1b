//! A full entity compiles under strict lints, from the `txkit` crate alone.

#![deny(missing_docs, unreachable_pub, dead_code)]

/// The model.
pub mod model {
    use txkit::Entity;

    fn next_stamp(current: &String) -> String {
        format!("{current}'")
    }

    /// An account.
    #[derive(Debug, Clone, PartialEq, Entity)]
    #[txkit(table = "accounts")]
    pub struct Account {
        /// Id.
        #[txkit(primary_key, auto_increment)]
        pub id: i64,
        /// Owner.
        #[txkit(unique, max_len = 64, column = "owner_name", default = "nobody")]
        pub owner: String,
        /// Balance in cents.
        #[txkit(default = 0)]
        pub balance: i64,
        /// Rank.
        pub rank: Option<i16>,
        /// Rate.
        #[txkit(default = -0.5)]
        pub rate: f64,
        /// Active.
        #[txkit(default = false)]
        pub active: bool,
        /// Photo.
        pub photo: Option<Vec<u8>>,
        /// Not stored.
        #[txkit(skip)]
        pub cache: Option<String>,
        /// Version.
        #[txkit(version)]
        pub version: i32,
    }

    /// A document with a generated version.
    #[derive(Entity)]
    pub(crate) struct Document {
        #[txkit(primary_key)]
        pub(crate) id: i32,
        #[txkit(version(generator = next_stamp))]
        pub(crate) stamp: String,
    }

    /// A private entity whose column handles go unused.
    #[derive(Entity)]
    struct Unused {
        #[txkit(primary_key)]
        id: i64,
    }
}

fn main() {
    use txkit::Entity;
    use txkit::entity::Versioned;
    use model::{Account, Document};

    assert_eq!(Account::TABLE, "accounts");
    assert_eq!(<Account as Versioned>::VERSION_COLUMN, "version");
    let _ = Account::BALANCE.ge(0).and(Account::OWNER.eq("alice"));
    assert_eq!(Document::COLUMNS.len(), 2);
    assert_eq!(Document::STAMP.name(), "stamp");
}
