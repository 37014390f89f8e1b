#[automatically_derived]
impl ::txkit::core::Entity for Typed {
    const TABLE: &'static str = "typed";
    const COLUMNS: &'static [::txkit::core::ColumnDef] = &[
        ::txkit::core::ColumnDef {
            primary_key: true,
            ..::txkit::core::ColumnDef::new("id", "id", ::txkit::core::ColumnType::Uuid)
        },
        ::txkit::core::ColumnDef {
            auto_increment: true,
            ..::txkit::core::ColumnDef::new(
                "serial",
                "serial",
                ::txkit::core::ColumnType::BigInt,
            )
        },
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "small",
                "small",
                ::txkit::core::ColumnType::SmallInt,
            )
        },
        ::txkit::core::ColumnDef {
            default: ::core::option::Option::Some(
                ::txkit::core::DefaultValue::Int(65535),
            ),
            ..::txkit::core::ColumnDef::new(
                "mid",
                "mid",
                ::txkit::core::ColumnType::Integer,
            )
        },
        ::txkit::core::ColumnDef::new("wide", "wide", ::txkit::core::ColumnType::BigInt),
        ::txkit::core::ColumnDef::new(
            "amount",
            "amount",
            ::txkit::core::ColumnType::Decimal {
                precision: 28,
                scale: 10,
            },
        ),
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "price",
                "price",
                ::txkit::core::ColumnType::Decimal {
                    precision: 19,
                    scale: 4,
                },
            )
        },
        ::txkit::core::ColumnDef::new(
            "ratio",
            "ratio",
            ::txkit::core::ColumnType::Decimal {
                precision: 6,
                scale: 0,
            },
        ),
        ::txkit::core::ColumnDef::new("day", "day", ::txkit::core::ColumnType::Date),
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "at",
                "at",
                ::txkit::core::ColumnType::Timestamp,
            )
        },
        ::txkit::core::ColumnDef::new(
            "utc",
            "utc",
            ::txkit::core::ColumnType::TimestampTz,
        ),
        ::txkit::core::ColumnDef::new("doc", "doc", ::txkit::core::ColumnType::Json),
        ::txkit::core::ColumnDef {
            nullable: true,
            ..::txkit::core::ColumnDef::new(
                "extra",
                "extra",
                ::txkit::core::ColumnType::Json,
            )
        },
    ];
    fn from_row(row: &::txkit::core::Row) -> ::txkit::core::Result<Self> {
        ::core::result::Result::Ok(Self {
            id: <uuid::Uuid as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "id")?,
                "id",
            )?,
            serial: <u64 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "serial")?,
                "serial",
            )?,
            small: <::core::option::Option<
                u8,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "small")?,
                "small",
            )?,
            mid: <u16 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "mid")?,
                "mid",
            )?,
            wide: <u32 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "wide")?,
                "wide",
            )?,
            amount: <rust_decimal::Decimal as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "amount")?,
                "amount",
            )?,
            price: <::core::option::Option<
                Decimal,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "price")?,
                "price",
            )?,
            ratio: <Decimal as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "ratio")?,
                "ratio",
            )?,
            day: <NaiveDate as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "day")?,
                "day",
            )?,
            at: <::core::option::Option<
                chrono::NaiveDateTime,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "at")?,
                "at",
            )?,
            utc: <DateTime<
                chrono::Utc,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "utc")?,
                "utc",
            )?,
            doc: <serde_json::Value as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "doc")?,
                "doc",
            )?,
            extra: <::core::option::Option<
                JsonValue,
            > as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "extra")?,
                "extra",
            )?,
        })
    }
    fn values(&self) -> ::std::vec::Vec<::txkit::core::Value> {
        ::std::vec![
            ::txkit::core::Value::from(self.id), ::txkit::core::Value::from(self.serial),
            ::txkit::core::Value::from(self.small), ::txkit::core::Value::from(self.mid),
            ::txkit::core::Value::from(self.wide), ::txkit::core::Value::from(self
            .amount), ::txkit::core::Value::from(self.price),
            ::txkit::core::Value::from(self.ratio), ::txkit::core::Value::from(self.day),
            ::txkit::core::Value::from(self.at), ::txkit::core::Value::from(self.utc),
            ::txkit::core::Value::from(::core::clone::Clone::clone(& self.doc)),
            ::txkit::core::Value::from(::core::clone::Clone::clone(& self.extra))
        ]
    }
    fn write_values(&self, out: &mut ::std::vec::Vec<::txkit::core::Value>) {
        out.reserve(13usize);
        out.push(::txkit::core::Value::from(self.id));
        out.push(::txkit::core::Value::from(self.serial));
        out.push(::txkit::core::Value::from(self.small));
        out.push(::txkit::core::Value::from(self.mid));
        out.push(::txkit::core::Value::from(self.wide));
        out.push(::txkit::core::Value::from(self.amount));
        out.push(::txkit::core::Value::from(self.price));
        out.push(::txkit::core::Value::from(self.ratio));
        out.push(::txkit::core::Value::from(self.day));
        out.push(::txkit::core::Value::from(self.at));
        out.push(::txkit::core::Value::from(self.utc));
        out.push(::txkit::core::Value::from(::core::clone::Clone::clone(&self.doc)));
        out.push(::txkit::core::Value::from(::core::clone::Clone::clone(&self.extra)));
    }
    fn set_generated(
        &mut self,
        column: &str,
        value: ::txkit::core::Value,
    ) -> ::txkit::core::Result<()> {
        match column {
            "serial" => {
                self.serial = <u64 as ::txkit::core::FromValue>::from_value(
                        &value,
                        "serial",
                    )
                    .map_err(|e| {
                        e.context("storing the generated value of typed.serial")
                    })?;
                ::core::result::Result::Ok(())
            }
            other => {
                ::core::result::Result::Err(
                    ::txkit::core::Error::config(
                        ::std::format!(
                            "{:?} is not an auto_increment column of table {}; it has: {}",
                            other, "typed", "serial"
                        ),
                    ),
                )
            }
        }
    }
}
#[automatically_derived]
#[allow(dead_code)]
impl Typed {
    /// The `id` column of table `typed` (Uuid), for filters: `Typed::ID.eq(…)`.
    pub const ID: ::txkit::core::Column<Typed, uuid::Uuid> = ::txkit::core::Column::new(
        "id",
    );
    /// The `serial` column of table `typed` (u64), for filters: `Typed::SERIAL.eq(…)`.
    pub const SERIAL: ::txkit::core::Column<Typed, u64> = ::txkit::core::Column::new(
        "serial",
    );
    /// The `small` column of table `typed` (u8, nullable), for filters: `Typed::SMALL.eq(…)`.
    pub const SMALL: ::txkit::core::Column<Typed, u8> = ::txkit::core::Column::new(
        "small",
    );
    /// The `mid` column of table `typed` (u16), for filters: `Typed::MID.eq(…)`.
    pub const MID: ::txkit::core::Column<Typed, u16> = ::txkit::core::Column::new("mid");
    /// The `wide` column of table `typed` (u32), for filters: `Typed::WIDE.eq(…)`.
    pub const WIDE: ::txkit::core::Column<Typed, u32> = ::txkit::core::Column::new(
        "wide",
    );
    /// The `amount` column of table `typed` (Decimal), for filters: `Typed::AMOUNT.eq(…)`.
    pub const AMOUNT: ::txkit::core::Column<Typed, rust_decimal::Decimal> = ::txkit::core::Column::new(
        "amount",
    );
    /// The `price` column of table `typed` (Decimal, nullable), for filters: `Typed::PRICE.eq(…)`.
    pub const PRICE: ::txkit::core::Column<Typed, Decimal> = ::txkit::core::Column::new(
        "price",
    );
    /// The `ratio` column of table `typed` (Decimal), for filters: `Typed::RATIO.eq(…)`.
    pub const RATIO: ::txkit::core::Column<Typed, Decimal> = ::txkit::core::Column::new(
        "ratio",
    );
    /// The `day` column of table `typed` (NaiveDate), for filters: `Typed::DAY.eq(…)`.
    pub const DAY: ::txkit::core::Column<Typed, NaiveDate> = ::txkit::core::Column::new(
        "day",
    );
    /// The `at` column of table `typed` (NaiveDateTime, nullable), for filters: `Typed::AT.eq(…)`.
    pub const AT: ::txkit::core::Column<Typed, chrono::NaiveDateTime> = ::txkit::core::Column::new(
        "at",
    );
    /// The `utc` column of table `typed` (DateTime<Utc>), for filters: `Typed::UTC.eq(…)`.
    pub const UTC: ::txkit::core::Column<Typed, DateTime<chrono::Utc>> = ::txkit::core::Column::new(
        "utc",
    );
    /// The `doc` column of table `typed` (serde_json::Value), for filters: `Typed::DOC.eq(…)`.
    pub const DOC: ::txkit::core::Column<Typed, serde_json::Value> = ::txkit::core::Column::new(
        "doc",
    );
    /// The `extra` column of table `typed` (serde_json::Value, nullable), for filters: `Typed::EXTRA.eq(…)`.
    pub const EXTRA: ::txkit::core::Column<Typed, JsonValue> = ::txkit::core::Column::new(
        "extra",
    );
}
