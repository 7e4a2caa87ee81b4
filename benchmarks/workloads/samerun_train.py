"""A tiny training script recorded with samerun (full capture: code, env, seed, params)."""

import json
import random

import samerun

LR, EPOCHS = 0.05, 10
PARAMS = {"lr": LR, "epochs": EPOCHS, "model": "linear"}

with samerun.start_run(name="train", params=PARAMS) as run:
    rng = random.Random(run.seed)
    loss = 1.0
    for epoch in range(EPOCHS):
        loss *= 1 - LR * rng.random()
        samerun.log_metric("loss", loss, step=epoch)

print(json.dumps({"run_id": run.id}))
