"""``samerun_registry.py VERSIONS EVENTS REPEATS``: the model registry, in one fresh interpreter.

In a project (the working directory) whose last run wrote ``model.pkl``: registers VERSIONS
versions of model ``bench`` (timed), moves alias ``production`` EVENTS times (not timed: the
history to search), then times resolving ``bench@production`` to local paths (the first call
materializes the file; the median of REPEATS more reuses it) and ``history(at=...)`` at the
middle of the moves. Prints a JSON report.
"""

import json
import statistics
import sys
import time

import samerun
from samerun.registry import open_registry

versions, events, repeats = (int(arg) for arg in sys.argv[1:4])

with open_registry() as registry:
    run = samerun.get_run("last").id
    start = time.perf_counter()
    for _ in range(versions):
        registry.register("bench", run, ["model.pkl"])
    register_s = time.perf_counter() - start
    moments = []
    for index in range(events):
        registry.set_alias("bench", "production", 1 + index % versions)
        if index == events // 2:
            moments.append(time.time())

    start = time.perf_counter()
    paths = registry.get("bench@production").paths
    first_get_s = time.perf_counter() - start
    gets = []
    for _ in range(repeats):
        start = time.perf_counter()
        registry.get("bench@production")
        gets.append(time.perf_counter() - start)
    at = moments[0] if moments else time.time()
    searches = []
    for _ in range(repeats):
        start = time.perf_counter()
        found = registry.history("bench", alias="production", at=at)
        searches.append(time.perf_counter() - start)

print(
    json.dumps(
        {
            "register_s": register_s,
            "first_get_s": first_get_s,
            "get_s": statistics.median(gets),
            "history_at_s": statistics.median(searches),
            "events": len(found.events),
            "paths": [str(p) for p in paths],
        }
    )
)
