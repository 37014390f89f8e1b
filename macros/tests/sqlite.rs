//! A derived entity through the SQL layer on SQLite: create, insert (generated id and first
//! version), update (version advanced; a stale copy refused), find, select, delete.

#![allow(clippy::unwrap_used)]

use txkit::{Engine, Entity, ErrorKind};

#[derive(Debug, Clone, PartialEq, Entity)]
#[txkit(table = "macros_e2e_accounts")]
struct Account {
    #[txkit(primary_key, auto_increment)]
    id: i64,
    #[txkit(unique, max_len = 32)]
    owner: String,
    #[txkit(default = 0)]
    balance: i64,
    nickname: Option<String>,
    level: Option<i16>,
    #[txkit(skip)]
    cache: Option<String>,
    #[txkit(version)]
    version: i32,
}

fn stamp(current: &str) -> String {
    let n: u32 = current.trim_start_matches('r').parse().unwrap_or(0);
    format!("r{}", n + 1)
}

#[derive(Debug, Clone, PartialEq, Entity)]
#[txkit(table = "macros_e2e_documents")]
struct Document {
    #[txkit(primary_key)]
    id: i32,
    body: String,
    #[txkit(version(generator = stamp))]
    revision: String,
}

#[tokio::test(flavor = "current_thread")]
async fn derived_entities_round_trip_through_sqlite() -> txkit::Result<()> {
    let engine = Engine::connect("sqlite::memory:").await?;
    let mut tx = engine.begin().await?;
    tx.create_table::<Account>().await?;
    tx.create_table::<Document>().await?;

    let mut alice = Account {
        id: 0,
        owner: "alice".into(),
        balance: 100,
        nickname: None,
        level: Some(3),
        cache: Some("ignored".into()),
        version: 0,
    };
    tx.insert(&mut alice).await?;
    assert!(alice.id > 0, "the generated id is stored back");
    assert_eq!(alice.version, 1, "a new entity is inserted as version 1");

    let stale = alice.clone();
    alice.balance += 50;
    alice.nickname = Some("al".into());
    tx.update(&mut alice).await?;
    assert_eq!(alice.version, 2);

    let mut stale = stale;
    let err = tx.update(&mut stale).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleData, "{err}");

    let found: Account = tx.find(alice.id).await?.unwrap();
    assert_eq!(
        found,
        Account {
            cache: None,
            ..alice.clone()
        }
    );

    let rich: Vec<Account> = tx
        .select::<Account>()
        .filter(Account::BALANCE.gt(120))
        .all()
        .await?;
    assert_eq!(rich.len(), 1);
    let none: Vec<Account> = tx
        .select::<Account>()
        .filter(Account::NICKNAME.is_null())
        .all()
        .await?;
    assert!(none.is_empty());

    let mut doc = Document {
        id: 1,
        body: "draft".into(),
        revision: "r0".into(),
    };
    tx.insert(&mut doc).await?;
    assert_eq!(doc.revision, "r1");
    doc.body = "final".into();
    tx.update(&mut doc).await?;
    assert_eq!(doc.revision, "r2");
    let back: Document = tx.find(1).await?.unwrap();
    assert_eq!(back, doc);

    tx.delete(&alice).await?;
    assert!(tx.find::<Account>(alice.id).await?.is_none());
    tx.commit().await?;
    Ok(())
}
