"""``mlflow_search_runs.py LIMIT [REPEATS]``: the best LIMIT runs with an accuracy over 0.9.

Prints one line per run, as a script listing them would, then a JSON report: the runs' names in
order, how long the first query took (``import mlflow`` not included), and, when REPEATS is
given, the median of that many more identical queries in this warm interpreter.
"""

import json
import statistics
import sys
import time

from mlflow.tracking import MlflowClient

DEFAULT_EXPERIMENT = "0"
FILTER = "metrics.accuracy > 0.9"
ORDER_BY = ["metrics.accuracy DESC"]

limit = int(sys.argv[1])
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 0
client = MlflowClient()


def best_runs() -> list:
    return client.search_runs(
        experiment_ids=[DEFAULT_EXPERIMENT],
        filter_string=FILTER,
        order_by=ORDER_BY,
        max_results=limit,
    )


start = time.perf_counter()
runs = best_runs()
first_query_s = time.perf_counter() - start
for run in runs:
    print(run.info.run_id[:8], run.info.run_name, run.info.status, run.data.metrics["accuracy"])
warm = []
for _ in range(repeats):
    start = time.perf_counter()
    best_runs()
    warm.append(time.perf_counter() - start)
report = {
    "names": [run.info.run_name for run in runs],
    "first_query_s": first_query_s,
    "warm_query_s": statistics.median(warm) if warm else None,
}
print(json.dumps(report))
