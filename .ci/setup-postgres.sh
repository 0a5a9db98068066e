# Sourced by .ci/run: installs Debian's PostgreSQL if needed, starts a throw-away server on 127.0.0.1:5433 and
# exports KILN_TEST_PG_URL for the service's PostgreSQL tests (they skip, saying so, without it).
pg_port=5433
pg_dir=/tmp/kiln-ci-pg
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if ! "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" -q 2>/dev/null; then
  rm -rf "$pg_dir"
  mkdir -p "$pg_dir"
  chown postgres:postgres "$pg_dir"
  su postgres -c "$pg_bin/initdb -D $pg_dir/data -A trust -U postgres" >/dev/null
  su postgres -c "$pg_bin/pg_ctl -D $pg_dir/data -l $pg_dir/log -o '-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1' -w start" >/dev/null
fi
psql_cmd=("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -q)
"${psql_cmd[@]}" -c "DROP DATABASE IF EXISTS kiln_test" -c "CREATE DATABASE kiln_test" >/dev/null
export KILN_TEST_PG_URL="jdbc:postgresql://127.0.0.1:$pg_port/kiln_test?user=postgres"
echo "PostgreSQL for tests: $KILN_TEST_PG_URL"
