//! Snapshots (exact strings) of the SELECTs the session query builder renders, per
//! dialect: PostgreSQL, SQLite, MySQL 8 and MariaDB (whose lock syntax differs).

use txkit::core::Dialect;
use txkit::entity::Select;
use txkit::mysql::{MySqlDialect, ServerInfo};
use txkit::postgres::PgDialect;
use txkit::sqlite::SqliteDialect;
use txkit::{ErrorKind, RowLock, SortOrder, Value};

use crate::session::Acct;

const PG_COLS: &str =
    "SELECT \"id\", \"owner\", \"balance\", \"version\" FROM \"session_accounts\"";
const MY_COLS: &str = "SELECT `id`, `owner`, `balance`, `version` FROM `session_accounts`";

fn mysql8() -> MySqlDialect {
    MySqlDialect::new(ServerInfo::mysql(8, 0, 36))
}

fn mariadb() -> MySqlDialect {
    MySqlDialect::new(ServerInfo::mariadb(10, 11, 6))
}

fn sql(select: &Select<Acct>, dialect: &dyn Dialect) -> String {
    select.to_sql(dialect).unwrap().0
}

fn err(select: &Select<Acct>, dialect: &dyn Dialect) -> ErrorKind {
    select.to_sql(dialect).unwrap_err().kind()
}

#[test]
fn filtered_ordered_page() {
    let q = Select::<Acct>::new()
        .filter(Acct::BALANCE.gt(5).or(Acct::ID.in_([1, 2])))
        .filter_by(Acct::OWNER, "ann")
        .order_by(Acct::BALANCE, SortOrder::Desc)
        .limit(10)
        .offset(20);
    let (pg, params) = q.to_sql(&PgDialect).unwrap();
    assert_eq!(
        pg,
        "SELECT \"id\", \"owner\", \"balance\", \"version\" FROM \"session_accounts\" WHERE (\"balance\" > $1 OR \"id\" IN ($2, $3)) AND \"owner\" = $4 ORDER BY \"balance\" DESC LIMIT $5 OFFSET $6"
    );
    assert_eq!(
        params,
        [
            Value::Int(5),
            Value::Int(1),
            Value::Int(2),
            Value::Text("ann".into()),
            Value::Int(10),
            Value::Int(20)
        ]
    );
    assert_eq!(
        sql(&q, &SqliteDialect),
        "SELECT \"id\", \"owner\", \"balance\", \"version\" FROM \"session_accounts\" WHERE (\"balance\" > ? OR \"id\" IN (?, ?)) AND \"owner\" = ? ORDER BY \"balance\" DESC LIMIT ? OFFSET ?"
    );
    assert_eq!(
        sql(&q, &mysql8()),
        "SELECT `id`, `owner`, `balance`, `version` FROM `session_accounts` WHERE (`balance` > ? OR `id` IN (?, ?)) AND `owner` = ? ORDER BY `balance` DESC LIMIT ? OFFSET ?"
    );
    let offset_only = Select::<Acct>::new().offset(3);
    assert_eq!(
        sql(&offset_only, &PgDialect),
        "SELECT \"id\", \"owner\", \"balance\", \"version\" FROM \"session_accounts\" ORDER BY \"id\" ASC OFFSET $1"
    );
    assert_eq!(
        sql(&offset_only, &SqliteDialect),
        "SELECT \"id\", \"owner\", \"balance\", \"version\" FROM \"session_accounts\" ORDER BY \"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(
        sql(&offset_only, &mariadb()),
        "SELECT `id`, `owner`, `balance`, `version` FROM `session_accounts` ORDER BY `id` ASC LIMIT ? OFFSET ?"
    );
}

#[test]
fn counts() {
    let q = Select::<Acct>::new().filter(Acct::BALANCE.gt(5));
    assert_eq!(
        q.count_sql(&PgDialect).unwrap().0,
        "SELECT COUNT(*) AS \"n\" FROM \"session_accounts\" WHERE \"balance\" > $1"
    );
    assert_eq!(
        q.limit(2).count_sql(&mysql8()).unwrap().0,
        "SELECT COUNT(*) AS `n` FROM (SELECT `id`, `owner`, `balance`, `version` FROM `session_accounts` WHERE `balance` > ? ORDER BY `id` ASC LIMIT ?) AS `txkit_counted`"
    );
}

/// The clause after `... WHERE id = ? ORDER BY id ASC`, per lock, for PostgreSQL, MySQL 8
/// and MariaDB 10.11; SQLite renders no clause (the session takes the write lock) and
/// refuses NOWAIT.
#[test]
fn row_locks_per_dialect() {
    let base = || Select::<Acct>::new().filter(Acct::ID.eq(1));
    let pg_prefix = format!("{} WHERE \"id\" = $1 ORDER BY \"id\" ASC", PG_COLS);
    let my_prefix = format!("{} WHERE `id` = ? ORDER BY `id` ASC", MY_COLS);
    let sqlite_plain = format!("{} WHERE \"id\" = ? ORDER BY \"id\" ASC", PG_COLS);
    let cases = [
        (RowLock::update(), "FOR UPDATE", "FOR UPDATE", "FOR UPDATE"),
        (
            RowLock::no_key_update(),
            "FOR NO KEY UPDATE",
            "FOR UPDATE",
            "FOR UPDATE",
        ),
        (
            RowLock::share(),
            "FOR SHARE",
            "FOR SHARE",
            "LOCK IN SHARE MODE",
        ),
        (
            RowLock::key_share(),
            "FOR KEY SHARE",
            "FOR SHARE",
            "LOCK IN SHARE MODE",
        ),
        (
            RowLock::update().nowait(),
            "FOR UPDATE NOWAIT",
            "FOR UPDATE NOWAIT",
            "FOR UPDATE NOWAIT",
        ),
        (
            RowLock::update().skip_locked(),
            "FOR UPDATE SKIP LOCKED",
            "FOR UPDATE SKIP LOCKED",
            "FOR UPDATE SKIP LOCKED",
        ),
        (
            RowLock::share().skip_locked(),
            "FOR SHARE SKIP LOCKED",
            "FOR SHARE SKIP LOCKED",
            "LOCK IN SHARE MODE SKIP LOCKED",
        ),
    ];
    for (lock, pg, my, maria) in cases {
        let q = base().with_for_update(lock.clone());
        assert_eq!(sql(&q, &PgDialect), format!("{pg_prefix} {pg}"), "{lock:?}");
        assert_eq!(sql(&q, &mysql8()), format!("{my_prefix} {my}"), "{lock:?}");
        assert_eq!(
            sql(&q, &mariadb()),
            format!("{my_prefix} {maria}"),
            "{lock:?}"
        );
        if lock.wait == txkit::lock::LockWait::NoWait {
            assert_eq!(err(&q, &SqliteDialect), ErrorKind::Unsupported);
        } else {
            assert_eq!(sql(&q, &SqliteDialect), sqlite_plain, "{lock:?}");
        }
    }
    // OF: PostgreSQL and MySQL 8; MariaDB has none, and says so.
    let of = base().with_for_update(RowLock::update().of("session_accounts").skip_locked());
    assert_eq!(
        sql(&of, &PgDialect),
        format!("{pg_prefix} FOR UPDATE OF \"session_accounts\" SKIP LOCKED")
    );
    assert_eq!(
        sql(&of, &mysql8()),
        format!("{my_prefix} FOR UPDATE OF `session_accounts` SKIP LOCKED")
    );
    assert_eq!(err(&of, &mariadb()), ErrorKind::Unsupported);
    // Servers without SKIP LOCKED (MariaDB before 10.6) refuse it rather than wait.
    let old = MySqlDialect::new(ServerInfo::mariadb(10, 5, 0));
    let skip = base().with_for_update(RowLock::update().skip_locked());
    assert_eq!(err(&skip, &old), ErrorKind::Unsupported);
}
