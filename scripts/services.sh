#!/usr/bin/env bash
# Makes sure the local PostgreSQL and Redis are installed and running.
# Used by `make run`, `make test` and .ci/run; safe to run repeatedly.
set -euo pipefail

PGHOST_ADDR=${PGHOST_ADDR:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_up()    { pg_isready -q -h "$PGHOST_ADDR" -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

install_missing() {
  local pkgs=()
  command -v pg_ctlcluster >/dev/null 2>&1 || pkgs+=(postgresql postgresql-client)
  command -v redis-server  >/dev/null 2>&1 || pkgs+=(redis-server)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "services: installing ${pkgs[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

start_postgres() {
  pg_up && return 0
  echo "services: starting PostgreSQL"
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 60); do pg_up && return 0; sleep 0.5; done
  echo "services: PostgreSQL did not come up on $PGHOST_ADDR:5432" >&2
  return 1
}

start_redis() {
  redis_up && return 0
  echo "services: starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  for _ in $(seq 1 40); do redis_up && return 0; sleep 0.25; done
  echo "services: Redis did not come up on 127.0.0.1:$REDIS_PORT" >&2
  return 1
}

install_missing
start_postgres
start_redis
echo "services: PostgreSQL and Redis are up"
