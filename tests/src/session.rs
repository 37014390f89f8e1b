//! Sessions on every backend: lazy BEGIN, add / flush / commit / rollback with generated
//! keys written back, nested scopes, drop = rollback, and the entity query builder.

use txkit::{Entity, ErrorKind, SortOrder, create_all};

use crate::common::TestDb;
use crate::entities::Isolated;

/// A versioned entity with an auto-increment key, for the session tests.
#[derive(Debug, Clone, PartialEq, txkit::Entity)]
#[txkit(table = "session_accounts")]
pub(crate) struct Acct {
    #[txkit(primary_key, auto_increment)]
    pub(crate) id: i64,
    #[txkit(max_len = 64)]
    pub(crate) owner: String,
    pub(crate) balance: i64,
    #[txkit(version)]
    pub(crate) version: i64,
}

impl Acct {
    pub(crate) fn new(owner: &str, balance: i64) -> Self {
        Self {
            id: 0,
            owner: owner.to_owned(),
            balance,
            version: 0,
        }
    }
}

/// An isolated database with the `session_accounts` table holding `owners` (balances 10,
/// 20, …), their keys returned in order.
pub(crate) async fn seeded(db: &TestDb, pool: usize, owners: &[&str]) -> (Isolated, Vec<i64>) {
    let iso = Isolated::new(db, pool).await;
    create_all(&iso.engine, &[Acct::table()]).await.unwrap();
    let mut rows: Vec<Acct> = owners
        .iter()
        .zip(1..)
        .map(|(o, i)| Acct::new(o, i * 10))
        .collect();
    let mut session = iso.engine.session();
    session.add_all_borrowed(rows.iter_mut());
    session.commit().await.unwrap();
    let ids = rows.iter().map(|r| r.id).collect();
    (iso, ids)
}

async fn owners(iso: &Isolated) -> Vec<String> {
    let mut session = iso.engine.session();
    let rows = session
        .query::<Acct>()
        .order_by(Acct::OWNER, SortOrder::Asc)
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.owner.clone())
        .collect();
    session.rollback().await.unwrap();
    rows
}

crate::matrix!(
    sea_orm:
    session_add_flush_commit_writes_keys_back,
    session_rollback_and_drop_discard,
    session_nested_scopes_pending_work,
    session_query_builder_reads,
    session_first_statement_error_leaves_transaction_open,
);

async fn session_add_flush_commit_writes_keys_back(db: TestDb) {
    let (iso, _) = seeded(&db, 2, &[]).await;
    let engine = iso.engine.clone();
    let before = engine.status().checked_out;
    let (mut a, mut b, mut c) = (Acct::new("a", 1), Acct::new("b", 2), Acct::new("c", 3));
    {
        let mut session = engine.session();
        session.add_borrowed(&mut a);
        session.add_all_borrowed([&mut b, &mut c]);
        // Nothing is sent, and no connection is taken, before the first statement.
        assert!(!session.is_active());
        assert_eq!(engine.status().checked_out, before);
        assert_eq!(session.pending(), 3);
        session.flush().await.unwrap();
        assert!(session.is_active());
        assert_eq!(session.pending(), 0);
        // The session sees its own flushed rows.
        assert_eq!(session.query::<Acct>().count().await.unwrap(), 3);
        session.commit().await.unwrap();
    }
    // Generated keys and first versions were written back into the borrowed entities.
    assert!(a.id > 0 && b.id > a.id && c.id > b.id, "{a:?} {b:?} {c:?}");
    assert_eq!((a.version, b.version, c.version), (1, 1, 1));

    // update: versioned, and the new version comes back.
    a.balance = 100;
    let mut stale = b.clone();
    {
        let mut session = engine.session();
        session.update_borrowed(&mut a);
        session.update_borrowed(&mut b);
        session.commit().await.unwrap();
    }
    assert_eq!((a.version, b.version), (2, 2));
    // A stale copy is refused at flush, and commit refuses after a failed flush.
    stale.balance = -1;
    let mut session = engine.session();
    session.update_borrowed(&mut stale);
    let e = session.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData, "{e}");
    // delete
    let mut session = engine.session();
    session.delete_borrowed(&c);
    session.commit().await.unwrap();
    assert_eq!(owners(&iso).await, ["a", "b"]);
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn session_rollback_and_drop_discard(db: TestDb) {
    let (iso, _) = seeded(&db, 2, &["keep"]).await;
    let engine = iso.engine.clone();
    let mut flushed = Acct::new("flushed", 1);
    let mut unflushed = Acct::new("unflushed", 1);
    {
        let mut session = engine.session();
        session.add_borrowed(&mut flushed);
        session.flush().await.unwrap();
        session.add_borrowed(&mut unflushed);
        session.rollback().await.unwrap();
    }
    // The flushed insert was rolled back, so the key it stored is taken back: no key of
    // a row that does not exist.
    assert_eq!((flushed.id, flushed.version), (0, 0), "{flushed:?}");
    assert_eq!(unflushed.id, 0, "pending work was never sent");
    assert_eq!(owners(&iso).await, ["keep"]);

    // Dropping a session rolls it back; its connection is clean when reused.
    let mut dropped = Acct::new("dropped", 1);
    {
        let mut session = engine.session();
        session.add_borrowed(&mut dropped);
        session.flush().await.unwrap();
    }
    assert_eq!(dropped.id, 0, "{dropped:?}");
    assert_eq!(owners(&iso).await, ["keep"]);
    // A session that never ran a statement sends nothing on commit.
    engine.session().commit().await.unwrap();
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn session_nested_scopes_pending_work(db: TestDb) {
    let (iso, _) = seeded(&db, 2, &[]).await;
    let engine = iso.engine.clone();
    let mut outer = Acct::new("outer", 1);
    let mut discarded = Acct::new("discarded", 1);
    let mut undone = Acct::new("undone", 1);
    let mut kept = Acct::new("kept", 1);
    let mut deep = Acct::new("deep", 1);
    {
        let mut session = engine.session();
        session.add_borrowed(&mut outer);
        {
            // The outer pending insert is flushed before the savepoint is set…
            let mut nested = session.begin_nested().await.unwrap();
            assert_eq!(nested.depth(), 2);
            nested.add_borrowed(&mut discarded);
            // …and the nested scope's own pending work goes with its rollback.
            nested.rollback().await.unwrap();
        }
        {
            let mut nested = session.begin_nested().await.unwrap();
            nested.add_borrowed(&mut undone);
            nested.flush().await.unwrap();
            nested.rollback().await.unwrap(); // ROLLBACK TO: the flushed row is undone
        }
        {
            let mut nested = session.begin_nested().await.unwrap();
            nested.add_borrowed(&mut kept);
            {
                let mut inner = nested.begin_nested().await.unwrap();
                assert_eq!(inner.depth(), 3);
                inner.add_borrowed(&mut deep);
                inner.commit().await.unwrap();
            }
            nested.commit().await.unwrap();
        }
        {
            // Dropped unfinished: rolled back to its savepoint.
            let mut nested = session.begin_nested().await.unwrap();
            nested
                .execute(
                    &format!("DELETE FROM {} WHERE owner = 'outer'", Acct::TABLE),
                    &[],
                )
                .await
                .unwrap();
        }
        assert_eq!(session.query::<Acct>().count().await.unwrap(), 3);
        session.commit().await.unwrap();
    }
    assert!(outer.id > 0 && kept.id > 0 && deep.id > 0);
    // Rolled back to their savepoints: no phantom keys.
    assert_eq!((discarded.id, undone.id), (0, 0));
    assert_eq!(owners(&iso).await, ["deep", "kept", "outer"]);
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn session_query_builder_reads(db: TestDb) {
    let (iso, ids) = seeded(&db, 2, &["ann", "bob", "cy", "dee", "eve"]).await;
    let mut s = iso.engine.session();
    let all = s.query::<Acct>().all().await.unwrap();
    assert_eq!(all.iter().map(|a| a.id).collect::<Vec<_>>(), ids);
    let rich = s
        .query::<Acct>()
        .filter(Acct::BALANCE.ge(30))
        .order_by(Acct::BALANCE, SortOrder::Desc)
        .all()
        .await
        .unwrap();
    assert_eq!(
        rich.iter().map(|a| a.owner.as_str()).collect::<Vec<_>>(),
        ["eve", "dee", "cy"]
    );
    let page = s
        .query::<Acct>()
        .order_by(Acct::OWNER, SortOrder::Asc)
        .limit(2)
        .offset(1)
        .all()
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|a| a.owner.as_str()).collect::<Vec<_>>(),
        ["bob", "cy"]
    );
    let skipped = s.query::<Acct>().offset(3).count().await.unwrap();
    assert_eq!(skipped, 2);
    let either = s
        .query::<Acct>()
        .filter(Acct::OWNER.eq("ann").or(Acct::ID.in_([ids[4]])))
        .count()
        .await
        .unwrap();
    assert_eq!(either, 2);
    let bob = s
        .query::<Acct>()
        .filter_by(Acct::OWNER, "bob")
        .one()
        .await
        .unwrap();
    assert_eq!(bob.balance, 20);
    assert!(
        s.query::<Acct>()
            .filter_by(Acct::OWNER, "zed")
            .one_or_none()
            .await
            .unwrap()
            .is_none()
    );
    let first = s
        .query::<Acct>()
        .order_by(Acct::BALANCE, SortOrder::Desc)
        .first()
        .await
        .unwrap();
    assert_eq!(first.unwrap().owner, "eve");
    let none = s.query::<Acct>().filter_by(Acct::OWNER, "zed").one().await;
    let none = none.unwrap_err();
    assert!(none.to_string().contains("no row"), "{none}");
    // The caller's expectation failed, not the server: a usage error, never Database.
    assert_eq!(none.kind(), ErrorKind::Usage, "{none}");
    let many = s.query::<Acct>().one().await.unwrap_err();
    assert!(many.to_string().contains("5 match"), "{many}");
    assert_eq!(many.kind(), ErrorKind::Usage, "{many}");
    let empty_in = s
        .query::<Acct>()
        .filter(Acct::ID.in_(Vec::<i64>::new()))
        .count()
        .await
        .unwrap();
    assert_eq!(empty_in, 0);
    let e = s
        .query::<Acct>()
        .with_for_update(txkit::RowLock::update())
        .count()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    s.rollback().await.unwrap();
    iso.finish().await;
}

/// BEGIN goes out with the first statement; when that statement fails, the transaction is
/// still open (the core saw BEGIN succeed) and rolls back cleanly.
async fn session_first_statement_error_leaves_transaction_open(db: TestDb) {
    let (iso, _) = seeded(&db, 1, &["x"]).await;
    let mut session = iso.engine.session();
    let e = session
        .execute("INSERT INTO no_such_table_txkit (a) VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert!(session.is_active());
    session.rollback().await.unwrap();
    // The one pooled connection is clean and usable.
    assert_eq!(owners(&iso).await, ["x"]);
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}
