"""``mlflow_metric_history.py RUN_ID REPEATS``: read the run's whole ``loss`` history.

``get_metric_history`` returns every point: MLflow's client has no downsampling. Prints a JSON
report: the first call's wall and CPU time (``import mlflow`` not included), the median of REPEATS
more in this warm interpreter (None for 0), how many points came back, their minimum and the last
value.
"""

import json
import statistics
import sys
import time

from mlflow.tracking import MlflowClient

run_id = sys.argv[1]
repeats = int(sys.argv[2])
client = MlflowClient()

start, start_cpu = time.perf_counter(), time.process_time()
history = client.get_metric_history(run_id, "loss")
first_call_s = time.perf_counter() - start
first_call_cpu_s = time.process_time() - start_cpu
warm = []
for _ in range(repeats):
    start = time.perf_counter()
    client.get_metric_history(run_id, "loss")
    warm.append(time.perf_counter() - start)
last = max(history, key=lambda metric: metric.step)
report = {
    "first_call_s": first_call_s,
    "first_call_cpu_s": first_call_cpu_s,
    "warm_call_s": statistics.median(warm) if warm else None,
    "points": len(history),
    "min": min(metric.value for metric in history),
    "last": last.value,
}
print(json.dumps(report))
