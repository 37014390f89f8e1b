#!/usr/bin/env bash
# A private PgBouncer in front of the PostgreSQL at $TXKIT_POSTGRES_URL's host and port, for
# the matrix's `postgres_pgbouncer` cells. Installs the Debian package when missing.
#
#   .ci/pgbouncer.sh start DIR PORT   writes DIR/pgbouncer.ini, starts PgBouncer on
#                                     127.0.0.1:PORT, prints TXKIT_PGBOUNCER_URL=…
#   .ci/pgbouncer.sh stop DIR         stops the PgBouncer started in DIR, by its PID
#
# Transaction pool mode, so that server connections are shared between clients from one
# transaction to the next (what breaks named prepared statements and session state), with
# pools of 20 server connections: the matrix has scenarios that hold 15 transactions open at
# once. Every database name reaches the server database of the same name; the name
# `txkit_statement_mode` reaches `test` in statement pool mode, and
# `txkit_two_server_connections` reaches `txkit_pgbouncer` through a pool of two, where the
# failures of named statements are certain.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

case "$cmd" in
start)
  port="${3:?usage: $0 start DIR PORT}"
  if ! command -v pgbouncer >/dev/null 2>&1 && ! [ -x /usr/sbin/pgbouncer ]; then
    echo "pgbouncer.sh: installing the pgbouncer package" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer) >&2
  fi
  bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
  url="${TXKIT_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
  hostport="${url#*@}"; hostport="${hostport%%/*}"
  server_host="${hostport%%:*}"; server_port="${hostport##*:}"
  [ "$server_port" != "$hostport" ] || server_port=5432
  mkdir -p "$dir"
  # PgBouncer refuses to run as root: it runs as postgres, which must own its directory.
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
txkit_statement_mode = host=$server_host port=$server_port dbname=test pool_mode=statement
txkit_two_server_connections = host=$server_host port=$server_port dbname=txkit_pgbouncer pool_size=2
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 20
reserve_pool_size = 0
max_client_conn = 2000
max_db_connections = 0
server_lifetime = 3600
; Idle server connections close soon: the tests make databases of their own (a pool each),
; and the server's max_connections is shared with the direct cells.
server_idle_timeout = 10
autodb_idle_timeout = 30
query_wait_timeout = 60
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
admin_users = postgres
; sqlx (sea-orm) sends it at startup; PgBouncer 1.18 refuses unknown startup parameters
ignore_startup_parameters = extra_float_digits
EOF
  printf '"postgres" ""\n' >"$dir/userlist.txt"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$dir"
    runuser -u postgres -- "$bin" -d "$dir/pgbouncer.ini"
  else
    "$bin" -d "$dir/pgbouncer.ini"
  fi
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "TXKIT_PGBOUNCER_URL=postgres://postgres@127.0.0.1:$port/test"
      exit 0
    fi
    sleep 0.1
  done
  echo "pgbouncer.sh: PgBouncer did not open port $port; its log:" >&2
  cat "$dir/pgbouncer.log" >&2 || true
  exit 1
  ;;
stop)
  if [ -f "$dir/pgbouncer.pid" ]; then
    pid="$(cat "$dir/pgbouncer.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ;;
*)
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
