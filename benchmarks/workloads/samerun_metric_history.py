"""``samerun_metric_history.py RUN_ID MAX_POINTS REPEATS``: the run's ``loss``, downsampled.

Times ``samerun.get_run(RUN_ID).metric_history("loss", max_points=MAX_POINTS)``: the first call
(``import samerun`` not included; it opens the store), then the median of REPEATS more in this warm
interpreter. Prints a JSON report with both (and the first call's CPU time), how many buckets came
back, the lowest bucket minimum and the last bucket's last value (which must be the series' minimum
and last value).
"""

import json
import statistics
import sys
import time

import samerun

run_id = sys.argv[1]
max_points = int(sys.argv[2])
repeats = int(sys.argv[3])


def downsampled() -> list:
    return samerun.get_run(run_id).metric_history("loss", max_points=max_points).buckets


start, start_cpu = time.perf_counter(), time.process_time()
buckets = downsampled()
first_call_s = time.perf_counter() - start
first_call_cpu_s = time.process_time() - start_cpu
warm = []
for _ in range(repeats):
    start = time.perf_counter()
    downsampled()
    warm.append(time.perf_counter() - start)
report = {
    "first_call_s": first_call_s,
    "first_call_cpu_s": first_call_cpu_s,
    "warm_call_s": statistics.median(warm),
    "buckets": len(buckets),
    "min": min(bucket.min for bucket in buckets),
    "max": max(bucket.max for bucket in buckets),
    "last": buckets[-1].last,
}
print(json.dumps(report))
