"""The newest 20 runs of the default experiment, as `samerun runs` shows by default."""

import json

import mlflow

runs = mlflow.search_runs(experiment_ids=["0"], max_results=20, output_format="list")
for run in runs:
    print(run.info.run_id[:8], run.info.run_name, run.info.status, run.info.start_time)
print(json.dumps({"listed": len(runs)}))
