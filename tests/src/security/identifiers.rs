//! Every path that takes a name at run time — the dialect's `quote_identifier` in DDL,
//! INSERT and SELECT, ORDER BY in the query builder (`Select::order_by` with a run-time
//! column name), lock `OF` tables (`RowLock::of`), `lock_table`, `savepoint_named` — given
//! the generated hostile names (see [`super::names`]): each is one exact identifier (the
//! server's catalog lists exactly the input, the row written under it reads back) or a
//! Config error; never a syntax error, never another statement. A canary table must stay
//! untouched and be the only other table. Entity names are `const`s (not run-time), so a
//! hostile entity is checked with fixed names. The pure part runs 10,000 names through
//! the three dialects without a server; the server part runs a few hundred per backend
//! (all 10,000 with `TXKIT_LONG=1`).

use txkit::core::Dialect;
use txkit::core::dialects::mysql::{MySqlDialect, ServerInfo};
use txkit::core::dialects::postgres::PgDialect;
use txkit::core::dialects::sqlite::SqliteDialect;
use txkit::entity::{ColumnDef, ColumnType, Select};
use txkit::{Column, Entity, ErrorKind, Row, RowLock, SortOrder, TableLock, Value};

use super::names::generate;
use crate::common::{Kind, TestDb, unique};
use crate::entities::Isolated;
use txkit::Engine;

const SEED: u64 = 0x7478_6b69_745f_3039;

/// A table `txkit_sec_probe (id)`, for ordering by a column named at run time.
#[derive(Debug)]
struct Probe {
    id: i64,
}

const PROBE_COLUMNS: &[ColumnDef] = &[ColumnDef {
    primary_key: true,
    ..ColumnDef::new("id", "id", ColumnType::BigInt)
}];

impl Entity for Probe {
    const TABLE: &'static str = "txkit_sec_probe";
    const COLUMNS: &'static [ColumnDef] = PROBE_COLUMNS;
    fn from_row(row: &Row) -> txkit::Result<Self> {
        Ok(Probe { id: row.get("id")? })
    }
    fn values(&self) -> Vec<Value> {
        vec![Value::from(self.id)]
    }
    fn set_generated(&mut self, _column: &str, _value: Value) -> txkit::Result<()> {
        Ok(())
    }
}

fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

/// The name inside `quoted`, or `None` if `quoted` is not exactly one quoted identifier.
fn unquote(quoted: &str, quote: char) -> Option<String> {
    let inner = quoted.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            // A quote inside must be doubled, or it would end the identifier.
            if chars.next() != Some(quote) {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

fn order_by_sql(d: &dyn Dialect, name: &str) -> txkit::Result<String> {
    Select::<Probe>::new()
        .order_by(Column::<Probe, i64>::new(leak(name)), SortOrder::Desc)
        .to_sql(d)
        .map(|(sql, _)| sql)
}

fn quote_char(d: &dyn Dialect) -> char {
    if d.name() == "sqlite" || d.name() == "postgres" {
        '"'
    } else {
        '`'
    }
}

/// One name through every path of `d` that renders without a server. Returns whether the
/// dialect accepted it.
fn check_rendering(d: &dyn Dialect, name: &str, i: usize) -> bool {
    let q = d.quote_identifier(name);
    let accepted = match &q {
        Ok(q) => {
            assert_eq!(
                unquote(q, quote_char(d)).as_deref(),
                Some(name),
                "{} name #{i} {name:?} quoted as {q:?}",
                d.name()
            );
            true
        }
        Err(e) => {
            assert_eq!(
                e.kind(),
                ErrorKind::Config,
                "{} name #{i} {name:?}: {e}",
                d.name()
            );
            false
        }
    };
    let quoted = q.as_deref().unwrap_or("");
    let same = |what: &str, r: txkit::Result<String>, allow_unsupported: bool| match r {
        Ok(sql) => {
            assert!(
                accepted,
                "{} {what} accepted refused name #{i} {name:?}: {sql}",
                d.name()
            );
            assert!(
                sql.contains(quoted),
                "{} {what} #{i}: {sql} lacks {quoted}",
                d.name()
            );
        }
        Err(e) if e.kind() == ErrorKind::Unsupported && allow_unsupported => {}
        Err(e) => {
            assert!(
                !accepted,
                "{} {what} refused accepted name #{i} {name:?}: {e}",
                d.name()
            );
            assert_eq!(
                e.kind(),
                ErrorKind::Config,
                "{} {what} #{i} {name:?}: {e}",
                d.name()
            );
        }
    };
    same("savepoint_sql", d.savepoint_sql(name), false);
    same(
        "rollback_to_savepoint_sql",
        d.rollback_to_savepoint_sql(name),
        false,
    );
    same(
        "row lock OF",
        d.row_lock_clause(&RowLock::update().of(name)),
        true,
    );
    same(
        "table_lock_sql",
        d.table_lock_sql(name, &TableLock::exclusive())
            .map(|v| v.join(";")),
        true,
    );
    // The query builder orders only by the entity's own columns: any other run-time name
    // is a Config error before quoting is even reached.
    match order_by_sql(d, name) {
        Ok(sql) => assert_eq!(name, "id", "order_by accepted undeclared {name:?}: {sql}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Config, "order_by #{i} {name:?}: {e}"),
    }
    accepted
}

#[test]
fn quoting_of_generated_names_in_every_dialect() {
    let names = generate(SEED, 10_000);
    let dialects: [Box<dyn Dialect>; 4] = [
        Box::new(PgDialect),
        Box::new(SqliteDialect),
        Box::new(MySqlDialect::new(ServerInfo::parse("10.11.6-MariaDB"))),
        Box::new(MySqlDialect::new(ServerInfo::parse("8.0.36"))),
    ];
    for d in &dialects {
        let mut accepted = 0;
        for (i, name) in names.iter().enumerate() {
            accepted += usize::from(check_rendering(d.as_ref(), name, i));
        }
        println!(
            "RELIABILITY security identifiers-quoting {} names={} quoted={accepted} refused_config={} \
             mismatches=0",
            d.name(),
            names.len(),
            names.len() - accepted
        );
    }
}

crate::matrix!(names_round_trip, hostile_entity_names);

/// The private namespace of the test: a schema (PostgreSQL), a database (MySQL) or the
/// test's own file (SQLite), made the connection's default.
async fn private_namespace(
    db: &TestDb,
    conn: &mut txkit::pool::ManagedConnection,
) -> Option<String> {
    let ns = unique("txkit_sec");
    match db.kind {
        Kind::Sqlite => return None,
        // The engine is on a database of its own ([`private_engine`]).
        Kind::Postgres if db.pooled => return Some("public".to_owned()),
        Kind::Postgres => {
            conn.execute(&format!("CREATE SCHEMA {ns}"), &[])
                .await
                .unwrap();
            conn.execute(&format!("SET search_path TO {ns}"), &[])
                .await
                .unwrap();
        }
        Kind::MySql => {
            conn.execute(&format!("CREATE DATABASE {ns}"), &[])
                .await
                .unwrap();
            conn.execute(&format!("USE {ns}"), &[]).await.unwrap();
        }
    }
    Some(ns)
}

/// An engine of `pool` connections for a scenario with a namespace of its own: behind a
/// pooler, on a database of its own (a `SET search_path` would not stay with the client),
/// removed by [`Isolated::finish`]; elsewhere on the test's database, where
/// [`private_namespace`] makes one.
async fn private_engine(db: &TestDb, pool: usize) -> (Engine, Option<Isolated>) {
    if db.pooled {
        let iso = Isolated::new(db, pool).await;
        (iso.engine.clone(), Some(iso))
    } else {
        (db.builder().pool_size(pool).build().await.unwrap(), None)
    }
}

async fn drop_namespace(
    db: &TestDb,
    conn: &mut txkit::pool::ManagedConnection,
    ns: Option<String>,
) {
    if db.pooled {
        return;
    }
    if let Some(ns) = ns {
        let sql = match db.kind {
            Kind::Postgres => format!("DROP SCHEMA {ns} CASCADE"),
            _ => format!("DROP DATABASE {ns}"),
        };
        conn.execute(&sql, &[]).await.unwrap();
    }
}

async fn strings(
    conn: &mut txkit::pool::ManagedConnection,
    sql: &str,
    params: &[Value],
) -> Vec<String> {
    let mut v: Vec<String> = conn
        .query(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect();
    v.sort();
    v
}

/// Tables in the namespace, as the catalog lists them.
async fn tables(
    db: &TestDb,
    conn: &mut txkit::pool::ManagedConnection,
    ns: &Option<String>,
) -> Vec<String> {
    match db.kind {
        Kind::Sqlite => {
            strings(
                conn,
                "SELECT name FROM sqlite_schema WHERE type = 'table'",
                &[],
            )
            .await
        }
        Kind::Postgres => {
            strings(
                conn,
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = ?",
                &[Value::from(ns.clone().unwrap())],
            )
            .await
        }
        Kind::MySql => strings(
            conn,
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = ?",
            &[Value::from(ns.clone().unwrap())],
        )
        .await,
    }
}

/// Columns of `table`, as the catalog lists them.
async fn columns(
    db: &TestDb,
    conn: &mut txkit::pool::ManagedConnection,
    ns: &Option<String>,
    table: &str,
) -> Vec<String> {
    match db.kind {
        Kind::Sqlite => {
            strings(
                conn,
                "SELECT name FROM pragma_table_info(?)",
                &[Value::from(table)],
            )
            .await
        }
        Kind::Postgres => {
            strings(
                conn,
                "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = ? AND table_name = ?",
                &[Value::from(ns.clone().unwrap()), Value::from(table)],
            )
            .await
        }
        Kind::MySql => {
            strings(
                conn,
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = ? AND table_name = ?",
                &[Value::from(ns.clone().unwrap()), Value::from(table)],
            )
            .await
        }
    }
}

#[derive(Default)]
struct Tally {
    round_trips: usize,
    refused: usize,
    of_ok: usize,
    of_unsupported: usize,
    lock_ok: usize,
    lock_unsupported: usize,
    savepoints: usize,
    ordered: usize,
    failures: Vec<String>,
}

/// One accepted name through every server path. Errors are failures (collected).
async fn round_trip(
    db: &TestDb,
    conn: &mut txkit::pool::ManagedConnection,
    ns: &Option<String>,
    name: &str,
    t: &mut Tally,
) -> Result<(), String> {
    let d = conn.dialect();
    let q = d.quote_identifier(name).map_err(|e| e.to_string())?;
    let of = d.row_lock_clause(&RowLock::update().of(name));
    let ex = |e: txkit::Error| format!("{:?}: {e}", e.kind());
    conn.execute(
        &format!("CREATE TABLE {q} (txkit_pk BIGINT PRIMARY KEY, {q} BIGINT NOT NULL)"),
        &[],
    )
    .await
    .map_err(ex)?;
    conn.execute(
        &format!("INSERT INTO {q} (txkit_pk, {q}) VALUES (?, ?)"),
        &[Value::from(1_i64), Value::from(7_i64)],
    )
    .await
    .map_err(ex)?;
    let rows = conn
        .query(
            &format!("SELECT {q} FROM {q} WHERE {q} = ?"),
            &[Value::from(7_i64)],
        )
        .await
        .map_err(ex)?;
    let got: i64 = rows.first().ok_or("no row read back")?.get(0).map_err(ex)?;
    if got != 7 {
        return Err(format!("read back {got}"));
    }
    let listed = tables(db, conn, ns).await;
    let mut want = vec!["canary".to_owned(), name.to_owned()];
    want.sort();
    if listed != want {
        return Err(format!("catalog lists tables {listed:?}"));
    }
    let cols = columns(db, conn, ns, name).await;
    let mut want = vec!["txkit_pk".to_owned(), name.to_owned()];
    want.sort();
    if cols != want {
        return Err(format!("catalog lists columns {cols:?}"));
    }
    {
        let mut tx = conn.begin().await.map_err(ex)?;
        match of {
            Ok(clause) => {
                tx.query(&format!("SELECT txkit_pk FROM {q} {clause}"), &[])
                    .await
                    .map_err(ex)?;
                t.of_ok += 1;
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => t.of_unsupported += 1,
            Err(e) => return Err(ex(e)),
        }
        match tx.lock_table(name, &TableLock::exclusive()).await {
            Ok(()) => t.lock_ok += 1,
            Err(e) if e.kind() == ErrorKind::Unsupported => t.lock_unsupported += 1,
            Err(e) => return Err(ex(e)),
        }
        match tx.savepoint_named(name).await {
            Ok(sp) => {
                sp.rollback().await.map_err(ex)?;
                t.savepoints += 1;
            }
            Err(e) if e.kind() == ErrorKind::Config => {}
            Err(e) => return Err(ex(e)),
        }
        tx.rollback().await.map_err(ex)?;
    }
    conn.execute(&format!("DROP TABLE {q}"), &[])
        .await
        .map_err(ex)?;
    match order_by_sql(conn.dialect(), name) {
        Err(e) if e.kind() == ErrorKind::Config => t.ordered += 1,
        // The probe entity does declare `id`: ordering by it is right.
        Ok(_) if name == "id" => t.ordered += 1,
        other => return Err(format!("order_by by an undeclared column: {other:?}")),
    }
    t.round_trips += 1;
    Ok(())
}

async fn names_round_trip(db: TestDb) {
    let n = if super::long() { 10_000 } else { 300 };
    let names = generate(SEED ^ 0x5eed, n);
    let (engine, isolated) = private_engine(&db, 2).await;
    let mut conn = engine.connection().await.unwrap();
    let ns = private_namespace(&db, &mut conn).await;
    conn.execute("CREATE TABLE canary (v BIGINT NOT NULL)", &[])
        .await
        .unwrap();
    conn.execute("INSERT INTO canary (v) VALUES (42)", &[])
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut t = Tally::default();
    for (i, name) in names.iter().enumerate() {
        if name.eq_ignore_ascii_case("txkit_pk") || name.eq_ignore_ascii_case("canary") {
            continue;
        }
        if conn.dialect().quote_identifier(name).is_err() {
            t.refused += 1;
            continue;
        }
        if let Err(e) = round_trip(&db, &mut conn, &ns, name, &mut t).await {
            t.failures.push(format!("#{i} {name:?}: {e}"));
            // Leave no half-made table behind for the next name.
            let d = conn.dialect();
            if let Ok(q) = d.quote_identifier(name) {
                let _ = conn
                    .execute(&format!("DROP TABLE IF EXISTS {q}"), &[])
                    .await;
            }
            let _ = conn
                .execute("DROP TABLE IF EXISTS txkit_sec_probe", &[])
                .await;
        }
    }
    let canary: Vec<i64> = conn
        .query("SELECT v FROM canary", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64>(0).unwrap())
        .collect();
    let left = tables(&db, &mut conn, &ns).await;
    drop_namespace(&db, &mut conn, ns).await;
    drop(conn);
    if let Some(isolated) = isolated {
        isolated.finish().await;
    }
    println!(
        "RELIABILITY security identifiers-round-trip {:?} names={n} round_trips={} refused_config={} \
         order_by_refused_config={} lock_of={} lock_of_unsupported={} lock_table={} lock_table_unsupported={} \
         savepoints={} failures={} canary_intact={} secs={}",
        db.kind,
        t.round_trips,
        t.refused,
        t.ordered,
        t.of_ok,
        t.of_unsupported,
        t.lock_ok,
        t.lock_unsupported,
        t.savepoints,
        t.failures.len(),
        canary == [42] && left == ["canary"],
        started.elapsed().as_secs()
    );
    assert!(
        t.failures.is_empty(),
        "{} names neither round-tripped nor were refused with Config:\n{}",
        t.failures.len(),
        t.failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(canary, [42], "the canary row changed");
    assert_eq!(left, ["canary"], "tables left behind");
}

/// An entity whose table and column names are hostile (they are `const`s: the Entity
/// trait takes no run-time names). DDL, insert, find, select and delete all quote them.
#[derive(Debug, txkit::Entity)]
#[txkit(table = "ent \"q\" 'a' `b`; DROP TABLE canary; --")]
struct Hostile {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(column = "v'al\"ue` /* -- ;")]
    v: i64,
}

async fn hostile_entity_names(db: TestDb) {
    let (engine, isolated) = private_engine(&db, 2).await;
    let mut conn = engine.connection().await.unwrap();
    let ns = private_namespace(&db, &mut conn).await;
    conn.execute("CREATE TABLE canary (v BIGINT NOT NULL)", &[])
        .await
        .unwrap();
    conn.create_table::<Hostile>().await.unwrap();
    conn.insert(&mut Hostile { id: 1, v: 5 }).await.unwrap();
    let found: Hostile = conn.find(1_i64).await.unwrap().unwrap();
    assert_eq!(found.v, 5);
    let selected: Vec<Hostile> = conn.select().filter(Hostile::V.eq(5)).all().await.unwrap();
    assert_eq!(selected.len(), 1);
    conn.insert(&mut Hostile { id: 2, v: 9 }).await.unwrap();
    let (sql, params) = Select::<Hostile>::new()
        .order_by(Hostile::V, SortOrder::Desc)
        .to_sql(conn.dialect())
        .unwrap();
    let ids: Vec<i64> = conn
        .query(&sql, &params)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64>("id").unwrap())
        .collect();
    assert_eq!(ids, [2, 1], "ORDER BY the hostile column");
    conn.delete(&Hostile { id: 2, v: 9 }).await.unwrap();
    let mut want = vec!["canary".to_owned(), Hostile::TABLE.to_owned()];
    want.sort();
    assert_eq!(tables(&db, &mut conn, &ns).await, want);
    let mut want_cols = vec!["id".to_owned(), "v'al\"ue` /* -- ;".to_owned()];
    want_cols.sort();
    assert_eq!(
        columns(&db, &mut conn, &ns, Hostile::TABLE).await,
        want_cols
    );
    conn.delete(&found).await.unwrap();
    conn.drop_table::<Hostile>().await.unwrap();
    assert_eq!(tables(&db, &mut conn, &ns).await, ["canary"]);
    drop_namespace(&db, &mut conn, ns).await;
    drop(conn);
    if let Some(isolated) = isolated {
        isolated.finish().await;
    }
    println!(
        "RELIABILITY security hostile-entity {:?} table_and_column_round_trip=1 order_by_hostile_column=1 canary_intact=true",
        db.kind
    );
}
