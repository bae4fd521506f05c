-- Each registered plugin's outcome of a task: `ok` with its answer, or `failed` with its
-- error and its kind, and how many times it ran to an outcome. A retry runs only the plugins
-- without an `ok` row; a record is SUCCESS once every plugin has one. Records from before
-- this table have no rows: they read as before, with an empty list of outcomes.
CREATE TABLE IF NOT EXISTS plugmill_task_outcomes (
    task_id  TEXT NOT NULL,
    plugin   TEXT NOT NULL,
    status   TEXT NOT NULL,
    answer   TEXT,
    error    TEXT,
    kind     TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, plugin)
);

-- The kind of a record's failure (`plugin-error`, `trap`, `deadline`, `fuel`,
-- `resource-limit`, `host`, `not-found`, `bad-input`), beside its text.
ALTER TABLE plugmill_task_records ADD COLUMN error_kind TEXT;

-- The caller's `Idempotency-Key`: one record per key and tenant (no tenant counts as one).
ALTER TABLE plugmill_task_records ADD COLUMN idempotency_key TEXT;

CREATE UNIQUE INDEX IF NOT EXISTS plugmill_task_records_idempotency
    ON plugmill_task_records (COALESCE(tenant_id, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
