//! The session as a unit of work on every backend: load → change → commit writes what
//! changed (only the changed columns, version checked and advanced), one object per row
//! (identity map), refresh / expunge / delete by key, nested scopes that put objects back,
//! and one conflict contract: a lost optimistic race is StaleData everywhere.

use txkit::{Entity, ErrorKind, RowLock, SortOrder, params};

use crate::common::{Kind, TestDb};
use crate::entities::Isolated;
use crate::entities::fixtures::Doc;
use crate::session::{Acct, seeded};

crate::matrix!(
    sea_orm:
    uow_load_change_commit_writes,
    uow_writes_only_changed_columns,
    uow_unchanged_objects_write_nothing,
    uow_identity_map_one_object_per_row,
    uow_delete_refresh_expunge,
    uow_key_or_version_changed_by_hand_is_refused,
    uow_nested_rollback_restores_objects,
    uow_lost_race_is_stale_data,
    uow_lost_race_in_a_batch_names_the_row,
    uow_lost_race_to_the_same_values_is_stale_data,
    uow_flushes_in_opposite_load_orders_do_not_deadlock,
    uow_flush_of_large_values_is_split_to_fit_the_server,
    uow_update_of_many_objects,
);

/// The row as the database has it now: (owner, balance, version), read by a session of its
/// own.
async fn row(iso: &Isolated, id: i64) -> (String, i64, i64) {
    let mut s = iso.engine.session();
    let a = s.get::<Acct>(id).await.unwrap().expect("row exists");
    let out = (a.owner.clone(), a.balance, a.version);
    s.rollback().await.unwrap();
    out
}

/// The idiom of SQLAlchemy's chapter, as a newcomer writes it: no `update` call.
async fn uow_load_change_commit_writes(db: TestDb) {
    let (iso, ids) = seeded(&db, 2, &["ann", "bob"]).await;
    let mut session = iso.engine.session();
    let a = session
        .query::<Acct>()
        .filter_by(Acct::ID, ids[0])
        .first()
        .await
        .unwrap()
        .unwrap();
    a.balance += 100;
    assert!(session.is_modified());
    session.commit().await.unwrap();
    // Written, and the version advanced by the flush (seeded at 1).
    assert_eq!(row(&iso, ids[0]).await, ("ann".into(), 110, 2));
    assert_eq!(row(&iso, ids[1]).await, ("bob".into(), 20, 1));

    // get() does the same by key, and two objects can be changed in one unit of work.
    let mut session = iso.engine.session();
    session.get::<Acct>(ids[0]).await.unwrap().unwrap().balance -= 10;
    session.get::<Acct>(ids[1]).await.unwrap().unwrap().balance += 10;
    session.commit().await.unwrap();
    // get_many() lends several at once, in the order asked; a missing key is None.
    let mut session = iso.engine.session();
    let mut both = session
        .get_many::<Acct, _>([ids[1], -1, ids[0]])
        .await
        .unwrap();
    let [Some(b), None, Some(a)] = both.as_mut_slice() else {
        panic!("get_many: {both:?}");
    };
    (a.balance, b.balance) = (a.balance - 1, b.balance + 1);
    let twice = session.get_many::<Acct, _>([ids[0], ids[0]]).await;
    assert_eq!(twice.unwrap_err().kind(), ErrorKind::Usage);
    session.commit().await.unwrap();
    assert_eq!(row(&iso, ids[0]).await.1, 99);
    assert_eq!(row(&iso, ids[1]).await.1, 31);
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// The flush's UPDATE sets the changed columns only: a column changed in the database
/// after the load (here by the same transaction, which every backend allows) keeps its new
/// value, which a flush of every column would overwrite with the loaded one.
async fn uow_writes_only_changed_columns(db: TestDb) {
    let (iso, ids) = seeded(&db, 1, &["ann"]).await;
    let mut session = iso.engine.session();
    let a = session.get::<Acct>(ids[0]).await.unwrap().unwrap();
    a.balance = 77;
    // execute() flushes first: the balance is written now, the owner left alone.
    session
        .execute(
            &format!("UPDATE {} SET owner = ? WHERE id = ?", Acct::TABLE),
            &params!["changed by sql", ids[0]],
        )
        .await
        .unwrap();
    let a = session.get::<Acct>(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (a.owner.as_str(), a.balance),
        ("ann", 77),
        "the object is as loaded"
    );
    a.balance = 78; // changes only the balance again
    session.commit().await.unwrap();
    assert_eq!(row(&iso, ids[0]).await, ("changed by sql".into(), 78, 3));
    iso.finish().await;
}

/// An object that was loaded but not changed is not written: its version stays.
async fn uow_unchanged_objects_write_nothing(db: TestDb) {
    let (iso, ids) = seeded(&db, 1, &["ann", "bob"]).await;
    let mut session = iso.engine.session();
    let all = session.query::<Acct>().all().await.unwrap();
    assert_eq!(all.len(), 2);
    let a = &all[0];
    let _ = a.balance; // read, not changed
    assert!(!session.is_modified());
    session.flush().await.unwrap();
    session.commit().await.unwrap();
    assert_eq!(row(&iso, ids[0]).await.2, 1);
    assert_eq!(row(&iso, ids[1]).await.2, 1);
    // Changed and changed back: nothing to write either.
    let mut session = iso.engine.session();
    let a = session.get::<Acct>(ids[0]).await.unwrap().unwrap();
    a.balance += 5;
    a.balance -= 5;
    assert!(!session.is_modified());
    session.commit().await.unwrap();
    assert_eq!(row(&iso, ids[0]).await.2, 1);
    iso.finish().await;
}

/// The same row loaded twice in one session is one object: a second load returns it as it
/// is (unflushed changes kept, not overwritten by the row), and refresh() reads it again.
async fn uow_identity_map_one_object_per_row(db: TestDb) {
    let (iso, ids) = seeded(&db, 1, &["ann", "bob"]).await;
    let mut session = iso.engine.session();
    session.get::<Acct>(ids[0]).await.unwrap().unwrap().owner = "renamed".into();
    // get() finds the object in the map: the change is there, nothing was flushed.
    let again = session.get::<Acct>(ids[0]).await.unwrap().unwrap();
    assert_eq!(again.owner, "renamed");
    // The row changes behind the session's back (same transaction, after a flush of the
    // rename); a query returns the session's object, not the row's new balance.
    session
        .execute(
            &format!("UPDATE {} SET balance = 999 WHERE id = ?", Acct::TABLE),
            &params![ids[0]],
        )
        .await
        .unwrap();
    let via_query = session
        .query::<Acct>()
        .filter(Acct::ID.in_([ids[0], ids[1]]))
        .order_by(Acct::ID, SortOrder::Asc)
        .all()
        .await
        .unwrap();
    assert_eq!(
        via_query
            .iter()
            .map(|a| (a.owner.as_str(), a.balance))
            .collect::<Vec<_>>(),
        [("renamed", 10), ("bob", 20)]
    );
    // refresh() reads the row again.
    let fresh = session.refresh::<Acct>(ids[0]).await.unwrap().unwrap();
    assert_eq!((fresh.owner.as_str(), fresh.balance), ("renamed", 999));
    session.commit().await.unwrap();
    assert_eq!(row(&iso, ids[0]).await, ("renamed".into(), 999, 2));
    iso.finish().await;
}

async fn uow_delete_refresh_expunge(db: TestDb) {
    let (iso, ids) = seeded(&db, 2, &["ann", "bob", "cy"]).await;
    let mut session = iso.engine.session();
    // delete() by key reads the object if need be; get() no longer finds it.
    assert!(session.delete::<Acct>(ids[0]).await.unwrap());
    assert!(session.get::<Acct>(ids[0]).await.unwrap().is_none());
    assert!(!session.delete::<Acct>(-1).await.unwrap(), "no such row");
    // expunge() takes an object out: its changes are never written.
    session.get::<Acct>(ids[1]).await.unwrap().unwrap().balance = -5;
    let taken = session.expunge::<Acct>(ids[1]).unwrap();
    assert_eq!(taken.balance, -5);
    // refresh() discards unflushed changes.
    session.get::<Acct>(ids[2]).await.unwrap().unwrap().balance = -7;
    let cy = session.refresh::<Acct>(ids[2]).await.unwrap().unwrap();
    assert_eq!(cy.balance, 30);
    // add() gives an object to the session; its key is set by the flush.
    let added = session.add(Acct::new("dee", 40));
    assert_eq!(session.entity(added).unwrap().id, 0);
    session.flush().await.unwrap();
    let dee_id = session.entity(added).unwrap().id;
    assert!(dee_id > ids[2], "{dee_id}");
    assert_eq!(session.entity(added).unwrap().version, 1);
    // …and it is the object get() finds by that key.
    session.get::<Acct>(dee_id).await.unwrap().unwrap().balance = 41;
    assert_eq!(session.entity(added).unwrap().balance, 41);
    // An object added with its key: get() flushes its INSERT and finds that object.
    let explicit = session.add(Acct {
        id: 90_000,
        ..Acct::new("eve", 50)
    });
    session.get::<Acct>(90_000).await.unwrap().unwrap().balance = 51;
    assert_eq!(session.entity(explicit).unwrap().balance, 51);
    session.commit().await.unwrap();

    let mut check = iso.engine.session();
    let left: Vec<(String, i64)> = check
        .query::<Acct>()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.owner.clone(), a.balance))
        .collect();
    check.rollback().await.unwrap();
    assert_eq!(
        left,
        [
            ("bob".into(), 20),
            ("cy".into(), 30),
            ("dee".into(), 41),
            ("eve".into(), 51)
        ]
    );

    // A delete of an object whose row moved on is StaleData (version-checked).
    let mut session = iso.engine.session();
    assert!(session.delete::<Acct>(ids[1]).await.unwrap());
    let mut writer = iso.engine.connection().await.unwrap();
    writer
        .execute(
            &format!("UPDATE {} SET version = 9 WHERE id = ?", Acct::TABLE),
            &params![ids[1]],
        )
        .await
        .unwrap();
    drop(writer);
    let e = session.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData, "{e}");
    assert!(e.is_conflict());
    assert_eq!(row(&iso, ids[1]).await.2, 9, "nothing was deleted");
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// A loaded object's primary key or version changed by hand is misuse, refused at the
/// flush with a Usage error that says what to do instead; nothing is written and the
/// session's transaction is rolled back.
async fn uow_key_or_version_changed_by_hand_is_refused(db: TestDb) {
    let (iso, ids) = seeded(&db, 1, &["ann"]).await;
    for (what, change) in [
        (
            "primary key",
            (|a: &mut Acct| a.id += 1000) as fn(&mut Acct),
        ),
        ("version", |a: &mut Acct| a.version += 1),
    ] {
        let mut session = iso.engine.session();
        let a = session.get::<Acct>(ids[0]).await.unwrap().unwrap();
        a.balance = 0;
        change(a);
        let e = session.commit().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage, "{what}: {e}");
        let advice = if what == "version" {
            "leave it as loaded"
        } else {
            "expunge()"
        };
        assert!(e.to_string().contains(advice), "{what}: {e}");
        assert_eq!(
            row(&iso, ids[0]).await,
            ("ann".into(), 10, 1),
            "{what}: nothing written"
        );
    }
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// A nested scope that rolls back returns every object to what it was when it began:
/// changes flushed inside it are undone in memory as in the database, objects added inside
/// it leave the session. One that commits keeps them.
async fn uow_nested_rollback_restores_objects(db: TestDb) {
    let (iso, ids) = seeded(&db, 1, &["ann", "bob", "cy"]).await;
    let mut session = iso.engine.session();
    session.get::<Acct>(ids[0]).await.unwrap().unwrap().balance = 11;
    let added;
    {
        let mut nested = session.begin_nested().await.unwrap();
        nested.get::<Acct>(ids[0]).await.unwrap().unwrap().balance = 500;
        added = nested.add(Acct::new("inside", 1));
        nested.flush().await.unwrap(); // both written inside the savepoint
        nested.rollback().await.unwrap();
    }
    assert_eq!(
        session.entity(added).map(|a| a.id),
        None,
        "added inside: gone"
    );
    let a = session.get::<Acct>(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (a.balance, a.version),
        (11, 2),
        "as flushed before the scope"
    );
    {
        let mut nested = session.begin_nested().await.unwrap();
        nested.get::<Acct>(ids[1]).await.unwrap().unwrap().balance = 21;
        nested.commit().await.unwrap();
    }
    {
        // Dropped without commit: rolled back, objects restored.
        let mut nested = session.begin_nested().await.unwrap();
        nested.get::<Acct>(ids[1]).await.unwrap().unwrap().balance = -1;
        nested.flush().await.unwrap();
    }
    {
        // A nested scope lends several objects at once (one the session holds, one read
        // now) and takes several new ones, as its session does; rolled back, all undone.
        let mut nested = session.begin_nested().await.unwrap();
        let mut both = nested.get_many::<Acct, _>([ids[2], ids[0]]).await.unwrap();
        let [Some(c), Some(a)] = both.as_mut_slice() else {
            panic!("get_many in a nested scope: {both:?}");
        };
        assert_eq!((a.id, c.id), (ids[0], ids[2]), "in the order asked");
        (a.balance, c.balance) = (0, 0);
        let added = nested.add_all([Acct::new("x", 1), Acct::new("y", 1)]);
        nested.flush().await.unwrap();
        assert!(
            added
                .iter()
                .all(|&h| nested.entity(h).is_some_and(|a| a.id > 0))
        );
        nested.rollback().await.unwrap();
    }
    assert_eq!(
        session.get::<Acct>(ids[1]).await.unwrap().unwrap().balance,
        21
    );
    session.commit().await.unwrap();
    assert_eq!(row(&iso, ids[0]).await, ("ann".into(), 11, 2));
    assert_eq!(row(&iso, ids[1]).await, ("bob".into(), 21, 2));
    assert_eq!(row(&iso, ids[2]).await, ("cy".into(), 30, 1));
    let mut s = iso.engine.session();
    assert_eq!(
        s.query::<Acct>().count().await.unwrap(),
        3,
        "no row 'inside', 'x' or 'y'"
    );
    s.rollback().await.unwrap();
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// Two sessions load one versioned row and both change it; the second to commit loses,
/// with StaleData on every backend (on SQLite the server reports SQLITE_BUSY_SNAPSHOT
/// before the version is compared; txkit reports it as StaleData too) and nothing of it
/// is written.
async fn uow_lost_race_is_stale_data(db: TestDb) {
    let (iso, ids) = seeded(&db, 2, &["ann"]).await;
    let mut first = iso.engine.session();
    let mut second = iso.engine.session();
    first.get::<Acct>(ids[0]).await.unwrap().unwrap().balance += 1;
    second.get::<Acct>(ids[0]).await.unwrap().unwrap().balance += 100;
    first.commit().await.unwrap();
    let e = second.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData, "{e}");
    assert!(e.is_conflict() && e.is_retryable());
    let info = e.stale_info().expect("stale info");
    assert_eq!(
        (
            info.table.as_str(),
            info.key.clone(),
            info.expected_version.as_str()
        ),
        (Acct::TABLE, ids[0].to_string(), "1")
    );
    if db.kind == Kind::Sqlite && !db.sea_orm {
        assert_eq!(e.code(), Some("SQLITE_BUSY_SNAPSHOT"), "{e}");
    }
    assert_eq!(row(&iso, ids[0]).await, ("ann".into(), 11, 2));
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// Five changed rows flushed together (one UPDATE on PostgreSQL and MariaDB), one of which
/// another session changed and committed first: StaleData, naming that row where the server
/// compares versions (SQLite refuses the whole stale snapshot first), and nothing of the
/// flush is written.
async fn uow_lost_race_in_a_batch_names_the_row(db: TestDb) {
    let (iso, ids) = seeded(&db, 2, &["a", "b", "c", "d", "e"]).await;
    let mut loser = iso.engine.session();
    let all = loser.query::<Acct>().all().await.unwrap();
    assert_eq!(all.len(), 5);
    let mut winner = iso.engine.session();
    winner.get::<Acct>(ids[2]).await.unwrap().unwrap().balance += 1;
    winner.commit().await.unwrap();
    for a in all {
        a.balance += 100;
    }
    let e = loser.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData, "{e}");
    let info = e.stale_info().expect("stale info");
    if db.kind != Kind::Sqlite {
        assert_eq!(
            (info.key.clone(), info.expected_version.as_str()),
            (ids[2].to_string(), "1"),
            "{e}"
        );
    }
    for (n, id) in ids.iter().enumerate() {
        let opening = (n as i64 + 1) * 10;
        let expected = match n {
            2 => (opening + 1, 2),
            _ => (opening, 1),
        };
        let (_, balance, version) = row(&iso, *id).await;
        assert_eq!((balance, version), expected, "row {id}");
    }
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// The same race, lost to a session that wrote the very balance and version the flush
/// writes: still StaleData (a row named only where the server can tell which), and the
/// other rows keep their values.
async fn uow_lost_race_to_the_same_values_is_stale_data(db: TestDb) {
    let (iso, ids) = seeded(&db, 2, &["a", "b", "c"]).await;
    let mut loser = iso.engine.session();
    let all = loser.query::<Acct>().all().await.unwrap();
    let mut winner = iso.engine.session();
    winner.get::<Acct>(ids[1]).await.unwrap().unwrap().balance += 100;
    winner.commit().await.unwrap();
    for a in all {
        a.balance += 100;
    }
    let e = loser.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData, "{e}");
    if let (Some(info), false) = (e.stale_info(), db.kind == Kind::Sqlite) {
        assert_eq!(info.key, ids[1].to_string(), "{e}");
    }
    let mut now = Vec::new();
    for id in &ids {
        let (_, balance, version) = row(&iso, *id).await;
        now.push((balance, version));
    }
    assert_eq!(now, [(10, 1), (120, 2), (30, 1)]);
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// Two sessions load the same 40 rows in opposite orders, change every one and commit at
/// once, twenty times over: each time one commits and the other gets StaleData — never a
/// deadlock, which UPDATEs sent row by row in load order would cross into (on SQLite,
/// whose write lock is the whole file, the loser may get SQLITE_BUSY instead).
async fn uow_flushes_in_opposite_load_orders_do_not_deadlock(db: TestDb) {
    let owners: Vec<String> = (0..40).map(|i| format!("o{i}")).collect();
    let refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    let (iso, ids) = seeded(&db, 2, &refs).await;
    for round in 0..20 {
        let mut up = iso.engine.session();
        let mut down = iso.engine.session();
        for (session, order) in [(&mut up, SortOrder::Asc), (&mut down, SortOrder::Desc)] {
            let rows = session
                .query::<Acct>()
                .order_by(Acct::ID, order)
                .all()
                .await
                .unwrap();
            assert_eq!(rows.len(), ids.len());
            for a in rows {
                a.balance += 1;
            }
        }
        let (a, b) = tokio::join!(up.commit(), down.commit());
        let kinds = [&a, &b].map(|r| r.as_ref().err().map(txkit::Error::kind));
        // On SQLite the loser may also be refused the write lock outright (SQLITE_BUSY):
        // a transaction that has read cannot wait for another writer without deadlock.
        let lost = |k: Option<ErrorKind>| match db.kind {
            Kind::Sqlite => matches!(k, Some(ErrorKind::StaleData | ErrorKind::LockTimeout)),
            _ => k == Some(ErrorKind::StaleData),
        };
        assert!(
            (kinds[0].is_none() && lost(kinds[1])) || (kinds[1].is_none() && lost(kinds[0])),
            "round {round}: {a:?} / {b:?}"
        );
    }
    let (_, balance, version) = row(&iso, ids[0]).await;
    assert_eq!((balance, version), (10 + 20, 21));
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// Twelve changed rows of 1.5 MB each, 18 MB in all: more than MariaDB takes in one
/// packet (`max_allowed_packet`, 16 MiB here), so the flush splits them over statements of
/// about 1 MiB each instead of sending one UPDATE that fails; every row is written.
async fn uow_flush_of_large_values_is_split_to_fit_the_server(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let mut conn = iso.engine.connection().await.unwrap();
    conn.create_table::<Doc>().await.unwrap();
    drop(conn);
    let mut session = iso.engine.session();
    session.add_all((1..=12).map(|id| Doc {
        id,
        body: "draft".into(),
        rev: String::new(),
    }));
    session.commit().await.unwrap();
    let big = |id: i64| format!("{}{id}", "x".repeat(1_500_000));
    let mut session = iso.engine.session();
    for doc in session.query::<Doc>().all().await.unwrap() {
        doc.body = big(doc.id);
    }
    session.commit().await.unwrap();
    let mut session = iso.engine.session();
    let docs = session.query::<Doc>().all().await.unwrap();
    assert_eq!(docs.len(), 12);
    for doc in docs {
        assert!(
            doc.body == big(doc.id),
            "row {}: {} bytes",
            doc.id,
            doc.body.len()
        );
        assert!(doc.rev.starts_with("r2-"), "{}", doc.rev);
    }
    session.rollback().await.unwrap();
    iso.finish().await;
}

/// Many changed objects in one flush: each row gets its own value and version, and a
/// transaction-level query with a row lock reads them back.
async fn uow_update_of_many_objects(db: TestDb) {
    let owners: Vec<String> = (0..25).map(|i| format!("o{i}")).collect();
    let refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    let (iso, ids) = seeded(&db, 1, &refs).await;
    let mut session = iso.engine.session();
    for a in session.query::<Acct>().all().await.unwrap() {
        a.balance = a.id * 1000;
        if a.id % 2 == 0 {
            a.owner = format!("even {}", a.id); // a second statement shape
        }
    }
    session.commit().await.unwrap();
    let mut conn = iso.engine.connection().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let back = tx
        .select::<Acct>()
        .with_for_update(RowLock::update())
        .all()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(back.len(), ids.len());
    for a in back {
        assert_eq!((a.balance, a.version), (a.id * 1000, 2), "{a:?}");
        let even = a.id % 2 == 0;
        assert_eq!(a.owner.starts_with("even"), even, "{a:?}");
    }
    iso.finish().await;
}
