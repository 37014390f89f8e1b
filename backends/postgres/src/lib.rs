//! The PostgreSQL backend of [txkit](https://docs.rs/txkit), on
//! [tokio-postgres](https://docs.rs/tokio-postgres).
//!
//! It gives txkit's [`Connection`](txkit_core::Connection) trait a PostgreSQL connection
//! ([`PgConnection`]), the PostgreSQL [`Dialect`](txkit_core::Dialect) ([`PgDialect`]), the
//! mapping from SQLSTATE codes to txkit error kinds ([`classify`], [`codes`]) and URL
//! options ([`PgConnectOptions`]). Applications normally reach it through the `txkit`
//! facade with a `postgres://` URL.
//!
//! ```no_run
//! use txkit_core::{Connection, DatabaseUrl, ManagedConnection, params};
//! use txkit_postgres::PgConnectOptions;
//!
//! # async fn demo() -> txkit_core::Result<()> {
//! let url = DatabaseUrl::parse("postgres://app@127.0.0.1:5432/shop?application_name=api")?;
//! let mut conn = ManagedConnection::new(PgConnectOptions::from_url(&url)?.connect().await?);
//! let mut tx = conn.begin().await?;
//! tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", &params![500, 1])
//!     .await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```
//!
//! # URL
//!
//! `postgres://user:password@host:port/dbname?key=value&…` (scheme `postgres` or
//! `postgresql`). User and password are percent-decoded; the password may also come as
//! `?password=`. The host may be a Unix-socket directory: `?host=/var/run/postgresql`, or
//! percent-encoded in the host part (`postgres://u@%2Fvar%2Frun%2Fpostgresql/db`).
//!
//! | key | meaning |
//! | --- | --- |
//! | `host`, `port`, `user`, `password`, `dbname` | override the URL's parts |
//! | `application_name` | shown in `pg_stat_activity` |
//! | `connect_timeout` | seconds to wait for the TCP connection (0: no limit) |
//! | `sslmode` | `disable`, `prefer` (default), `require`, `verify-ca`, `verify-full` |
//! | `sslrootcert` | PEM file of CA certificates for `verify-ca` / `verify-full` |
//! | `options` | server command-line options, e.g. `-c search_path=app` |
//! | `statement_cache_size` | prepared statements kept per connection (default 100) |
//! | `driver` | `tokio-postgres` (default) or `txkit`: see below |
//! | `pooler` | `auto` (default), `none`, `transaction`, `statement`: see below |
//! | `target_session_attrs` | `any` (default), `read-write`, `read-only`, `primary`, `standby`, `prefer-standby` |
//! | `load_balance_hosts` | `disable` (default: hosts in the order written) or `random` |
//!
//! The engine's keys (`pool_size`, `isolation`, …, see
//! [`ENGINE_URL_KEYS`](txkit_core::ENGINE_URL_KEYS)) are left to the engine; any other key is
//! a Config error that lists the accepted ones, so a misspelt option never passes silently.
//! A connection error names the URL with its password redacted and says what to check; a
//! password never appears in `Debug`, `Display` or an error.
//!
//! # `driver=txkit`: txkit's own protocol layer
//!
//! With `driver=txkit` the engine uses [`PgWireConnection`] instead of tokio-postgres: it
//! speaks the protocol itself (with `postgres-protocol`'s messages), on the caller's task,
//! and ends each pipeline — BEGIN with the first statement, a flush's statements with
//! COMMIT — with one Sync, where tokio-postgres sends one per statement. On the bench's
//! transfer that is 1.5× hand-written tokio-postgres's throughput at one task, where
//! tokio-postgres pipelining gives 1.25× (docs/performance.md). It also reads the command
//! tag of COMMIT, so a transaction that had failed is reported without a probe. It speaks
//! TLS with the `tls` feature (every `sslmode` as below, with the same rustls setup) and
//! signs in with a password by SCRAM-SHA-256 (bound to the TLS channel when the server
//! offers SCRAM-SHA-256-PLUS), MD5 or cleartext;
//! Kerberos, GSSAPI and SSPI are Config errors that say to use the default driver. It
//! refuses `COPY … FROM STDIN`, and reads and binds types it does not know (enums, for one)
//! as text. Every scenario of txkit's test matrix runs on it too.
//!
//! # Several hosts
//!
//! As in libpq, a URL may name several hosts — `postgres://u@h1:5432,h2:5433/db`, or
//! `?host=h1,h2&port=5432,5433` (one port for all, or one each) — tried in order, or shuffled
//! for each connection with `load_balance_hosts=random`, each within `connect_timeout`,
//! until one answers and is the kind of server `target_session_attrs` asks for (read from
//! `pg_is_in_recovery()` and `transaction_read_only`; `prefer-standby` takes a standby if
//! any answers, else any server). When none does, the error names every host and what it
//! answered. Every connection the pool opens chooses again, so a pool whose connections
//! broke finds the new primary by itself; and a connection opened for `read-write` or
//! `primary` whose write is refused as read-only (`25006`: its server became a standby) is
//! given up, so the next one chooses again. Both drivers.
//!
//! # Behind PgBouncer: `pooler`
//!
//! A pooler in transaction mode (PgBouncer, pgcat, Supavisor) gives a client a server
//! connection only while its transaction is open, so nothing may outlive a transaction.
//! With a pooler both drivers send each statement unnamed — parse, bind and run in one round
//! trip — instead of preparing it once under a name (named statements fail there with
//! `26000 prepared statement "s3" does not exist` or `42P05 … already exists`), and refuse,
//! with a [`Usage`](txkit_core::ErrorKind::Usage) error saying what to use instead, SQL
//! whose effect outlives its transaction: `SET` (use `SET LOCAL`), `PREPARE`, `LISTEN`,
//! session advisory locks (use `pg_advisory_xact_lock`), temporary tables without
//! `ON COMMIT DROP`, cursors `WITH HOLD`. That covers hooks too: an `after_connect` hook
//! that runs `SET` is refused, since the setting would land on a server connection other
//! clients use next. Isolation levels and read-only modes already travel with each `BEGIN`.
//!
//! `pooler=auto`, the default, finds a pooler at connect: a pooler answers the startup with
//! a cancel key of its own, whose process id is not the session's `pg_backend_pid()`. (With
//! `sslmode=require` or `verify-*`, the tokio-postgres driver cannot read that key: say
//! `pooler=transaction` there; `driver=txkit` reads it whatever the TLS mode.)
//! `pooler=transaction` says so without looking; `pooler=none` keeps named, cached
//! statements whatever the connection finds (a pooler in session mode allows them);
//! `pooler=statement` (a pooler in statement mode, which ends every transaction after one
//! statement) refuses transactions with an [`Unsupported`](txkit_core::ErrorKind::Unsupported)
//! error before sending them. Behind a pooler,
//! [`server_session_id`](txkit_core::Connection::server_session_id) is `None`: the server
//! process changes from one transaction to the next. Types txkit reads as text on a direct
//! connection (enums, domains over them) must be cast to text in the query (`col::text`):
//! an unnamed statement's result format is chosen before its columns are known.
//!
//! # TLS: the `tls` feature
//!
//! TLS is compiled in only with this crate's `tls` Cargo feature (off by default). It uses
//! [rustls](https://docs.rs/rustls) with the *ring* provider — through
//! `tokio-postgres-rustls` for the default driver, `tokio-rustls` for `driver=txkit`, with
//! one configuration for both — rather than `postgres-native-tls`: rustls needs no system OpenSSL
//! (no `libssl-dev` and `pkg-config` on a fresh machine, no OpenSSL version drift between
//! build and deployment), and *ring* needs only a C compiler, where the `aws-lc-rs` provider
//! would also want CMake. Certificates for `verify-*` come from `sslrootcert`, or else from
//! the Mozilla roots bundled by `webpki-roots` (no system store is read).
//!
//! The modes mean what they mean in libpq: `prefer` tries TLS and falls back to plain text
//! if the server does not offer it (without the feature, `prefer` is plain text);
//! `require` encrypts but does not verify the certificate; `verify-ca` verifies the chain;
//! `verify-full` verifies chain and host name. `require`, `verify-ca` and `verify-full` never
//! fall back to plain text: a server without TLS fails the connection with a Config error,
//! and asking for them from a build without the feature is a Config error at once. Unix
//! sockets are never encrypted (as in libpq): `prefer` uses plain text there and the stronger
//! modes are refused.
//!
//! # Placeholders and values
//!
//! txkit's portable SQL writes parameters as `?`; this backend rewrites them to `$1, $2, …`
//! outside string literals, quoted identifiers, dollar-quoted strings and comments. SQL
//! that already uses `$n` is taken as PostgreSQL's own and passed unchanged (use that form
//! with the jsonb operators `?`, `?|`, `?&`).
//!
//! Statements are prepared once per connection and cached (least recently used out first).
//! The server infers each parameter's type, and txkit's untyped values are bound to it:
//! integers into `smallint`/`integer`/`bigint` with range checks (an out-of-range value is a
//! Config error naming the placeholder), floats into `real`/`double precision`, booleans,
//! bytes into `bytea`; text into any type is sent in text form for the server to parse
//! (`numeric`, `timestamptz`, `uuid`, `jsonb`, enums, …). Where inference picks a type you do
//! not want, cast the placeholder: `?::text`.
//!
//! Results read `smallint`/`integer`/`bigint`/`oid` as integers, `real`/`double` as floats,
//! `bool`, `bytea` as bytes, the text types, enums, `json`/`jsonb`, `uuid` as text,
//! `numeric` as its exact decimal text, and `date`/`time`/`timestamp`/`timestamptz` as ISO
//! 8601 text (`timestamptz` in UTC). Other types are an error asking for a `::text` cast.
//!
//! A cached statement whose table changed shape ("cached plan must not change result type")
//! is dropped and prepared again, and the statement re-run once — only outside a
//! transaction. Inside one, the error has already aborted the transaction: it is returned,
//! the statement is evicted, and the retried transaction works.
//!
//! # Money
//!
//! Store amounts as `BIGINT` minor units (cents) and bind `i64`; or as `NUMERIC(p, s)` and
//! bind and read them as text (`"12.50"`), which passes through no float. Never use `real`
//! or `double precision` for money.
//!
//! # Transactions and isolation
//!
//! `begin` sends one `BEGIN [ISOLATION LEVEL …] [READ ONLY | READ WRITE] [DEFERRABLE]` with
//! only the parts asked for. PostgreSQL accepts READ UNCOMMITTED and runs it as READ
//! COMMITTED (it never shows uncommitted data); REPEATABLE READ is snapshot isolation; only
//! SERIALIZABLE prevents write skew, at the price of serialization failures, which are
//! retryable. `DEFERRABLE` matters only for SERIALIZABLE READ ONLY.
//!
//! `commit` pipelines a one-row probe before `COMMIT` in the same round trip: if the
//! transaction had already failed, the probe fails and the server turns COMMIT into
//! ROLLBACK, and `commit` returns an error saying nothing was committed. A connection lost
//! after COMMIT was sent and before its answer is
//! [`CommitOutcomeUnknown`](txkit_core::ErrorKind::CommitOutcomeUnknown), never success.
//!
//! # Errors
//!
//! SQLSTATEs map to kinds in [`classify`]: `40001` serialization failure (also CockroachDB's
//! "restart transaction" and YugabyteDB's conflicts), `40P01` deadlock, `55P03` NOWAIT
//! failure or lock timeout, `23505` unique violation, `08xxx` and `57P01`–`57P05` lost
//! connections, `40003` (CockroachDB's ambiguous result) commit outcome unknown. A
//! `statement_timeout` (`57014`) is a plain database error: it is not retried.
//!
//! # Notices
//!
//! The server's notices (`RAISE NOTICE`, `RAISE WARNING`, a warning such as "there is no
//! transaction in progress") become `tracing` events from both drivers, logged before the
//! statement that caused them returns: WARNING at warn level, DEBUG at debug, the rest
//! (NOTICE, INFO, LOG) at info, with the fields `server` (the redacted target),
//! `severity`, `code` (the SQLSTATE), `detail` and `hint`.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backend;
pub mod codes;
mod datetime;
mod decode;
mod encode;
mod hosts;
mod notice;
mod numeric;
mod options;
mod pooler;
mod shared;
mod statement_cache;
#[cfg(feature = "tls")]
mod tls;
mod tokio_driver;
mod wire;

pub use backend::{Postgres, PostgresWire};
pub use hosts::{LoadBalanceHosts, TargetSessionAttrs};
pub use options::{DEFAULT_STATEMENT_CACHE_SIZE, PgConnectOptions, PgDriver, SslMode, URL_KEYS};
pub use pooler::Pooler;
pub use tokio_driver::PgConnection;
pub use txkit_core::dialects::postgres::{PgDialect, classify};
pub use wire::PgWireConnection;
