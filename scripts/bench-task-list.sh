#!/usr/bin/env bash
# A page of task records at a million records: the statements `GET /tasks` and the console's
# task list run (plugmill's own layout), timed by PostgreSQL's EXPLAIN ANALYZE on a scratch
# database `plugmill_list_bench` of the local server. Not part of CI.
#
#   scripts/bench-task-list.sh [ROWS]     # default 1000000
#
# Prints, for each filter, the index the plan uses and the execution time of the first page
# and of a page further on (the keyset cursor), newest first, 51 rows.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
psql=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt)

"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS plugmill_list_bench" \
    -c "CREATE DATABASE plugmill_list_bench"
for migration in crates/plugmill-tasks/migrations/*.sql; do
    "${psql[@]}" -d plugmill_list_bench -f "$migration" >/dev/null
done
echo "==> $rows records: 4 tasks, 6 statuses, 50 tenants, one every 20 s"
"${psql[@]}" -d plugmill_list_bench <<SQL
INSERT INTO plugmill_task_records (id, task, status, attempts, tenant_id, data, created_at)
SELECT md5(i::text),
       (ARRAY['send-package', 'nightly-cleanup', 'render', 'import'])[1 + i % 4],
       (ARRAY['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILED', 'IN_PROGRESS', 'CANCELLED'])[1 + i % 6],
       1, 'tenant-' || (i % 50), '{}',
       to_char(timestamp '2026-01-01' + i * interval '20 seconds',
               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM generate_series(1, $rows) AS i;
ANALYZE plugmill_task_records;
SQL

cursor="(created_at, id) < ('2026-03-01T00:00:00.000000Z', 'ffff')"
page() {
    local label=$1 where=$2
    local plan
    plan=$("${psql[@]}" -d plugmill_list_bench -c "EXPLAIN (ANALYZE) SELECT id, task, status,
        created_at FROM plugmill_task_records WHERE 1 = 1 $where
        ORDER BY created_at DESC, id DESC LIMIT 51")
    printf '| %s | %s | %s |\n' "$label" \
        "$(grep -o 'using [a-z_]*' <<<"$plan" | head -1 | cut -d' ' -f2)" \
        "$(grep -o 'Execution Time: .*' <<<"$plan" | cut -d' ' -f3-)"
}
echo "| page | index | execution time |"
echo "|---|---|---:|"
page "all, first page" ""
page "all, a later page" "AND $cursor"
page "status = FAILED, first page" "AND status = 'FAILED'"
page "status = FAILED, a later page" "AND status = 'FAILED' AND $cursor"
page "task = render, a later page" "AND task = 'render' AND $cursor"
page "one tenant, a later page" "AND tenant_id = 'tenant-7' AND $cursor"
page "one tenant, FAILED, a later page" "AND tenant_id = 'tenant-7' AND status = 'FAILED' AND $cursor"
page "status = FAILED, a later page, cursor as two comparisons (before)" \
    "AND status = 'FAILED' AND (created_at < '2026-03-01T00:00:00.000000Z' OR
     (created_at = '2026-03-01T00:00:00.000000Z' AND id < 'ffff'))"
"${psql[@]}" -d postgres -c "DROP DATABASE plugmill_list_bench"
