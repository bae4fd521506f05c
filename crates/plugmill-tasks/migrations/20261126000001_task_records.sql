-- Task-execution records and their log lines. Portable SQL: the same migration runs on
-- PostgreSQL and SQLite. Times are RFC 3339 text in UTC.
CREATE TABLE IF NOT EXISTS plugmill_task_records (
    id          TEXT PRIMARY KEY,
    task        TEXT NOT NULL,
    task_type   TEXT,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    executed_by TEXT,
    tenant_id   TEXT,
    document_id TEXT,
    data        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    ended_at    TEXT,
    error       TEXT,
    result      TEXT
);

CREATE INDEX IF NOT EXISTS plugmill_task_records_status ON plugmill_task_records (status);

CREATE TABLE IF NOT EXISTS plugmill_task_logs (
    task_id      TEXT NOT NULL,
    created_date TEXT NOT NULL,
    log_text     TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS plugmill_task_logs_task ON plugmill_task_logs (task_id, created_date);
