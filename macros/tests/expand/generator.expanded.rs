#[automatically_derived]
impl ::txkit::core::Entity for OrderLine {
    const TABLE: &'static str = "order_line";
    const COLUMNS: &'static [::txkit::core::ColumnDef] = &[
        ::txkit::core::ColumnDef {
            primary_key: true,
            ..::txkit::core::ColumnDef::new(
                "order_id",
                "order_id",
                ::txkit::core::ColumnType::BigInt,
            )
        },
        ::txkit::core::ColumnDef {
            primary_key: true,
            ..::txkit::core::ColumnDef::new(
                "line",
                "line",
                ::txkit::core::ColumnType::Integer,
            )
        },
        ::txkit::core::ColumnDef {
            default: ::core::option::Option::Some(
                ::txkit::core::DefaultValue::Text("n/a"),
            ),
            ..::txkit::core::ColumnDef::new(
                "note",
                "note",
                ::txkit::core::ColumnType::Text,
            )
        },
        ::txkit::core::ColumnDef {
            version: true,
            ..::txkit::core::ColumnDef::new(
                "stamp",
                "stamp",
                ::txkit::core::ColumnType::Text,
            )
        },
    ];
    fn from_row(row: &::txkit::core::Row) -> ::txkit::core::Result<Self> {
        ::core::result::Result::Ok(Self {
            order_id: <i64 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "order_id")?,
                "order_id",
            )?,
            line: <i32 as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "line")?,
                "line",
            )?,
            note: <::std::string::String as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "note")?,
                "note",
            )?,
            stamp: <::std::string::String as ::txkit::core::FromValue>::from_value(
                ::txkit::core::Row::value(row, "stamp")?,
                "stamp",
            )?,
        })
    }
    fn values(&self) -> ::std::vec::Vec<::txkit::core::Value> {
        ::std::vec![
            ::txkit::core::Value::from(self.order_id), ::txkit::core::Value::from(self
            .line), ::txkit::core::Value::from(::core::clone::Clone::clone(& self.note)),
            ::txkit::core::Value::from(::core::clone::Clone::clone(& self.stamp))
        ]
    }
    fn write_values(&self, out: &mut ::std::vec::Vec<::txkit::core::Value>) {
        out.reserve(4usize);
        out.push(::txkit::core::Value::from(self.order_id));
        out.push(::txkit::core::Value::from(self.line));
        out.push(::txkit::core::Value::from(::core::clone::Clone::clone(&self.note)));
        out.push(::txkit::core::Value::from(::core::clone::Clone::clone(&self.stamp)));
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
                    "order_line", column
                ),
            ),
        )
    }
    fn version(&self) -> ::core::option::Option<::txkit::core::Value> {
        ::core::option::Option::Some(
            ::txkit::core::Value::from(::core::clone::Clone::clone(&self.stamp)),
        )
    }
    fn next_version(&self) -> ::core::option::Option<::txkit::core::Value> {
        let next: String = crate::stamps::next(&self.stamp);
        ::core::option::Option::Some(::txkit::core::Value::from(next))
    }
    fn set_version(&mut self, value: ::txkit::core::Value) -> ::txkit::core::Result<()> {
        self.stamp = <::std::string::String as ::txkit::core::FromValue>::from_value(
                &value,
                "stamp",
            )
            .map_err(|e| e.context("storing the new version of order_line.stamp"))?;
        ::core::result::Result::Ok(())
    }
}
#[automatically_derived]
impl ::txkit::core::Versioned for OrderLine {
    const VERSION_COLUMN: &'static str = "stamp";
}
#[automatically_derived]
#[allow(dead_code)]
impl OrderLine {
    /// The `order_id` column of table `order_line` (i64), for filters: `OrderLine::ORDER_ID.eq(…)`.
    pub(crate) const ORDER_ID: ::txkit::core::Column<OrderLine, i64> = ::txkit::core::Column::new(
        "order_id",
    );
    /// The `line` column of table `order_line` (i32), for filters: `OrderLine::LINE.eq(…)`.
    pub(crate) const LINE: ::txkit::core::Column<OrderLine, i32> = ::txkit::core::Column::new(
        "line",
    );
    /// The `note` column of table `order_line` (String), for filters: `OrderLine::NOTE.eq(…)`.
    pub(crate) const NOTE: ::txkit::core::Column<OrderLine, ::std::string::String> = ::txkit::core::Column::new(
        "note",
    );
    /// The `stamp` column of table `order_line` (String), for filters: `OrderLine::STAMP.eq(…)`.
    pub(crate) const STAMP: ::txkit::core::Column<OrderLine, ::std::string::String> = ::txkit::core::Column::new(
        "stamp",
    );
}
