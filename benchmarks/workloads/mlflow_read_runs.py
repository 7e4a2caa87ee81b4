"""``mlflow_read_runs.py URI``: what reading every run of MLflow's store at URI back costs with
MLflow's own client: ``search_runs`` (every page) and ``get_metric_history`` of every metric of
every run. Prints a JSON report: how many runs and points it read."""

import json
import sys

from mlflow import MlflowClient

client = MlflowClient(tracking_uri=sys.argv[1])
runs = points = 0
for experiment in client.search_experiments():
    token = None
    while True:
        page = client.search_runs([experiment.experiment_id], page_token=token)
        for run in page:
            runs += 1
            for key in run.data.metrics:
                points += len(client.get_metric_history(run.info.run_id, key))
        token = page.token
        if not token:
            break
print(json.dumps({"runs": runs, "points": points}))
