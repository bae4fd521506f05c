-- Reading records by tenant: a tenant's page of records, newest first, and the count of a
-- tenant's open (IN_PROGRESS) records that `[tasks] tenant_max_queued` bounds, each from an
-- index. Portable SQL: partial indexes exist in PostgreSQL and SQLite alike.
CREATE INDEX IF NOT EXISTS plugmill_task_records_tenant_created
    ON plugmill_task_records (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS plugmill_task_records_created
    ON plugmill_task_records (created_at);

CREATE INDEX IF NOT EXISTS plugmill_task_records_tenant_open
    ON plugmill_task_records (tenant_id) WHERE status = 'IN_PROGRESS';
