-- Listing records by status or by task, newest first (the console's and GET /tasks'
-- filters): each from an index in the order of the page, at a million records too.
-- Portable SQL: PostgreSQL and SQLite alike.
CREATE INDEX IF NOT EXISTS plugmill_task_records_status_created
    ON plugmill_task_records (status, created_at, id);

CREATE INDEX IF NOT EXISTS plugmill_task_records_task_created
    ON plugmill_task_records (task, created_at, id);
