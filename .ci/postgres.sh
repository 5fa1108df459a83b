#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the central store's tests: start it, or install it.
set -u
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if [ "${COUNTERLINE_SKIP_POSTGRES:-}" = 1 ]; then
  echo "COUNTERLINE_SKIP_POSTGRES=1: the PostgreSQL tests will be skipped and say so."; exit 0
fi
ready && exit 0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not installed and this is not root: install postgresql, or set COUNTERLINE_SKIP_POSTGRES=1"; exit 1; fi
  echo "Installing PostgreSQL"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-client
fi
ver=$(ls /etc/postgresql | sort -n | tail -1)
conf=/etc/postgresql/$ver/main
# Trust on loopback only, for the test database server of this machine.
if ! grep -q "counterline-trust" "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust # counterline-trust\nhost all all ::1/128 trust # counterline-trust' "$conf/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start || true
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "PostgreSQL did not start on 127.0.0.1:5432"; exit 1
