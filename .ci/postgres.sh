#!/usr/bin/env bash
# The PostgreSQL of the central store's tests: a server answering on 127.0.0.1:5432 where the tests' own role
# (counterline_test: LOGIN CREATEDB, not a superuser) logs in without a password, from loopback only. The tests make
# and drop their own counterline_test_<random> databases with it.
# A server that answers is used as it is (never a second cluster): the role is made through a superuser session
# (postgres over loopback where that is trusted, else root's `runuser -u postgres psql` on the local socket), and
# where the server asks the role a password (Debian's default scram-sha-256 for TCP), pg_hba.conf gets two lines for
# that role alone and the server reloads. With no server, root installs and starts Debian's `postgresql`.
# Probes connect (.ci/pg.py, standard library only): a fresh machine has no pg_isready or psql.
# `source .ci/postgres.sh` defines the functions without running anything (for the tests).
set -u
PG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_HOST=127.0.0.1
PG_PORT=${COUNTERLINE_PG_PORT:-5432}
PG_ROLE=counterline_test
PG_MARK="# counterline-test-role"

pg() { python3 "$PG_HERE/pg.py" --host "$PG_HOST" --port "$PG_PORT" "$@"; }
say() { echo "postgres: $*"; }
is_root() { [ "$(id -u)" = 0 ]; }

# Something accepts connections on the port.
answers() { pg answers 2>/dev/null; }

# The tests' role logs in without a password: 0 yes, 2 a password is asked, 3 refused (no such role...).
role_logs_in() { pg login "$PG_ROLE" 2>/dev/null; }

# Run SQL as a superuser; prints the rows. Loopback as postgres where trusted, else the local socket as the
# postgres system user (root only; Debian's peer authentication).
as_superuser() {
  pg sql postgres "$1" 2>/dev/null && return 0
  if is_root && id postgres >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; then
    (cd / && runuser -u postgres -- psql -X -q -t -A -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$1")
    return
  fi
  return 1
}

make_role() {
  as_superuser "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN CREATE ROLE $PG_ROLE; END IF;
    END \$\$; ALTER ROLE $PG_ROLE LOGIN CREATEDB NOSUPERUSER NOCREATEROLE" >/dev/null
}

# Let the tests' role in without a password on loopback: two lines at the top of pg_hba.conf, then a reload.
trust_role() {
  local hba
  hba=$(as_superuser "SHOW hba_file") && [ -f "$hba" ] || { say "cannot find the server's pg_hba.conf"; return 1; }
  # lines an earlier version of this script wrote, trusting every role on loopback
  sed -i '/# counterline-trust$/d' "$hba"
  if ! grep -q "$PG_MARK" "$hba"; then
    sed -i "1i host all $PG_ROLE 127.0.0.1/32 trust $PG_MARK\nhost all $PG_ROLE ::1/128 trust $PG_MARK" "$hba"
  fi
  as_superuser "SELECT pg_reload_conf()" >/dev/null || { say "could not reload the server"; return 1; }
  for _ in $(seq 1 20); do role_logs_in && return 0; sleep 0.25; done
  return 1
}

# Debian's cluster on our port, as "version name" (empty when there is none).
local_cluster() { pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p {print $1, $2; exit}'; }

start_server() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing Debian's postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql postgresql-client >/dev/null || { say "apt-get install postgresql failed"; return 1; }
    for _ in $(seq 1 10); do answers && return 0; sleep 1; done  # its postinst may have started it
  fi
  local cluster
  cluster=$(local_cluster)
  if [ -z "$cluster" ]; then
    local ver
    ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
    say "creating a PostgreSQL $ver cluster on port $PG_PORT"
    pg_createcluster "$ver" counterline -p "$PG_PORT" >/dev/null || return 1
    cluster="$ver counterline"
  fi
  say "starting PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster start 2>/dev/null || pg_ctlcluster $cluster start || true
  for _ in $(seq 1 30); do answers && return 0; sleep 1; done
  return 1
}

main() {
  if [ "${COUNTERLINE_SKIP_POSTGRES:-}" = 1 ]; then
    say "COUNTERLINE_SKIP_POSTGRES=1: the PostgreSQL tests will be skipped and say so."; return 0
  fi
  if ! answers; then
    if ! is_root; then
      say "nothing answers on $PG_HOST:$PG_PORT. Run \`sudo make system\` once (it installs and starts Debian's"
      say "postgresql with the tests' role), or skip those tests: COUNTERLINE_SKIP_POSTGRES=1 make test"
      return 1
    fi
    start_server || { say "PostgreSQL did not start on $PG_HOST:$PG_PORT"; return 1; }
  fi
  if is_root && hba=$(as_superuser "SHOW hba_file" 2>/dev/null) && grep -qs "# counterline-trust$" "$hba"; then
    say "removing the lines an earlier version wrote to $hba (trust for every role on loopback)"
    make_role && trust_role || return 1
  fi
  role_logs_in && return 0
  if ! make_role; then
    say "PostgreSQL answers on $PG_HOST:$PG_PORT, but the tests' role $PG_ROLE cannot log in and no superuser"
    say "session was possible here to make it. As root: \`make postgres\`; or as a PostgreSQL superuser:"
    say "  CREATE ROLE $PG_ROLE LOGIN CREATEDB;  and in pg_hba.conf, above the other host lines, then reload:"
    say "  host all $PG_ROLE 127.0.0.1/32 trust"
    return 1
  fi
  role_logs_in && { say "made the tests' role $PG_ROLE"; return 0; }
  if ! is_root; then
    say "the server asks the tests' role $PG_ROLE for a password; run \`sudo make system\` once to let it in"
    say "from loopback (one pg_hba.conf line for that role alone)"
    return 1
  fi
  trust_role && { say "the tests' role $PG_ROLE logs in from loopback"; return 0; }
  say "the tests' role $PG_ROLE still cannot log in on $PG_HOST:$PG_PORT: $(pg login "$PG_ROLE" 2>&1)"
  return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; exit; fi
