"""``mlflow_fill_runs.py URI RUNS POINTS``: RUNS finished runs in MLflow's store at URI, each with
a few params and tags and a ``loss`` metric of POINTS values (steps and timestamps), written
through MLflow's own client (``create_run`` + ``log_batch`` + ``set_terminated``).
Prints a JSON report."""

import json
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

uri, runs, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = MlflowClient(tracking_uri=uri)
experiment = client.create_experiment("bench")
start = time.perf_counter()
base = 1_700_000_000_000
for index in range(runs):
    run = client.create_run(experiment, start_time=base + index, run_name=f"run-{index}")
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        params=[Param("lr", str(0.001 * (index + 1))), Param("depth", str(index % 7))],
        tags=[RunTag("mlflow.source.git.commit", "0" * 40), RunTag("sweep", "bench")],
    )
    values = [
        Metric("loss", 1.0 / (step + 1 + index), base + index + step, step)
        for step in range(points)
    ]
    for at in range(0, points, 1000):
        client.log_batch(run_id, metrics=values[at : at + 1000])
    client.set_terminated(run_id, "FINISHED", end_time=base + index + points)
print(json.dumps({"fill_s": time.perf_counter() - start, "runs": runs, "points": points}))
