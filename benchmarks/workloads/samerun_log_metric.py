"""``samerun_log_metric.py N``: log N values one call each; time the loop and finishing the run.

A few untimed calls on another key warm up first (as for MLflow, whose first calls are slow).
Then read the store back: how many values of the timed key it holds, and are they exact?
"""

import json
import sys
import time

import samerun
from samerun.store.project import Project, open_store

WARM_UP = 20
count = int(sys.argv[1])
run = samerun.start_run(name="log-metric")
for step in range(WARM_UP):
    samerun.log_metric("warm-up", 0.0, step=step)
start = time.perf_counter()
for step in range(count):
    samerun.log_metric("loss", 1.0 / (step + 1), step=step)
looped = time.perf_counter()
run.end()
ended = time.perf_counter()

store = open_store(Project(run.root))
try:
    series = store.meta.metric_series(run.id, "loss")
    total = store.meta.metric_count(run.id)
    status = store.meta.resolve(run.id).status
finally:
    store.close()
report = {
    "calls": count,
    "loop_s": looped - start,
    "end_s": ended - looped,
    "stored": len(series),
    "stored_all_keys": total,
    "exact": all(s == i and v == 1.0 / (i + 1) for i, (s, v, _) in enumerate(series)),
    "status": status,
}
print(json.dumps(report))
