//! Entities implemented by hand, as a user without the derive would (so the trait's provided
//! methods, such as `write_values`, run here), for the entity matrix.

use txkit::entity::{ColumnDef, ColumnType, DefaultValue, FromValue};
use txkit::{Entity, Error, Result, Row, Value};

const fn col(name: &'static str, ty: ColumnType) -> ColumnDef {
    ColumnDef::new(name, name, ty)
}

fn no_generated(column: &str) -> Result<()> {
    Err(Error::config(format!("no generated column {column}")))
}

/// `accounts`: auto-increment key, unique bounded owner, integer version.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: i64,
    pub owner: String,
    pub balance: i64,
    pub version: i64,
}

impl Account {
    pub fn new(owner: &str, balance: i64) -> Self {
        Self {
            id: 0,
            owner: owner.to_owned(),
            balance,
            version: 0,
        }
    }
}

impl Entity for Account {
    const TABLE: &'static str = "accounts";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            auto_increment: true,
            ..col("id", ColumnType::BigInt)
        },
        ColumnDef {
            unique: true,
            max_len: Some(100),
            ..col("owner", ColumnType::Text)
        },
        col("balance", ColumnType::BigInt),
        ColumnDef {
            version: true,
            ..col("version", ColumnType::BigInt)
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
            other => return no_generated(other),
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

impl txkit::entity::Versioned for Account {
    const VERSION_COLUMN: &'static str = "version";
}

/// The custom generator of [`Doc`] revisions: `r<n>-<hash>`, where n counts revisions and
/// the hash (FNV-1a) chains the previous revision, so every revision is new text.
#[allow(clippy::ptr_arg)] // the shape of `VersionGenerator<String>`: `fn(&String) -> String`
pub fn next_rev(current: &String) -> String {
    let n: u64 = current
        .strip_prefix('r')
        .and_then(|rest| rest.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in current.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("r{}-{hash:016x}", n + 1)
}

/// `docs`: a caller-chosen key and a text version made by [`next_rev`].
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: i64,
    pub body: String,
    pub rev: String,
}

impl Entity for Doc {
    const TABLE: &'static str = "docs";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            ..col("id", ColumnType::BigInt)
        },
        col("body", ColumnType::Text),
        ColumnDef {
            version: true,
            max_len: Some(40),
            ..col("rev", ColumnType::Text)
        },
    ];

    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            body: row.get("body")?,
            rev: row.get("rev")?,
        })
    }

    fn values(&self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.body.clone().into(),
            self.rev.clone().into(),
        ]
    }

    fn set_generated(&mut self, column: &str, _value: Value) -> Result<()> {
        no_generated(column)
    }

    fn version(&self) -> Option<Value> {
        Some(self.rev.clone().into())
    }

    fn next_version(&self) -> Option<Value> {
        let generator: txkit::entity::VersionGenerator<String> = next_rev;
        Some(generator(&self.rev).into())
    }

    fn set_version(&mut self, value: Value) -> Result<()> {
        self.rev = String::from_value(&value, "rev")?;
        Ok(())
    }
}

impl txkit::entity::Versioned for Doc {
    const VERSION_COLUMN: &'static str = "rev";
}

/// `every_type`: every column type, NULLs, and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Everything {
    pub id: i32,
    pub small: i16,
    pub big: i64,
    pub ratio: f64,
    pub flag: bool,
    pub text: String,
    pub short: String,
    pub label: String,
    pub bytes: Vec<u8>,
    pub opt_small: Option<i16>,
    pub opt_int: Option<i32>,
    pub opt_big: Option<i64>,
    pub opt_float: Option<f64>,
    pub opt_bool: Option<bool>,
    pub opt_text: Option<String>,
    pub opt_bytes: Option<Vec<u8>>,
}

const fn opt(name: &'static str, ty: ColumnType) -> ColumnDef {
    ColumnDef {
        nullable: true,
        ..col(name, ty)
    }
}

impl Entity for Everything {
    const TABLE: &'static str = "every_type";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            ..col("id", ColumnType::Integer)
        },
        ColumnDef {
            default: Some(DefaultValue::Int(7)),
            ..col("small", ColumnType::SmallInt)
        },
        col("big", ColumnType::BigInt),
        ColumnDef {
            default: Some(DefaultValue::Float(0.5)),
            ..col("ratio", ColumnType::Double)
        },
        ColumnDef {
            default: Some(DefaultValue::Bool(true)),
            ..col("flag", ColumnType::Bool)
        },
        col("text", ColumnType::Text),
        ColumnDef {
            max_len: Some(20),
            default: Some(DefaultValue::Text("x")),
            ..col("short", ColumnType::Text)
        },
        ColumnDef {
            default: Some(DefaultValue::Text("it's \"quoted\" \\ é")),
            ..col("label", ColumnType::Text)
        },
        col("bytes", ColumnType::Bytes),
        opt("opt_small", ColumnType::SmallInt),
        opt("opt_int", ColumnType::Integer),
        opt("opt_big", ColumnType::BigInt),
        opt("opt_float", ColumnType::Double),
        opt("opt_bool", ColumnType::Bool),
        opt("opt_text", ColumnType::Text),
        opt("opt_bytes", ColumnType::Bytes),
    ];

    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            small: row.get("small")?,
            big: row.get("big")?,
            ratio: row.get("ratio")?,
            flag: row.get("flag")?,
            text: row.get("text")?,
            short: row.get("short")?,
            label: row.get("label")?,
            bytes: row.get("bytes")?,
            opt_small: row.get("opt_small")?,
            opt_int: row.get("opt_int")?,
            opt_big: row.get("opt_big")?,
            opt_float: row.get("opt_float")?,
            opt_bool: row.get("opt_bool")?,
            opt_text: row.get("opt_text")?,
            opt_bytes: row.get("opt_bytes")?,
        })
    }

    fn values(&self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.small.into(),
            self.big.into(),
            self.ratio.into(),
            self.flag.into(),
            self.text.clone().into(),
            self.short.clone().into(),
            self.label.clone().into(),
            self.bytes.clone().into(),
            self.opt_small.into(),
            self.opt_int.into(),
            self.opt_big.into(),
            self.opt_float.into(),
            self.opt_bool.into(),
            self.opt_text.clone().into(),
            self.opt_bytes.clone().into(),
        ]
    }

    fn set_generated(&mut self, column: &str, _value: Value) -> Result<()> {
        no_generated(column)
    }
}

/// A table and columns whose names need quoting on every backend: quotes, backticks,
/// spaces; a composite key and a versioned column among them.
#[derive(Debug, Clone, PartialEq)]
pub struct Weird {
    pub region: String,
    pub n: i32,
    pub value: i64,
    pub note: Option<String>,
    pub version: i64,
}

impl Entity for Weird {
    const TABLE: &'static str = "we\"ird `t` x";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            max_len: Some(32),
            ..ColumnDef::new("re gion", "region", ColumnType::Text)
        },
        ColumnDef {
            primary_key: true,
            ..ColumnDef::new("n\"", "n", ColumnType::Integer)
        },
        ColumnDef::new("va`l\"ue", "value", ColumnType::BigInt),
        ColumnDef {
            nullable: true,
            ..ColumnDef::new("no te'; --", "note", ColumnType::Text)
        },
        ColumnDef {
            version: true,
            ..ColumnDef::new("ver sion", "version", ColumnType::BigInt)
        },
    ];

    fn from_row(row: &Row) -> Result<Self> {
        Ok(Self {
            region: row.get("re gion")?,
            n: row.get("n\"")?,
            value: row.get("va`l\"ue")?,
            note: row.get("no te'; --")?,
            version: row.get("ver sion")?,
        })
    }

    fn values(&self) -> Vec<Value> {
        vec![
            self.region.clone().into(),
            self.n.into(),
            self.value.into(),
            self.note.clone().into(),
            self.version.into(),
        ]
    }

    fn set_generated(&mut self, column: &str, _value: Value) -> Result<()> {
        no_generated(column)
    }

    fn version(&self) -> Option<Value> {
        Some(self.version.into())
    }

    fn next_version(&self) -> Option<Value> {
        Some((self.version + 1).into())
    }

    fn set_version(&mut self, value: Value) -> Result<()> {
        self.version = i64::from_value(&value, "ver sion")?;
        Ok(())
    }
}

impl txkit::entity::Versioned for Weird {
    const VERSION_COLUMN: &'static str = "ver sion";
}
