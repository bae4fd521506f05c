#!/usr/bin/env bash
# Every test of the workspace, on a fresh machine with only Rust installed: installs the
# wasm32-wasip2 target the test plugins are built for, starts the local PostgreSQL server and
# RabbitMQ broker the database and task tests use when they are installed but not running,
# installs Debian's chromium and chromium-driver for the console's browser tests, then runs
# the tests. With python3 present it installs Python Celery into target/celery-venv.
#
# The database tests use PLUGMILL_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null

if [[ -z "${PLUGMILL_TEST_POSTGRES:-}" ]] && command -v pg_isready >/dev/null \
    && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
        echo "==> starting the local PostgreSQL server"
        for version in /etc/postgresql/*; do
            pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
        done
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
    fi
fi

# The console's browser tests drive Debian's headless Chromium over WebDriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "==> installing chromium and chromium-driver for the console's browser tests"
    if ! apt-get install -y chromium chromium-driver >/dev/null 2>&1; then
        apt-get update >/dev/null
        apt-get install -y chromium chromium-driver >/dev/null
    fi
fi

if command -v rabbitmqctl >/dev/null && ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "==> starting the local RabbitMQ broker"
    rabbitmq-server -detached || true
    rabbitmqctl -q --timeout 120 await_startup || true
fi

# The Celery protocol tests run Python Celery as the seed system's side; without it they say
# they are skipped.
venv=target/celery-venv
if command -v python3 >/dev/null && [[ ! -x "$venv/bin/celery" ]]; then
    echo "==> installing Python Celery into $venv (the Celery protocol tests)"
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet 'celery>=5,<6'; } \
        || echo "==> no Python Celery: the Celery protocol tests are skipped"
fi

cargo test --workspace --all-targets
cargo test --workspace --doc

# The README's first command, on the binary the tests just built: it fails unless the server
# answers the routes and the queued task's record ends SUCCESS.
echo "==> scripts/demo.sh"
PLUGMILL_BIN=target/debug/plugmill ./scripts/demo.sh

# Optional OpenTelemetry export builds.
echo "==> cargo check -p plugmill-cli --features otel"
cargo check --quiet -p plugmill-cli --features otel

# The library's heavy parts are optional: it must build with each one alone, and with none.
for features in "" postgres sqlite s3; do
    echo "==> cargo check -p plugmill --no-default-features --features '$features'"
    cargo check --quiet -p plugmill --no-default-features --features "$features"
done
