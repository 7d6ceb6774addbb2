#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis the test suite talks to when they are not running,
# and installs HAProxy (for the load-balancer test), coturn (for the TURN test) and Chromium
# (for the browser tests) when they are missing.
# Quiet and idempotent: does nothing when both already answer. The test database itself is
# created by the suite's global setup (test/support/global-setup.ts), with the app's own code.
set -euo pipefail

pg_host=127.0.0.1 pg_port=5432 redis_port=6379

if ! pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 50); do pg_isready -q -h "$pg_host" -p "$pg_port" && break; sleep 0.2; done
  pg_isready -q -h "$pg_host" -p "$pg_port" || { echo "PostgreSQL is not reachable on $pg_host:$pg_port" >&2; exit 1; }
fi

if ! redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.2; done
  redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 || { echo "Redis is not reachable on 127.0.0.1:$redis_port" >&2; exit 1; }
fi

# The load-balancer test runs the shipped HAProxy configuration (Debian's package).
if ! command -v haproxy >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq haproxy >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq haproxy >/dev/null 2>&1; } || true
  command -v haproxy >/dev/null 2>&1 || { echo "haproxy is not installed and could not be installed (apt-get install haproxy)" >&2; exit 1; }
fi

# The TURN test (test/integration/turn.test.ts) runs Debian's coturn on a loopback port of its own.
if ! command -v turnserver >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq coturn >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq coturn >/dev/null 2>&1; } || true
  command -v turnserver >/dev/null 2>&1 || { echo "coturn is not installed and could not be installed (apt-get install coturn)" >&2; exit 1; }
fi

# The browser tests (test/browser/) drive Debian's Chromium with playwright-core, which downloads no browser.
if ! [ -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } || true
  [ -x /usr/bin/chromium ] || { echo "chromium is not installed and could not be installed (apt-get install chromium)" >&2; exit 1; }
fi
