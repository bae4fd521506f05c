"""The seed system's side of its Celery queue, in Python Celery, for plugmill's tests.

    seed_celery.py publish BROKER QUEUE TASK KWARGS_JSON   # one message, as the seed's API
    seed_celery.py worker BROKER QUEUE OUT_FILE            # the seed's worker, until killed

`publish` sends the Celery task TASK (the seed's is execute_plugin_task) with these keyword
arguments and prints its Celery id. `worker` runs execute_plugin_task as the seed's worker
declares it (acks late, never retried) and writes what each call received, one JSON object a
line, to OUT_FILE.
"""

import json
import sys

from celery import Celery


def app_for(broker):
    app = Celery("seed", broker=broker)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    return app


def main():
    mode, broker, queue = sys.argv[1], sys.argv[2], sys.argv[3]
    app = app_for(broker)
    if mode == "publish":
        task, kwargs = sys.argv[4], json.loads(sys.argv[5])
        result = app.send_task(task, kwargs=kwargs, queue=queue)
        print(result.id)
        return
    out = sys.argv[4]

    @app.task(name="execute_plugin_task", acks_late=True, max_retries=0)
    def execute_plugin_task(task, data, task_execution, document_id=None):
        with open(out, "a", encoding="utf-8") as f:
            received = {
                "task": task,
                "data": data,
                "task_execution": task_execution,
                "document_id": document_id,
            }
            f.write(json.dumps(received) + "\n")

    app.worker_main(
        ["worker", "-Q", queue, "--pool", "solo", "-c", "1", "-l", "info", "--without-heartbeat",
         "--without-gossip", "--without-mingle"]
    )


if __name__ == "__main__":
    main()
