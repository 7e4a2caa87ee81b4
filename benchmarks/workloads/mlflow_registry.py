"""``mlflow_registry.py VERSIONS REPEATS``: MLflow's model registry on its SQLite store.

Logs one run with ``model.pkl`` as an artifact, registers VERSIONS versions of model ``bench``
from it with ``create_model_version`` (timed), points alias ``production`` at the last, then
times ``get_model_version_by_alias`` + ``download_artifacts`` of the file: the first call, then
the median of REPEATS more. Prints a JSON report.
"""

import json
import os
import statistics
import sys
import time

import mlflow
from mlflow.tracking import MlflowClient

versions, repeats = (int(arg) for arg in sys.argv[1:3])
client = MlflowClient()
with mlflow.start_run() as run:
    mlflow.log_artifact("model.pkl", artifact_path="model")
source = f"{run.info.artifact_uri}/model"
client.create_registered_model("bench")
start = time.perf_counter()
for _ in range(versions):
    client.create_model_version("bench", source, run_id=run.info.run_id)
register_s = time.perf_counter() - start
client.set_registered_model_alias("bench", "production", str(versions))


def resolve() -> str:
    version = client.get_model_version_by_alias("bench", "production")
    return mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path="deploy")


start = time.perf_counter()
path = resolve()
first_get_s = time.perf_counter() - start
gets = []
for _ in range(repeats):
    start = time.perf_counter()
    resolve()
    gets.append(time.perf_counter() - start)
print(
    json.dumps(
        {
            "register_s": register_s,
            "first_get_s": first_get_s,
            "get_s": statistics.median(gets),
            "found": os.path.exists(os.path.join(path, "model.pkl")),
        }
    )
)
