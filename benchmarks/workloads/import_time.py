"""Print how long ``import MODULE`` takes in this fresh interpreter: ``import_time.py MODULE``."""

import importlib
import json
import sys
import time

start = time.perf_counter()
importlib.import_module(sys.argv[1])
print(json.dumps({"import_s": time.perf_counter() - start}))
