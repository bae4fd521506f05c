-- With `[tasks] layout = "seed"` the records are the seed platform's
-- `sequent_backend.tasks_execution` rows, which plugmill never alters; what only plugmill
-- keeps of each task it runs is here, a row per record (same id and tenant): the task run,
-- its attempts, its data, its error and the error's kind, what the plugins answered, and the
-- caller's Idempotency-Key. Each plugin's outcome is in `plugmill_task_outcomes`, as in
-- plugmill's own layout. Portable SQL: the table is created in SQLite too, and stays empty.
CREATE TABLE IF NOT EXISTS plugmill_seed_tasks (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    task            TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    data            TEXT NOT NULL,
    document_id     TEXT,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    error           TEXT,
    error_kind      TEXT,
    result          TEXT,
    idempotency_key TEXT
);

CREATE INDEX IF NOT EXISTS plugmill_seed_tasks_tenant_created
    ON plugmill_seed_tasks (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS plugmill_seed_tasks_created
    ON plugmill_seed_tasks (created_at);

CREATE UNIQUE INDEX IF NOT EXISTS plugmill_seed_tasks_idempotency
    ON plugmill_seed_tasks (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
