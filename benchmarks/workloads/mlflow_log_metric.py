"""``mlflow_log_metric.py N``: log N values one call each; time the loop and ending the run.

A few untimed calls on another key warm up first: MLflow's first calls are much slower.
Then read the tracking store back and report how many values of the timed key it holds.
"""

import json
import sys
import time

import mlflow
from mlflow.tracking import MlflowClient

WARM_UP = 20
count = int(sys.argv[1])
run = mlflow.start_run(run_name="log-metric")
for step in range(WARM_UP):
    mlflow.log_metric("warm-up", 0.0, step=step)
start = time.perf_counter()
for step in range(count):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
looped = time.perf_counter()
mlflow.end_run()
ended = time.perf_counter()

client = MlflowClient()
report = {
    "calls": count,
    "loop_s": looped - start,
    "end_s": ended - looped,
    "stored": len(client.get_metric_history(run.info.run_id, "loss")),
    "status": client.get_run(run.info.run_id).info.status,
}
print(json.dumps(report))
