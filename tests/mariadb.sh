#!/usr/bin/env bash
# Starts and stops a throwaway MariaDB server on 127.0.0.1 with its own data directory under
# target/. Source it, then call mariadb_start; it exports EDGEREC_TEST_DATABASE_URL.

MARIADB_DIR="${MARIADB_DIR:-$(pwd)/target/mariadb}"

mariadb_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mariadb_start() {
  mariadb_stop 2>/dev/null || true
  mariadb_started_pid=""
  rm -rf "$MARIADB_DIR"
  # Its own tmpdir too: in the shared /tmp, a temporary table's file once vanished under a
  # running test ("Error on delete of '/tmp/#sql-temptable-….MAI'").
  mkdir -p "$MARIADB_DIR/data" "$MARIADB_DIR/run" "$MARIADB_DIR/tmp"
  chown -R mysql:mysql "$MARIADB_DIR"
  # mariadbd refuses to run as root, so the server and its files belong to `mysql`.
  mariadb-install-db --user=mysql --datadir="$MARIADB_DIR/data" --auth-root-authentication-method=socket \
    --skip-test-db >"$MARIADB_DIR/install.log" 2>&1
  MARIADB_PORT=$(mariadb_free_port)
  MARIADB_SOCKET="$MARIADB_DIR/run/mysqld.sock"
  mariadbd --user=mysql --datadir="$MARIADB_DIR/data" --tmpdir="$MARIADB_DIR/tmp" --socket="$MARIADB_SOCKET" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --pid-file="$MARIADB_DIR/run/mysqld.pid" \
    --local-infile=1 --skip-name-resolve --innodb-buffer-pool-size=256M \
    --innodb-flush-log-at-trx-commit=2 --log-error="$MARIADB_DIR/error.log" &
  MARIADB_PID=$!
  mariadb_started_pid=$MARIADB_PID
  for _ in $(seq 1 100); do
    mariadb --socket="$MARIADB_SOCKET" -uroot -e 'select 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  mariadb --socket="$MARIADB_SOCKET" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS edgerec;
CREATE USER IF NOT EXISTS 'edgerec'@'127.0.0.1' IDENTIFIED BY 'edgerec-test';
GRANT ALL PRIVILEGES ON *.* TO 'edgerec'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  export MARIADB_PID MARIADB_PORT MARIADB_SOCKET
  export EDGEREC_TEST_DATABASE_URL="mysql://edgerec:edgerec-test@127.0.0.1:$MARIADB_PORT/edgerec"
  echo "MariaDB $MARIADB_PID on 127.0.0.1:$MARIADB_PORT" >&2
}

# Stops the server: by its pid file, or by the pid this shell's mariadb_start saw (a start that
# failed before the server wrote its pid file). That pid is kept in a variable that is not
# exported: a child shell starting its own server (the trainer's tests do) must never stop the
# suite's. Safe to call when nothing runs, so set the trap first.
mariadb_stop() {
  local pid_file="$MARIADB_DIR/run/mysqld.pid" pid=${mariadb_started_pid:-}
  [ -f "$pid_file" ] && pid=$(cat "$pid_file")
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pid_file"
}
