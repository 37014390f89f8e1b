#[automatically_derived]
impl ::txkit::core::Entity for BankAccount {
    const TABLE: &'static str = "bank_account";
    const COLUMNS: &'static [::txkit::core::ColumnDef] = &[
        ::txkit::core::ColumnDef {
            primary_key: true,
            ..::txkit::core::ColumnDef::new(
                "type",
                "type",
                ::txkit::core::ColumnType::SmallInt,
            )
        },
    ];
    fn from_row(row: &::txkit::core::Row) -> ::txkit::core::Result<Self> {
        ::core::result::Result::Ok(Self {
            r#type: <i64 as ::txkit::core::FromValue>::from_value(
                    ::txkit::core::Row::value(row, "type")?,
                    "type",
                )
                .and_then(|wide: i64| {
                    <i16 as ::core::convert::TryFrom<i64>>::try_from(wide)
                        .map_err(|_| {
                            ::txkit::core::Error::config(
                                ::std::format!(
                                    "column {:?} holds {} which is out of range for i16",
                                    "type", wide
                                ),
                            )
                        })
                })?,
        })
    }
    fn values(&self) -> ::std::vec::Vec<::txkit::core::Value> {
        ::std::vec![::txkit::core::Value::from(self.r#type)]
    }
    fn write_values(&self, out: &mut ::std::vec::Vec<::txkit::core::Value>) {
        out.reserve(1usize);
        out.push(::txkit::core::Value::from(self.r#type));
    }
    fn set_generated(
        &mut self,
        column: &str,
        value: ::txkit::core::Value,
    ) -> ::txkit::core::Result<()> {
        let _ = value;
        ::core::result::Result::Err(
            ::txkit::core::Error::config(
                ::std::format!(
                    "table {} has no auto_increment column (asked to set {:?})",
                    "bank_account", column
                ),
            ),
        )
    }
}
#[automatically_derived]
#[allow(dead_code)]
impl BankAccount {
    /// The `type` column of table `bank_account` (i16), for filters: `BankAccount::TYPE.eq(…)`.
    const TYPE: ::txkit::core::Column<BankAccount, i16> = ::txkit::core::Column::new(
        "type",
    );
}
