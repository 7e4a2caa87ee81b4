"""``mlflow_server_push.py RUNS POINTS ARTIFACTS``: the same runs sent to ``mlflow server``.

With ``MLFLOW_TRACKING_URI`` pointing at the server: for each of RUNS runs, ``create_run``, one
``log_batch`` of its three params and POINTS values of ``loss`` (the most one call takes is
1,000 metrics, so bigger POINTS go in several calls), its two files from ``ARTIFACTS/run-N/``
through the server's artifact proxy, then ``set_terminated``: how an MLflow user gets a run onto
the team's server. Values from ``workloads/server_runs.py``. Prints a JSON report.
"""

import json
import sys
import time
from pathlib import Path

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from server_runs import loss, params

BATCH = 1_000  # MLflow's limit of metrics per log_batch call

runs, points = (int(arg) for arg in sys.argv[1:3])
artifacts = Path(sys.argv[3])
client = MlflowClient()
experiment = client.create_experiment("bench")
start = time.perf_counter()
for index in range(runs):
    run = client.create_run(experiment, run_name=f"run-{index}").info.run_id
    now = int(time.time() * 1000)
    values = [Metric("loss", loss(index, step), now, step) for step in range(points)]
    client.log_batch(
        run,
        metrics=values[:BATCH],
        params=[Param(key, str(value)) for key, value in params(index).items()],
    )
    for first in range(BATCH, points, BATCH):
        client.log_batch(run, metrics=values[first : first + BATCH])
    for path in sorted((artifacts / f"run-{index}").iterdir()):
        client.log_artifact(run, str(path))
    client.set_terminated(run)
print(json.dumps({"push_s": time.perf_counter() - start, "experiment_id": experiment}))
