"""Fill MLflow's tracking store (``MLFLOW_TRACKING_URI``) through its client, as a sweep would.

``mlflow_populate.py runs COUNT``: the first COUNT runs of the synthetic sweep, each created,
logged with one ``log_batch`` (its 20 params and every value of its 10 metrics) and ended.
``mlflow_populate.py history POINTS``: one run whose ``loss`` has POINTS values, logged
``MAX_METRICS_PER_BATCH`` at a time.

Prints a JSON report: how many runs were written and how long that took.
"""

import json
import sys
import time

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from synthetic_runs import loss_history, synthetic_run

DEFAULT_EXPERIMENT = "0"
MAX_METRICS_PER_BATCH = 1000  # MLflow refuses more in one log_batch


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


def log_sweep(client: MlflowClient, count: int) -> list[str]:
    run_ids = []
    for index in range(count):
        run = synthetic_run(index)
        created = client.create_run(
            DEFAULT_EXPERIMENT, start_time=to_ms(run.started_at), run_name=run.name
        )
        run_id = created.info.run_id
        metrics = [
            Metric(key, value, to_ms(at), step)
            for key, points in run.metrics.items()
            for step, value, at in points
        ]
        params = [Param(key, str(value)) for key, value in run.params.items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, "FINISHED", end_time=to_ms(run.ended_at))
        run_ids.append(run_id)
    return run_ids


def log_history(client: MlflowClient, points: int) -> str:
    history = loss_history(points)
    created = client.create_run(
        DEFAULT_EXPERIMENT, start_time=to_ms(history[0][2]), run_name="long-training"
    )
    run_id = created.info.run_id
    for first in range(0, points, MAX_METRICS_PER_BATCH):
        batch = history[first : first + MAX_METRICS_PER_BATCH]
        client.log_batch(run_id, metrics=[Metric("loss", v, to_ms(t), s) for s, v, t in batch])
    client.set_terminated(run_id, "FINISHED", end_time=to_ms(history[-1][2]))
    return run_id


def main(what: str, size: int) -> None:
    client = MlflowClient()
    start = time.perf_counter()
    run_ids = log_sweep(client, size) if what == "runs" else [log_history(client, size)]
    print(json.dumps({"runs": len(run_ids), "populate_s": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
