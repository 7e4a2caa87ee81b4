"""``samerun_server_record.py RUNS POINTS ARTIFACTS``: the runs the server benchmark pushes.

In a project (the working directory): records RUNS runs, each with three params, POINTS values
of ``loss`` (one per step) and the two files of its folder ``ARTIFACTS/run-N/`` as artifacts.
The values follow ``workloads/server_runs.py``, which the MLflow side logs too. Prints a JSON
report (the recording time, for the record; it is not compared).
"""

import json
import sys
import time
from pathlib import Path

from server_runs import loss, params

import samerun

runs, points = (int(arg) for arg in sys.argv[1:3])
artifacts = Path(sys.argv[3])
start = time.perf_counter()
for index in range(runs):
    with samerun.start_run(name=f"run-{index}", params=params(index), seed=index):
        for step in range(points):
            samerun.log_metric("loss", loss(index, step), step=step)
        for path in sorted((artifacts / f"run-{index}").iterdir()):
            samerun.log_artifact(path)
print(json.dumps({"record_s": time.perf_counter() - start, "runs": runs}))
