"""Train a small digits classifier; every source of randomness comes from the run's seed."""

import json
import pickle

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import samerun

run = samerun.start_run()
params = samerun.get_params()
rng = np.random.default_rng(run.seed)

digits = load_digits()
pixels = digits.data / 16.0
noise = rng.normal(0.0, params["data.noise"], pixels.shape)
x_train, x_test, y_train, y_test = train_test_split(
    pixels + noise, digits.target, test_size=params["data.test_size"], random_state=run.seed
)
model = LogisticRegression(C=params["model.C"], max_iter=params["model.max_iter"])
for epoch in range(params["epochs"]):
    model.set_params(max_iter=params["model.max_iter"] * (epoch + 1))
    model.fit(x_train, y_train)
    samerun.log_metric("train_accuracy", model.score(x_train, y_train), step=epoch)
accuracy = model.score(x_test, y_test)
samerun.log_metric("test_accuracy", accuracy)

with open("model.pkl", "wb") as handle:
    pickle.dump(model, handle, protocol=5)
with open("metrics.json", "w") as handle:
    json.dump({"test_accuracy": accuracy}, handle, sort_keys=True)
print(f"test accuracy {accuracy:.4f}")
