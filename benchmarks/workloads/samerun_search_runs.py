"""``samerun_search_runs.py LIMIT REPEATS``: the best LIMIT runs with an accuracy over 0.9,
through the Python API, as ``mlflow_search_runs.py`` asks MLflow.

Prints a JSON report: the runs' names in order, how long the first query took (``import
samerun`` not included; the first query opens the store), and the median of REPEATS more
identical queries in this warm interpreter.
"""

import json
import statistics
import sys
import time

import samerun

FILTER = "metrics.accuracy > 0.9"
ORDER_BY = ["metrics.accuracy desc"]

limit = int(sys.argv[1])
repeats = int(sys.argv[2])


def best_runs() -> list:
    return list(samerun.runs(filter=FILTER, order_by=ORDER_BY, limit=limit))


start = time.perf_counter()
runs = best_runs()
first_query_s = time.perf_counter() - start
warm = []
for _ in range(repeats):
    start = time.perf_counter()
    best_runs()
    warm.append(time.perf_counter() - start)
report = {
    "names": [run.name for run in runs],
    "first_query_s": first_query_s,
    "warm_query_s": statistics.median(warm),
}
print(json.dumps(report))
