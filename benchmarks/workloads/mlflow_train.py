"""A tiny training script tracked with MLflow (tracking URI from MLFLOW_TRACKING_URI)."""

import json
import random

import mlflow

LR, EPOCHS = 0.05, 10
PARAMS = {"lr": LR, "epochs": EPOCHS, "model": "linear"}

with mlflow.start_run(run_name="train") as run:
    mlflow.log_params(PARAMS)
    rng = random.Random(42)
    loss = 1.0
    for epoch in range(EPOCHS):
        loss *= 1 - LR * rng.random()
        mlflow.log_metric("loss", loss, step=epoch)

print(json.dumps({"run_id": run.info.run_id}))
