#!/bin/sh
# The entrypoint of localhost/voxguard/servers: the official postgres image's contract, which Testcontainers'
# PostgreSql module relies on (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; the command "postgres -c …"), on
# Debian's PostgreSQL 15. Any other command (redis-server, kamailio, haproxy, …) runs unchanged.
set -eu
# As the official image does: a command of flags ("-c fsync=off …", the module's default) is PostgreSQL's.
case "${1:-}" in
  -*) set -- postgres "$@" ;;
esac
if [ "${1:-}" != "postgres" ]; then
  exec "$@"
fi
shift
bin=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the official image's contract)}"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  # Connections arrive from the container network and through published ports.
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  db=${POSTGRES_DB:-$user}
  if [ "$db" != "postgres" ]; then
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | as_postgres "$bin/postgres" --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
