//! Savepoints of any depth, on every backend.

use txkit::params;

use crate::common::{TestDb, count, names, people_table};

crate::matrix!(
    sea_orm:
    alice_bob_carol,
    three_deep,
    outer_rollback_discards_released_inner,
    dropped_savepoint_rolls_back_to_itself_only,
    named_savepoints,
);

const INSERT: &str = "INSERT INTO {t} (name) VALUES (?)";

fn insert(table: &str) -> String {
    INSERT.replace("{t}", table)
}

/// The chapter's scenario: add alice; sp1 { add bob; sp2 { add carol; rollback }; commit };
/// commit ⇒ alice and bob exist, carol does not.
async fn alice_bob_carol(db: TestDb) {
    let engine = db.engine().await;
    let t = people_table(&db, &engine).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&insert(&t), &params!["alice"]).await.unwrap();
    {
        let mut sp1 = tx.savepoint().await.unwrap();
        sp1.execute(&insert(&t), &params!["bob"]).await.unwrap();
        {
            let mut sp2 = sp1.savepoint().await.unwrap();
            assert_eq!(sp2.depth(), 3);
            sp2.execute(&insert(&t), &params!["carol"]).await.unwrap();
            sp2.rollback().await.unwrap();
        }
        sp1.commit().await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(names(&engine, &t).await, ["alice", "bob"]);
    db.assert_no_idle_in_transaction().await;
}

async fn three_deep(db: TestDb) {
    let engine = db.engine().await;
    let t = people_table(&db, &engine).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&insert(&t), &params!["a1"]).await.unwrap();
    let mut s1 = tx.savepoint().await.unwrap();
    s1.execute(&insert(&t), &params!["b2"]).await.unwrap();
    let mut s2 = s1.savepoint().await.unwrap();
    s2.execute(&insert(&t), &params!["c3"]).await.unwrap();
    let mut s3 = s2.savepoint().await.unwrap();
    assert_eq!(s3.depth(), 4);
    s3.execute(&insert(&t), &params!["d4"]).await.unwrap();
    s3.commit().await.unwrap();
    s2.rollback().await.unwrap(); // c3 and the released d4 go
    s1.execute(&insert(&t), &params!["e5"]).await.unwrap();
    s1.commit().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine, &t).await, ["a1", "b2", "e5"]);
}

async fn outer_rollback_discards_released_inner(db: TestDb) {
    let engine = db.engine().await;
    let t = people_table(&db, &engine).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&insert(&t), &params!["kept"]).await.unwrap();
    let mut outer = tx.savepoint().await.unwrap();
    let mut inner = outer.savepoint().await.unwrap();
    inner.execute(&insert(&t), &params!["inner"]).await.unwrap();
    inner.commit().await.unwrap();
    outer.rollback().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine, &t).await, ["kept"]);

    // And the whole transaction rolled back discards everything released inside it.
    let mut tx = engine.begin().await.unwrap();
    let mut sp = tx.savepoint().await.unwrap();
    sp.execute(&insert(&t), &params!["gone"]).await.unwrap();
    sp.commit().await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&engine, &t).await, 1);
}

async fn dropped_savepoint_rolls_back_to_itself_only(db: TestDb) {
    let engine = db.engine().await;
    let t = people_table(&db, &engine).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&insert(&t), &params!["before"]).await.unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(&insert(&t), &params!["dropped"]).await.unwrap();
        // dropped here without commit or rollback
    }
    tx.execute(&insert(&t), &params!["after"]).await.unwrap();
    let seen = tx
        .query(&format!("SELECT name FROM {t} ORDER BY name"), &[])
        .await
        .unwrap();
    let seen: Vec<String> = seen.iter().map(|r| r.get("name").unwrap()).collect();
    assert_eq!(seen, ["after", "before"]);
    tx.commit().await.unwrap();
    assert_eq!(names(&engine, &t).await, ["after", "before"]);
}

async fn named_savepoints(db: TestDb) {
    let engine = db.engine().await;
    let t = people_table(&db, &engine).await;
    let mut tx = engine.begin().await.unwrap();
    {
        let mut sp = tx.savepoint_named("Before_Bob").await.unwrap();
        sp.execute(&insert(&t), &params!["bob"]).await.unwrap();
        sp.rollback().await.unwrap();
    }
    for bad in ["", "1x", "a b", "x;DROP TABLE y", "quote\"d", "back`tick"] {
        let err = tx.savepoint_named(bad).await.unwrap_err();
        assert_eq!(err.kind(), txkit::ErrorKind::Config, "{bad}");
        assert!(err.to_string().contains("letters, digits"), "{err}");
    }
    // The transaction is still usable after refused names.
    tx.execute(&insert(&t), &params!["zed"]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine, &t).await, ["zed"]);
}
