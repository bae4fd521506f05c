"""The seed system's task design on Python Celery 5, for scripts/bench-tasks.sh to measure
beside plugmill: the API inserts a task-execution record (IN_PROGRESS, "Task started") and
publishes the Celery task `execute_plugin_task` to RabbitMQ; a worker (acks late, never
retrying, as the seed's `max_retries = 0`) marks the record IN_PROGRESS, runs the task (nothing,
or one INSERT), and marks it SUCCESS with its log line. Records in PostgreSQL, in
`sequent_backend.tasks_execution` as the seed's migrations leave it.

    celery -A celery_seed worker -c 2          # the workers (2 processes)
    python3 celery_seed.py TASKS [write]       # submits TASKS, prints tasks/s
"""

import json
import os
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

import psycopg
from celery import Celery

BROKER = os.environ["CELERY_BROKER"]
DATABASE = os.environ.get("CELERY_DATABASE", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = os.environ.get("CELERY_SCHEMA", "sequent_backend")
SUBMITTERS = 8

app = Celery("celery_seed", broker=BROKER)
app.conf.update(
    task_acks_late=True,
    task_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
)

_connection = None


def connection():
    """One connection per worker process, as the seed's workers hold a pool per process."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(DATABASE, autocommit=True)
    return _connection


def log_line(text):
    now = datetime.now(timezone.utc).isoformat()
    return json.dumps([{"created_date": now, "log_text": text}])


def update(db, task_id, tenant_id, status, text):
    db.execute(
        f"UPDATE {SCHEMA}.tasks_execution SET execution_status = %s, "
        "logs = (COALESCE(logs::jsonb, '[]'::jsonb) || %s::jsonb)::json, "
        "end_at = CASE WHEN %s != 'IN_PROGRESS' THEN now() ELSE end_at END, "
        "annotations = COALESCE(annotations, '{}') || %s::jsonb "
        "WHERE id = %s AND tenant_id = %s",
        (status, log_line(text), status, json.dumps({"document_id": None}), task_id, tenant_id),
    )


@app.task(name="execute_plugin_task", max_retries=0)
def execute_plugin_task(task_id, tenant_id, write):
    db = connection()
    update(db, task_id, tenant_id, "IN_PROGRESS", "Task running")
    if write:
        db.execute(f"INSERT INTO {SCHEMA}.bench_tasks (key) VALUES (%s)", (task_id,))
    update(db, task_id, tenant_id, "SUCCESS", "Task completed successfully")


def prepare():
    with psycopg.connect(DATABASE, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.tasks_execution ("
            "id uuid NOT NULL DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL, "
            "election_event_id uuid, name text NOT NULL, type text NOT NULL, "
            "execution_status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
            "start_at timestamptz NOT NULL DEFAULT now(), end_at timestamptz, annotations jsonb, "
            "labels jsonb, logs json, executed_by_user text NOT NULL, PRIMARY KEY (tenant_id, id))"
        )
        db.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.bench_tasks (key text NOT NULL)")
        db.execute(f"TRUNCATE {SCHEMA}.tasks_execution, {SCHEMA}.bench_tasks")


def submit(count, write, tenant):
    """Inserts the record and publishes the task, as the seed's API does for each request."""
    with psycopg.connect(DATABASE, autocommit=True) as db:
        for _ in range(count):
            row = db.execute(
                f"INSERT INTO {SCHEMA}.tasks_execution (tenant_id, election_event_id, name, type, "
                "execution_status, annotations, labels, logs, executed_by_user) "
                "VALUES (%s, NULL, 'Bench', 'BENCH', 'IN_PROGRESS', '{}', '{}', %s, 'bench') "
                "RETURNING id",
                (tenant, log_line("Task started")),
            ).fetchone()
            execute_plugin_task.apply_async(args=[str(row[0]), tenant, write])


def main():
    count = int(sys.argv[1])
    write = len(sys.argv) > 2 and sys.argv[2] == "write"
    prepare()
    tenant = str(uuid.uuid4())
    started = time.monotonic()
    shares = [count // SUBMITTERS + (1 if n < count % SUBMITTERS else 0) for n in range(SUBMITTERS)]
    threads = [threading.Thread(target=submit, args=(share, write, tenant)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with psycopg.connect(DATABASE, autocommit=True) as db:
        while True:
            done = db.execute(
                f"SELECT COUNT(*) FROM {SCHEMA}.tasks_execution WHERE execution_status = 'SUCCESS'"
            ).fetchone()[0]
            if done >= count:
                break
            if time.monotonic() - started > 600:
                sys.exit(f"only {done} of {count} tasks ended")
            time.sleep(0.01)
    elapsed = time.monotonic() - started
    print(f"{count / elapsed:.0f}")


if __name__ == "__main__":
    main()
