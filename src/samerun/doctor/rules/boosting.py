"""XGBoost and LightGBM: deterministic settings and a fixed thread count."""

from __future__ import annotations

import ast
from typing import ClassVar

from samerun.doctor.context import FileContext
from samerun.doctor.facts import is_true
from samerun.doctor.rule import Rule, register

_THREADS = frozenset({"n_jobs", "nthread", "nthreads", "num_threads", "num_thread"})


class _BoosterRule(Rule):
    """Checks the settings of a library's estimators and of ``<library>.train(params, ...)``."""

    library: ClassVar[str]
    estimators: ClassVar[frozenset[str]]
    nodes = (ast.Assign, ast.Call)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.dicts: dict[tuple[int, str], set[str]] = {}  # params dicts assigned to names

    def missing(self, keys: set[str], values: dict[str, ast.expr]) -> list[str]:
        """The settings that ``keys`` (with literal ``values`` where known) lack."""
        raise NotImplementedError

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            target = node.targets[0]
            if isinstance(node.value, ast.Dict) and isinstance(target, ast.Name):
                self.dicts[(self.ctx.scope, target.id)] = _keys(node.value)
            return
        assert isinstance(node, ast.Call)
        name = self.ctx.resolve(node.func)
        if name is None or not name.startswith(f"{self.library}."):
            return
        short = name.rpartition(".")[2]
        if short in self.estimators:
            if any(k.arg is None for k in node.keywords):
                return  # **params: unknown
            values = {k.arg: k.value for k in node.keywords if k.arg}
            keys = set(values)
            for params in (values.get("params"), values.get("kwargs")):
                if isinstance(params, ast.Dict):
                    keys |= _keys(params)
        elif short == "train":
            params = (
                node.args[0]
                if node.args
                else next((k.value for k in node.keywords if k.arg == "params"), None)
            )
            if isinstance(params, ast.Dict):
                keys = _keys(params)
                values = _values(params)
            elif isinstance(params, ast.Name) and (self.ctx.scope, params.id) in self.dicts:
                keys, values = self.dicts[(self.ctx.scope, params.id)], {}
            else:
                return
        else:
            return
        missing = self.missing(keys, values)
        if missing:
            self.report(node, f"{short}() is missing {', '.join(missing)}")


def _keys(node: ast.Dict) -> set[str]:
    return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def _values(node: ast.Dict) -> dict[str, ast.expr]:
    return {
        k.value: v
        for k, v in zip(node.keys, node.values, strict=True)
        if isinstance(k, ast.Constant) and isinstance(k.value, str)
    }


@register
class XGBoostThreads(_BoosterRule):
    id = "GBM001"
    name = "xgboost-thread-count"
    title = "XGBoost without a fixed thread count"
    why = (
        "XGBoost sums gradient statistics in parallel; with its default of one thread per core "
        "the summation order, and so the trees, depend on the machine's core count."
    )
    fix = "Fix the thread count (n_jobs=8, or nthread in the params) and keep the seed fixed."
    bad = "import xgboost as xgb\nmodel = xgb.XGBClassifier(max_depth=4)"
    good = "import xgboost as xgb\nmodel = xgb.XGBClassifier(max_depth=4, n_jobs=8, random_state=0)"
    library = "xgboost"
    estimators = frozenset(
        "XGBClassifier XGBRegressor XGBRanker XGBRFClassifier XGBRFRegressor".split()
    )

    def missing(self, keys: set[str], values: dict[str, ast.expr]) -> list[str]:
        return [] if keys & _THREADS else ["a thread count (n_jobs / nthread)"]


@register
class LightGBMDeterministic(_BoosterRule):
    id = "GBM002"
    name = "lightgbm-deterministic"
    title = "LightGBM without deterministic=True and a fixed thread count"
    why = (
        "LightGBM is only reproducible with deterministic=True (plus force_row_wise or "
        "force_col_wise) and a fixed number of threads; otherwise multi-threaded histogram "
        "construction gives slightly different trees on each run or machine."
    )
    fix = "Set deterministic=True, force_row_wise=True, a fixed n_jobs (num_threads) and a seed."
    bad = "import lightgbm as lgb\nmodel = lgb.LGBMClassifier(num_leaves=31)"
    good = (
        "import lightgbm as lgb\nmodel = lgb.LGBMClassifier(num_leaves=31, deterministic=True,\n"
        "                           force_row_wise=True, n_jobs=8, random_state=0)"
    )
    library = "lightgbm"
    estimators = frozenset("LGBMClassifier LGBMRegressor LGBMRanker LGBMModel".split())

    def missing(self, keys: set[str], values: dict[str, ast.expr]) -> list[str]:
        missing = []
        flag = values.get("deterministic")
        if "deterministic" not in keys or (flag is not None and not is_true(flag)):
            missing.append("deterministic=True")
        if not keys & _THREADS:
            missing.append("a thread count (n_jobs / num_threads)")
        return missing
