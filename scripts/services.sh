#!/usr/bin/env bash
# Start the local services the test suite may use (PostgreSQL on 127.0.0.1:5432, NATS with
# JetStream on 127.0.0.1:4222) if they are not already running. The machines of this
# project start them before a session; this script only repairs a stopped one.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  else
    echo "services: PostgreSQL is not installed; tests that need it will fail" >&2
  fi
fi
if ! up 4222; then
  if [ -x /usr/sbin/nats-server ]; then
    echo "services: starting NATS" >&2
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  else
    echo "services: nats-server is not installed; tests that need it will fail" >&2
  fi
fi
for _ in $(seq 1 30); do
  if up 5432 && up 4222; then exit 0; fi
  sleep 0.5
done
echo "services: PostgreSQL or NATS still down after 15 s" >&2
exit 0
