"""GBM001-GBM002: XGBoost and LightGBM settings."""

from __future__ import annotations

import pytest

from tests.doctor.conftest import Analyse, rule_ids


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import xgboost as xgb\nm = xgb.XGBRegressor()", ["GBM001"]),
        ("import xgboost as xgb\nm = xgb.XGBRegressor(n_jobs=4)", []),
        ("import xgboost as xgb\nb = xgb.train({'max_depth': 3}, d)", ["GBM001"]),
        ("import xgboost as xgb\np = {'nthread': 2}\nb = xgb.train(p, d)", []),
        ("import xgboost as xgb\nb = xgb.train(load_params(), d)", []),
        ("import lightgbm as lgb\nm = lgb.LGBMRegressor(n_jobs=4)", ["GBM002"]),
        ("import lightgbm as lgb\nm = lgb.LGBMRegressor(deterministic=True, n_jobs=4)", []),
        (
            "import lightgbm as lgb\nb = lgb.train({'deterministic': False, 'num_threads': 2}, d)",
            ["GBM002"],
        ),
        ("from lightgbm import LGBMClassifier\nm = LGBMClassifier(**params)", []),
    ],
)
def test_boosters(analyse: Analyse, code: str, expected: list[str]) -> None:
    assert rule_ids(analyse({"a.py": code})) == expected
