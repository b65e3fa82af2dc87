#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and NATS JetStream (127.0.0.1:4222) are up; start them
# if not. Under CI=true a service that cannot be started fails the run; elsewhere it warns and the
# tests that need it are skipped with that reason.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() {
  for _ in $(seq 1 50); do up "$1" && return 0; sleep 0.2; done
  return 1
}

status=0
if ! up 5432; then
  echo "PostgreSQL is down: starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql 2>/dev/null | head -n1)" main start >/dev/null 2>&1
  wait_up 5432 || { echo "PostgreSQL could not be started on 127.0.0.1:5432" >&2; status=1; }
fi
if ! up 4222; then
  echo "NATS is down: starting it"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server >/dev/null 2>&1
  wait_up 4222 || { echo "NATS could not be started on 127.0.0.1:4222" >&2; status=1; }
fi
if [ "$status" -ne 0 ] && [ "${CI:-}" = "true" ]; then
  echo "CI=true: a required service is missing, failing the run" >&2
  exit 1
fi
exit 0
