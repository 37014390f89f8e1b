#!/usr/bin/env bash
# The project's mutation check: applies each hand-made bug below, one at a time, to a
# throwaway worktree of HEAD, runs the tests that guard the promise it breaks, and expects
# them to fail — within 120 s of test time, never by hanging. Prints a table; exits
# non-zero if any bug survives, hangs or no longer applies (its code moved: update the
# pattern here).
#
# Slow (each bug rebuilds the crates above it), so not part of .ci/run: run it once per
# change to the TLS setup, the dialects' lock and BEGIN clauses, the job claim, the bank's
# invariant checks or the tests that guard them, and copy its table into
# docs/reliability.md.
#
#   bash .ci/mutants.sh            # every bug
#   bash .ci/mutants.sh nowait     # the bugs whose name contains "nowait"
#
# Needs the servers .ci/run needs (the same URLs), and `openssl` for the TLS cases. Works in
# $MUTANTS_DIR (default /tmp/txkit-mutants): a git worktree of HEAD, its own target dir
# (the first run builds everything once) and the logs; `git worktree remove --force
# /tmp/txkit-mutants/tree && rm -rf /tmp/txkit-mutants` when done with it.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
only="${1:-}"

export TXKIT_POSTGRES_URL="${TXKIT_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export TXKIT_MYSQL_URL="${TXKIT_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
export TXKIT_REQUIRE_ALL_BACKENDS=1
export CARGO_TERM_COLOR=never

# PgBouncer for the pooled cells, started as .ci/run starts it unless one is given.
if [ -z "${TXKIT_PGBOUNCER_URL:-}" ]; then
  pgb_port=6460
  while (exec 3<>"/dev/tcp/127.0.0.1/$pgb_port") 2>/dev/null; do pgb_port=$((pgb_port + 1)); done
  pgb_dir="$(mktemp -d /tmp/txkit-mutants-pgbouncer.XXXXXX)"
  trap '"$repo/.ci/pgbouncer.sh" stop "$pgb_dir"; rm -rf "$pgb_dir"' EXIT
  pgb_url="$("$repo/.ci/pgbouncer.sh" start "$pgb_dir" "$pgb_port")"
  export "${pgb_url?}"
fi

# The throwaway worktree is kept between runs (and moved to HEAD at each), so files that
# did not change keep their times and cargo rebuilds only what a bug touches.
work="${MUTANTS_DIR:-/tmp/txkit-mutants}"
mkdir -p "$work/logs"
if [ -d "$work/tree" ]; then
  git -C "$work/tree" checkout --quiet --detach "$(git -C "$repo" rev-parse HEAD)"
  git -C "$work/tree" reset --quiet --hard
else
  git -C "$repo" worktree add --detach --quiet "$work/tree" HEAD
fi
cd "$work/tree" || exit 1
# A target dir of its own, never the usual one: cargo names a workspace crate's artifacts
# by its path inside the workspace and checks their freshness against that relative path,
# so the worktree's mutated builds would pass for fresh builds of the real tree.
export CARGO_TARGET_DIR="$work/target"

# name | file | text to find (fixed string, no `|`: it separates the fields) | its replacement |
# cargo test arguments |
# tests that must fail (space-separated; each must be reported FAILED)
MUTANTS=(
  "tls-verify-full-accepts-anything|backends/postgres/src/tls.rs|builder.with_webpki_verifier(webpki).with_no_client_auth()|builder.dangerous().with_custom_certificate_verifier(Arc::new(EncryptOnly { algorithms })).with_no_client_auth()|-p txkit-postgres --features tls --test server -- tls|tls::require_against_the_local_server wire::tls::prefer_encrypts_when_it_can_and_verify_full_checks_the_certificate tls::verify_modes_against_a_ca_of_our_own"
  "tls-verify-full-skips-the-host-name|backends/postgres/src/tls.rs|if mode == SslMode::VerifyFull {|if false {|-p txkit-postgres --features tls --test server -- tls|tls::verify_modes_against_a_ca_of_our_own"
  "tls-verify-ca-accepts-anything|backends/postgres/src/tls.rs|            other => other,|            _ => Ok(ServerCertVerified::assertion()),|-p txkit-postgres --features tls --test server -- tls|tls::verify_modes_against_a_ca_of_our_own"
  "bank-no-ledger-against-commits-check|bank/src/invariants.rs|                ledger_rows != committed,|                false && ledger_rows != committed,|-p txkit-bank --lib -- invariants|invariants::tests::ledger_rows_not_matching_commits_are_caught"
  "bank-no-negative-balance-check|bank/src/invariants.rs|                negative_balances > 0,|                false && negative_balances > 0,|-p txkit-bank --lib -- invariants|invariants::tests::a_negative_balance_is_caught"
  "bank-no-balance-against-ledger-check|bank/src/invariants.rs|                balances_not_matching_ledger > 0,|                false && balances_not_matching_ledger > 0,|-p txkit-bank --lib -- invariants|invariants::tests::balances_the_ledger_does_not_explain_are_caught"
  "pg-nowait-not-rendered|core/src/dialects/postgres.rs|LockWait::NoWait => sql.push_str(\" NOWAIT\"),|LockWait::NoWait => {}|-p txkit-tests --lib -- locks::row_locks::postgres examples::pessimistic_locking::postgres retry::final_error_counts_attempts::postgres|locks::row_locks::postgres examples::pessimistic_locking::postgres retry::final_error_counts_attempts::postgres"
  "mysql-nowait-not-rendered|core/src/dialects/mysql/mod.rs|LockWait::NoWait if server.supports_nowait() => sql.push_str(\" NOWAIT\"),|LockWait::NoWait if server.supports_nowait() => {}|-p txkit-tests --lib -- locks::row_locks::mysql examples::pessimistic_locking::mysql retry::final_error_counts_attempts::mysql|locks::row_locks::mysql examples::pessimistic_locking::mysql retry::final_error_counts_attempts::mysql"
  "pg-skip-locked-not-rendered|core/src/dialects/postgres.rs|LockWait::SkipLocked => sql.push_str(\" SKIP LOCKED\"),|LockWait::SkipLocked => {}|-p txkit-tests --lib -- job_queue::job_queue_runs_each_job_once::postgres|job_queue::job_queue_runs_each_job_once::postgres"
  "pg-isolation-level-not-rendered|core/src/dialects/postgres.rs|if let Some(level) = opts.isolation_level() {|if let (Some(level), false) = (opts.isolation_level(), true) {|-p txkit-tests --lib -- isolation::isolation_defaults_and_overrides::postgres examples::isolation_levels::postgres|isolation::isolation_defaults_and_overrides::postgres examples::isolation_levels::postgres"
  "mysql-isolation-level-not-rendered|core/src/dialects/mysql/mod.rs|if let Some(level) = opts.isolation_level() {|if let (Some(level), false) = (opts.isolation_level(), true) {|-p txkit-tests --lib -- examples::isolation_levels::mysql|examples::isolation_levels::mysql"
  "sqlite-read-only-not-enforced|backends/sqlite/src/native.rs|        if read_only {|        if false && read_only {|-p txkit-tests --lib -- examples::isolation_levels::sqlite|examples::isolation_levels::sqlite examples::isolation_levels::sqlite_thread"
  "pg-for-update-rendered-as-for-share|core/src/dialects/postgres.rs|LockStrength::Update => \"FOR UPDATE\",|LockStrength::Update => \"FOR SHARE\",|-p txkit-tests --lib -- locks::row_locks::postgres session_locks::for_update_blocks_a_second_locker::postgres|locks::row_locks::postgres session_locks::for_update_blocks_a_second_locker::postgres"
  "mysql-for-update-rendered-as-share|core/src/dialects/mysql/mod.rs|=> String::from(\"FOR UPDATE\"),|=> String::from(\"LOCK IN SHARE MODE\"),|-p txkit-tests --lib -- session_locks::for_update_blocks_a_second_locker::mysql|session_locks::for_update_blocks_a_second_locker::mysql"
  "pg-exclusive-table-lock-rendered-as-row-share|core/src/lock.rs|Self::Exclusive => \"EXCLUSIVE\",|Self::Exclusive => \"ROW SHARE\",|-p txkit-tests --lib -- specs::timeouts::spec::postgres|specs::timeouts::spec::postgres specs::timeouts::spec::postgres_wire"
  "pool-owed-rollback-not-sent|core/src/managed.rs|tracked!(self, self.raw.rollback())|tracked!(self, async { Result::Ok(()) })|-p txkit-tests --lib -- pool::closing_connections_roll_back_first|pool::closing_connections_roll_back_first::postgres pool::closing_connections_roll_back_first::postgres_wire pool::closing_connections_roll_back_first::mysql pool::closing_connections_roll_back_first::postgres_pgbouncer pool::closing_connections_roll_back_first::postgres_pgbouncer_wire"
  "sqlite-write-gate-never-claimed|backends/sqlite/src/native.rs|let Some(locks) = &self.locks else {|let Some(locks) = None::<&FileLocks> else {|-p txkit-sqlite --test write_gate|writers_of_one_process_never_wait_in_sqlite a_second_writer_waits_in_line_then_goes_through"
  "sqlite-connections-read-uncommitted|backends/sqlite/src/setup.rs|    conn.pragma_update(None, \"foreign_keys\", options.foreign_keys)|    conn.pragma_update(None, \"read_uncommitted\", true).ok(); conn.pragma_update(None, \"foreign_keys\", options.foreign_keys)|-p txkit-tests --lib -- isolation::isolation_defaults_and_overrides::sqlite|isolation::isolation_defaults_and_overrides::sqlite isolation::isolation_defaults_and_overrides::sqlite_thread"
  "mysql-program-name-not-sent|backends/mysql/src/options.rs|opts = opts.connect_attribute(\"program_name\", name.clone());|let _ = name;|-p txkit-tests --test restart -- mysql_connection_attributes_reach_the_server|mysql_connection_attributes_reach_the_server"
  "flush-batch-short-count-accepted|core/src/session/changes.rs|        if written < chunk.len() as u64 {|        if false && written < chunk.len() as u64 {|-p txkit-tests --lib -- session_unit_of_work::uow_lost_race_in_a_batch_names_the_row|session_unit_of_work::uow_lost_race_in_a_batch_names_the_row::postgres session_unit_of_work::uow_lost_race_in_a_batch_names_the_row::mysql"
  "flush-batch-first-rows-values-for-all|core/src/session/update_batch.rs|                out.push(row[column].clone());|                out.push(rows[0][column].clone());|-p txkit-tests --lib -- session_unit_of_work::uow_update_of_many_objects|session_unit_of_work::uow_update_of_many_objects::postgres session_unit_of_work::uow_update_of_many_objects::mysql"
  "pooler-never-found|backends/postgres/src/pooler.rs|            Self::Auto if pooled => {|            Self::Auto if false => {|-p txkit-tests --lib -- pooler:: bank::bank_conserves_money::postgres_pgbouncer|pooler::auto_finds_the_pooler_and_nothing_on_a_direct_connection pooler::named_statements_fail_through_shared_server_connections_and_unnamed_pass bank::bank_conserves_money::postgres_pgbouncer bank::bank_conserves_money::postgres_pgbouncer_wire"
  "pooler-session-state-let-through|backends/postgres/src/pooler.rs|        match session_state(sql) {|        match session_state(sql).and(None::<&str>) {|-p txkit-tests --lib -- pooler:: pool::full_reset_clears_session_state::postgres_pgbouncer|pooler::session_state_is_refused_and_its_transaction_forms_work pool::full_reset_clears_session_state::postgres_pgbouncer pool::full_reset_clears_session_state::postgres_pgbouncer_wire"
  "pooler-statement-mode-begins|backends/postgres/src/pooler.rs|        if self == Self::Statement {|        if false {|-p txkit-tests --lib -- pooler::statement_mode|pooler::statement_mode_refuses_transactions_and_runs_statements"
  "multi-host-first-host-only|backends/postgres/src/hosts.rs|    let hosts = opts.each_host();|    let hosts = vec![opts.clone()];|-p txkit-tests --lib -- multi_host::a_host_that_does_not_answer|multi_host::a_host_that_does_not_answer_is_passed_over"
  "read-only-refusal-keeps-the-connection|backends/postgres/src/tokio_driver/connection.rs|            if self.wants_writes && e.code() == Some(READ_ONLY_SQL_TRANSACTION) {|            if false {|-p txkit-tests --lib -- multi_host::a_write_refused|multi_host::a_write_refused_as_read_only_gives_up_a_read_write_connection"
  "sqlite-session-locking-read-deferred|core/src/session/lazy.rs|_ => self.opts.sqlite_behavior(SqliteBehavior::Immediate),|_ => self.opts,|-p txkit-tests --lib -- session_locks::for_update_blocks_a_second_locker::sqlite|session_locks::for_update_blocks_a_second_locker::sqlite session_locks::for_update_blocks_a_second_locker::sqlite_thread"
)

# An environment, not a code, bug: every backend required but no URL given.
ENV_CASE="cli-server-tests-without-urls|-p txkit-cli --test bank -- on_postgres on_mysql|every_strategy_holds_the_invariants_on_postgres every_strategy_holds_the_invariants_on_mysql lost_updates_are_caught_on_postgres lost_updates_are_caught_on_mysql"

results=()
failures=0

# verdict <name> <log> <rc> <seconds> <expected tests>
verdict() {
  local name="$1" log="$2" rc="$3" secs="$4" expected="$5" missing=""
  for t in $expected; do
    grep -qE "^test $t \.\.\. FAILED" "$log" || missing+=" $t"
  done
  if [ "$rc" = 124 ]; then
    results+=("| $name | HANG (killed at 120 s) | ${secs} s |")
    failures=$((failures + 1))
  elif [ "$rc" = 0 ]; then
    results+=("| $name | SURVIVED: the tests passed | ${secs} s |")
    failures=$((failures + 1))
  elif [ -n "$missing" ]; then
    results+=("| $name | failed, but not:$missing (see $log) | ${secs} s |")
    failures=$((failures + 1))
  else
    results+=("| $name | caught: $(echo "$expected" | wc -w) expected test(s) failed | ${secs} s |")
  fi
}

# run_tests <log> <cargo test arguments…>: builds, then runs the tests within 120 s.
run_tests() {
  local log="$1"
  shift
  local all="$*" before after=""
  before="${all%% -- *}"
  [[ "$all" == *" -- "* ]] && after="${all#* -- }"
  # shellcheck disable=SC2086
  cargo test $before --no-run >"$log.build" 2>&1 || return 2
  # shellcheck disable=SC2086
  timeout 120 cargo test $before -- $after >"$log" 2>&1
}

for m in "${MUTANTS[@]}"; do
  IFS='|' read -r name file find replace args expected <<<"$m"
  [[ -n "$only" && "$name" != *"$only"* ]] && continue
  log="$work/logs/$name.log"
  if ! grep -qF -- "$find" "$file"; then
    results+=("| $name | NOT APPLIED: pattern gone from $file | - |")
    failures=$((failures + 1))
    continue
  fi
  FIND="$find" REPLACE="$replace" perl -0pi -e 's/\Q$ENV{FIND}\E/$ENV{REPLACE}/' "$file"
  echo "mutants: $name" >&2
  start=$(date +%s)
  run_tests "$log" $args
  rc=$?
  secs=$(($(date +%s) - start))
  git checkout --quiet -- "$file"
  if [ "$rc" = 2 ] && ! grep -q "^test " "$log" 2>/dev/null; then
    results+=("| $name | DID NOT BUILD (see $log.build) | ${secs} s |")
    failures=$((failures + 1))
    continue
  fi
  verdict "$name" "$log" "$rc" "$secs" "$expected"
done

IFS='|' read -r name args expected <<<"$ENV_CASE"
if [[ -z "$only" || "$name" == *"$only"* ]]; then
  log="$work/logs/$name.log"
  echo "mutants: $name" >&2
  start=$(date +%s)
  (unset TXKIT_POSTGRES_URL TXKIT_MYSQL_URL; run_tests "$log" $args)
  rc=$?
  secs=$(($(date +%s) - start))
  verdict "$name" "$log" "$rc" "$secs" "$expected"
fi

echo
echo "| bug | result | time (build + tests) |"
echo "| --- | --- | --- |"
printf '%s\n' "${results[@]}"
echo
if [ "$failures" -gt 0 ]; then
  echo "mutants: $failures bug(s) not caught as expected; logs in $work/logs" >&2
  exit 1
fi
echo "mutants: every bug was caught"
