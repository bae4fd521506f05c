#!/usr/bin/env bash
# Task throughput, plugmill beside Python Celery 5 running the seed system's design, in one run
# on this machine's PostgreSQL and RabbitMQ (docs/benchmarks.md "Tasks").
#
#   scripts/bench-tasks.sh [TASKS] [IN_FLIGHT]   # default 2000 tasks per row, 64 in flight
#
# Celery: scripts/celery_seed.py, 2 worker processes (prefork), acks late, never retrying; the
# API side inserts the record and publishes, 8 submitters. plugmill: the throughput example
# (crates/plugmill-tasks/examples/throughput.rs). Each row's tasks/s are tasks whose record
# reached SUCCESS per second; the last column is the ratio to Celery's rate for that task.
set -euo pipefail
count="${1:-2000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${PLUGMILL_BENCH_VENV:-$root/target/celery-venv}"
if [[ ! -x "$venv/bin/celery" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'celery>=5,<6' 'psycopg[binary]'
fi
vhost="plugmill_celery_$$"
rabbitmqctl add_vhost "$vhost" >/dev/null
rabbitmqctl set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
worker=""
cleanup() {
  if [[ -n "$worker" ]]; then kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; fi
  rabbitmqctl delete_vhost "$vhost" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export CELERY_BROKER="amqp://guest:guest@127.0.0.1:5672/$vhost"
export CELERY_SCHEMA="celery_bench_$$"
cd "$root/scripts"
"$venv/bin/celery" -A celery_seed worker -c 2 --pool prefork -l warning >/dev/null 2>&1 &
worker=$!
sleep 5
"$venv/bin/python" celery_seed.py 200 >/dev/null          # warm-up
celery_trivial="$("$venv/bin/python" celery_seed.py "$count")"
celery_write="$("$venv/bin/python" celery_seed.py "$count" write)"
kill -TERM "$worker"; wait "$worker" 2>/dev/null || true; worker=""
psql -h 127.0.0.1 -U postgres -d test -qc "DROP SCHEMA $CELERY_SCHEMA CASCADE" >/dev/null

cd "$root"
table="$(cargo run --quiet --release -p plugmill-tasks --example throughput -- "$count" "${2:-64}")"
echo "$table"
echo
echo "| task | path | tasks/s | vs Celery |"
echo "|---|---|---:|---:|"
for workload in trivial "one DB write"; do
  celery="$celery_trivial"
  [[ "$workload" == "one DB write" ]] && celery="$celery_write"
  echo "| $workload | Celery 5, seed design, 2 worker processes | $celery | 1.00x |"
  echo "$table" | awk -F'|' -v w=" $workload " -v c="$celery" '
    $2 == w && $3 !~ /direct call/ {
      rate = $4; gsub(/[^0-9]/, "", rate);
      path = $3; gsub(/^ +| +$/, "", path);
      printf "| %s | plugmill, %s | %s | %.2fx |\n", substr(w, 2, length(w) - 2), path, rate, rate / c
    }'
done
