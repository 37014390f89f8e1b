//! Entities implemented by hand for the unit tests, as a user without the derive would (so
//! the trait's provided methods run here).

use super::{ColumnDef, ColumnType, DefaultValue, Entity, Versioned};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::{FromValue, Value};

/// `accounts`: auto-increment key, unique bounded owner, integer version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Account {
    pub(crate) id: i64,
    pub(crate) owner: String,
    pub(crate) balance: i64,
    pub(crate) version: i64,
}

impl Entity for Account {
    const TABLE: &'static str = "accounts";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            auto_increment: true,
            ..ColumnDef::new("id", "id", ColumnType::BigInt)
        },
        ColumnDef {
            unique: true,
            max_len: Some(100),
            ..ColumnDef::new("owner", "owner", ColumnType::Text)
        },
        ColumnDef::new("balance", "balance", ColumnType::BigInt),
        ColumnDef {
            version: true,
            ..ColumnDef::new("version", "version", ColumnType::BigInt)
        },
    ];

    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            owner: row.get("owner")?,
            balance: row.get("balance")?,
            version: row.get("version")?,
        })
    }

    fn values(&self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.owner.clone().into(),
            self.balance.into(),
            self.version.into(),
        ]
    }

    fn set_generated(&mut self, column: &str, value: Value) -> Result<()> {
        match column {
            "id" => self.id = i64::from_value(&value, column)?,
            other => return Err(Error::config(format!("no generated column {other}"))),
        }
        Ok(())
    }

    fn version(&self) -> Option<Value> {
        Some(self.version.into())
    }

    fn next_version(&self) -> Option<Value> {
        Some((self.version + 1).into())
    }

    fn set_version(&mut self, value: Value) -> Result<()> {
        self.version = i64::from_value(&value, "version")?;
        Ok(())
    }
}

impl Versioned for Account {
    const VERSION_COLUMN: &'static str = "version";
}

/// A composite key, no version, every type, defaults, and names that need quoting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Odd {
    pub(crate) region: String,
    pub(crate) n: i32,
    pub(crate) small: i16,
    pub(crate) ratio: f64,
    pub(crate) flag: bool,
    pub(crate) blob: Vec<u8>,
    pub(crate) note: Option<String>,
}

impl Entity for Odd {
    const TABLE: &'static str = "we\"ird `t`";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            max_len: Some(8),
            ..ColumnDef::new("re gion", "region", ColumnType::Text)
        },
        ColumnDef {
            primary_key: true,
            ..ColumnDef::new("n", "n", ColumnType::Integer)
        },
        ColumnDef {
            default: Some(DefaultValue::Int(7)),
            ..ColumnDef::new("small", "small", ColumnType::SmallInt)
        },
        ColumnDef {
            default: Some(DefaultValue::Float(0.5)),
            ..ColumnDef::new("ratio", "ratio", ColumnType::Double)
        },
        ColumnDef {
            default: Some(DefaultValue::Bool(true)),
            ..ColumnDef::new("flag", "flag", ColumnType::Bool)
        },
        ColumnDef::new("blob", "blob", ColumnType::Bytes),
        ColumnDef {
            nullable: true,
            default: Some(DefaultValue::Text("it's")),
            ..ColumnDef::new("no\"te", "note", ColumnType::Text)
        },
    ];

    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self {
            region: row.get("re gion")?,
            n: row.get("n")?,
            small: row.get("small")?,
            ratio: row.get("ratio")?,
            flag: row.get("flag")?,
            blob: row.get("blob")?,
            note: row.get("no\"te")?,
        })
    }

    fn values(&self) -> Vec<Value> {
        vec![
            self.region.clone().into(),
            self.n.into(),
            self.small.into(),
            self.ratio.into(),
            self.flag.into(),
            self.blob.clone().into(),
            self.note.clone().into(),
        ]
    }

    fn set_generated(&mut self, column: &str, _value: Value) -> Result<()> {
        Err(Error::config(format!("no generated column {column}")))
    }
}

/// Only a key: nothing to update.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyOnly {
    pub(crate) id: i64,
}

impl Entity for KeyOnly {
    const TABLE: &'static str = "key_only";
    const COLUMNS: &'static [ColumnDef] = &[ColumnDef {
        primary_key: true,
        auto_increment: true,
        ..ColumnDef::new("id", "id", ColumnType::BigInt)
    }];

    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self { id: row.get("id")? })
    }

    fn values(&self) -> Vec<Value> {
        vec![self.id.into()]
    }

    fn set_generated(&mut self, _column: &str, value: Value) -> Result<()> {
        self.id = i64::from_value(&value, "id")?;
        Ok(())
    }
}
