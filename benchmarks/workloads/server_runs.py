"""What each benchmarked run holds, shared by the samerun and MLflow sides of the server benchmark
(``bench_server.py``): its params and its ``loss`` at each step."""


def params(index: int) -> dict[str, object]:
    return {"lr": 10.0 ** -(1 + index % 4), "depth": 2 + index % 5, "optimizer": "adam"}


def loss(index: int, step: int) -> float:
    return 1.0 / (step + 1) + index * 1e-6
