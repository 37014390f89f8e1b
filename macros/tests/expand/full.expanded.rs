#[automatically_derived]
impl ::txkit::core::Entity for Account {
    const TABLE: &'static str = "accounts";
    const COLUMNS: &'static [::txkit::core::ColumnDef] = &[
        ::txkit::core::ColumnDef {
            primary_key: true,
            auto_increment: true,
            ..::txkit::core::ColumnDef::new(
                "id",
                "id",
                ::txkit::core::ColumnType::BigInt,
            )
        },
        ::txkit::core::ColumnDef {
            unique: true,
            max_len: ::core::option::Option::Some(64),
            ..::txkit::core::ColumnDef::new(
                "owner_name",
                "owner",
                ::txkit::core::ColumnType::Text,
            )
        },
        ::txkit::core::ColumnDef {
            default: ::core::option::Option::Some(::txkit::core::DefaultValue::Int(0)),
            ..::txkit::core::ColumnDef::new(
                "balance",
                "balance",
                ::txkit::core::ColumnType::BigInt,
            )
        },
        ::txkit::core::ColumnDef {
            default: ::core::option::Option::Some(::txkit::core::DefaultValue::Int(-1)),
            ..::txkit::core::ColumnDef::new(
                "rank",
                "rank",
                ::txkit::core::ColumnType::SmallInt,
            )
        },
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "nickname",
                "nickname",
                ::txkit::core::ColumnType::Text,
            )
        },
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "level",
                "level",
                ::txkit::core::ColumnType::SmallInt,
            )
        },
        ::txkit::core::ColumnDef {
            default: ::core::option::Option::Some(
                ::txkit::core::DefaultValue::Float(1.5),
            ),
            ..::txkit::core::ColumnDef::new(
                "rate",
                "rate",
                ::txkit::core::ColumnType::Double,
            )
        },
        ::txkit::core::ColumnDef {
            default: ::core::option::Option::Some(
                ::txkit::core::DefaultValue::Bool(true),
            ),
            ..::txkit::core::ColumnDef::new(
                "active",
                "active",
                ::txkit::core::ColumnType::Bool,
            )
        },
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "avatar",
                "avatar",
                ::txkit::core::ColumnType::Bytes,
            )
        },
        ::txkit::core::ColumnDef {
            version: true,
            ..::txkit::core::ColumnDef::new(
                "version",
                "version",
                ::txkit::core::ColumnType::Integer,
            )
        },
    ];
    fn from_row(row: &::txkit::core::Row) -> ::txkit::core::Result<Self> {
        ::core::result::Result::Ok(Self {
            id: <i64 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "id")?,
                "id",
            )?,
            owner: <::std::string::String as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "owner_name")?,
                "owner_name",
            )?,
            balance: <i64 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "balance")?,
                "balance",
            )?,
            rank: <i64 as ::txkit::core::FromValue>::from_value(
                    ::txkit::core::Row::value(row, "rank")?,
                    "rank",
                )
                .and_then(|wide: i64| {
                    <i16 as ::core::convert::TryFrom<i64>>::try_from(wide)
                        .map_err(|_| {
                            ::txkit::core::Error::config(
                                ::std::format!(
                                    "column {:?} holds {} which is out of range for i16",
                                    "rank", wide
                                ),
                            )
                        })
                })?,
            nickname: <::core::option::Option<
                ::std::string::String,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "nickname")?,
                "nickname",
            )?,
            level: <::core::option::Option<
                i64,
            > as ::txkit::core::FromValue>::from_value(
                    ::txkit::core::Row::value(row, "level")?,
                    "level",
                )
                .and_then(|wide| {
                    wide
                        .map(|wide: i64| {
                            <i16 as ::core::convert::TryFrom<i64>>::try_from(wide)
                                .map_err(|_| {
                                    ::txkit::core::Error::config(
                                        ::std::format!(
                                            "column {:?} holds {} which is out of range for i16",
                                            "level", wide
                                        ),
                                    )
                                })
                        })
                        .transpose()
                })?,
            rate: <f64 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "rate")?,
                "rate",
            )?,
            active: <bool as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "active")?,
                "active",
            )?,
            avatar: <::core::option::Option<
                ::std::vec::Vec<u8>,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "avatar")?,
                "avatar",
            )?,
            cache: <Vec<String> as ::core::default::Default>::default(),
            version: <i32 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "version")?,
                "version",
            )?,
        })
    }
    fn values(&self) -> ::std::vec::Vec<::txkit::core::Value> {
        ::std::vec![
            ::txkit::core::Value::from(self.id),
            ::txkit::core::Value::from(::core::clone::Clone::clone(& self.owner)),
            ::txkit::core::Value::from(self.balance), ::txkit::core::Value::from(self
            .rank), ::txkit::core::Value::from(::core::clone::Clone::clone(& self
            .nickname)), ::txkit::core::Value::from(self.level),
            ::txkit::core::Value::from(self.rate), ::txkit::core::Value::from(self
            .active), ::txkit::core::Value::from(::core::clone::Clone::clone(& self
            .avatar)), ::txkit::core::Value::from(self.version)
        ]
    }
    fn write_values(&self, out: &mut ::std::vec::Vec<::txkit::core::Value>) {
        out.reserve(10usize);
        out.push(::txkit::core::Value::from(self.id));
        out.push(::txkit::core::Value::from(::core::clone::Clone::clone(&self.owner)));
        out.push(::txkit::core::Value::from(self.balance));
        out.push(::txkit::core::Value::from(self.rank));
        out.push(
            ::txkit::core::Value::from(::core::clone::Clone::clone(&self.nickname)),
        );
        out.push(::txkit::core::Value::from(self.level));
        out.push(::txkit::core::Value::from(self.rate));
        out.push(::txkit::core::Value::from(self.active));
        out.push(::txkit::core::Value::from(::core::clone::Clone::clone(&self.avatar)));
        out.push(::txkit::core::Value::from(self.version));
    }
    fn set_generated(
        &mut self,
        column: &str,
        value: ::txkit::core::Value,
    ) -> ::txkit::core::Result<()> {
        match column {
            "id" => {
                self.id = <i64 as ::txkit::core::FromValue>::from_value(&value, "id")
                    .map_err(|e| {
                        e.context("storing the generated value of accounts.id")
                    })?;
                ::core::result::Result::Ok(())
            }
            other => {
                ::core::result::Result::Err(
                    ::txkit::core::Error::config(
                        ::std::format!(
                            "{:?} is not an auto_increment column of table {}; it has: {}",
                            other, "accounts", "id"
                        ),
                    ),
                )
            }
        }
    }
    fn version(&self) -> ::core::option::Option<::txkit::core::Value> {
        ::core::option::Option::Some(::txkit::core::Value::from(self.version))
    }
    fn next_version(&self) -> ::core::option::Option<::txkit::core::Value> {
        self.version.checked_add(1).map(::txkit::core::Value::from)
    }
    fn set_version(&mut self, value: ::txkit::core::Value) -> ::txkit::core::Result<()> {
        self.version = <i32 as ::txkit::core::FromValue>::from_value(&value, "version")
            .map_err(|e| e.context("storing the new version of accounts.version"))?;
        ::core::result::Result::Ok(())
    }
}
#[automatically_derived]
impl ::txkit::core::Versioned for Account {
    const VERSION_COLUMN: &'static str = "version";
}
#[automatically_derived]
#[allow(dead_code)]
impl Account {
    /// The `id` column of table `accounts` (i64), for filters: `Account::ID.eq(…)`.
    pub const ID: ::txkit::core::Column<Account, i64> = ::txkit::core::Column::new("id");
    /// The `owner_name` column of table `accounts` (String), for filters: `Account::OWNER.eq(…)`.
    pub const OWNER: ::txkit::core::Column<Account, ::std::string::String> = ::txkit::core::Column::new(
        "owner_name",
    );
    /// The `balance` column of table `accounts` (i64), for filters: `Account::BALANCE.eq(…)`.
    pub const BALANCE: ::txkit::core::Column<Account, i64> = ::txkit::core::Column::new(
        "balance",
    );
    /// The `rank` column of table `accounts` (i16), for filters: `Account::RANK.eq(…)`.
    pub const RANK: ::txkit::core::Column<Account, i16> = ::txkit::core::Column::new(
        "rank",
    );
    /// The `nickname` column of table `accounts` (String, nullable), for filters: `Account::NICKNAME.eq(…)`.
    pub const NICKNAME: ::txkit::core::Column<Account, ::std::string::String> = ::txkit::core::Column::new(
        "nickname",
    );
    /// The `level` column of table `accounts` (i16, nullable), for filters: `Account::LEVEL.eq(…)`.
    pub const LEVEL: ::txkit::core::Column<Account, i16> = ::txkit::core::Column::new(
        "level",
    );
    /// The `rate` column of table `accounts` (f64), for filters: `Account::RATE.eq(…)`.
    pub const RATE: ::txkit::core::Column<Account, f64> = ::txkit::core::Column::new(
        "rate",
    );
    /// The `active` column of table `accounts` (bool), for filters: `Account::ACTIVE.eq(…)`.
    pub const ACTIVE: ::txkit::core::Column<Account, bool> = ::txkit::core::Column::new(
        "active",
    );
    /// The `avatar` column of table `accounts` (Vec<u8>, nullable), for filters: `Account::AVATAR.eq(…)`.
    pub const AVATAR: ::txkit::core::Column<Account, ::std::vec::Vec<u8>> = ::txkit::core::Column::new(
        "avatar",
    );
    /// The `version` column of table `accounts` (i32), for filters: `Account::VERSION.eq(…)`.
    pub const VERSION: ::txkit::core::Column<Account, i32> = ::txkit::core::Column::new(
        "version",
    );
}
