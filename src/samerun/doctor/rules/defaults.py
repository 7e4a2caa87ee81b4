"""scikit-learn and pandas calls whose randomness falls back to NumPy's global generator."""

from __future__ import annotations

import ast
from collections.abc import Callable

from samerun.doctor.context import Facts, Hit
from samerun.doctor.facts import keyword
from samerun.doctor.rule import Rule, register

Condition = Callable[[ast.Call], bool]


def _always(call: ast.Call) -> bool:
    return True


def _is(name: str, *values: object) -> Condition:
    """Random only when keyword ``name`` is one of ``values`` (a literal)."""
    return lambda call: _literal(keyword(call, name)) in values


def _not(name: str, *values: object) -> Condition:
    """Random unless keyword ``name`` is one of ``values`` (unset counts as random)."""

    def condition(call: ast.Call) -> bool:
        value = keyword(call, name)
        return value is None or _literal(value) not in values

    return condition


_MISSING = object()


def _literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else _MISSING


_RANDOM_ESTIMATORS = (
    "RandomForestClassifier RandomForestRegressor ExtraTreesClassifier ExtraTreesRegressor "
    "RandomTreesEmbedding GradientBoostingClassifier GradientBoostingRegressor "
    "DecisionTreeClassifier DecisionTreeRegressor ExtraTreeClassifier ExtraTreeRegressor "
    "BaggingClassifier BaggingRegressor IsolationForest AdaBoostClassifier AdaBoostRegressor "
    "KMeans MiniBatchKMeans BisectingKMeans SpectralClustering SpectralEmbedding "
    "SpectralBiclustering SpectralCoclustering GaussianMixture BayesianGaussianMixture "
    "MLPClassifier MLPRegressor SGDClassifier SGDRegressor SGDOneClassSVM Perceptron "
    "PassiveAggressiveClassifier PassiveAggressiveRegressor TSNE MDS LatentDirichletAllocation "
    "FastICA TruncatedSVD MiniBatchNMF RandomizedSearchCV ShuffleSplit StratifiedShuffleSplit "
    "GroupShuffleSplit RepeatedKFold RepeatedStratifiedKFold RANSACRegressor TheilSenRegressor "
    "AffinityPropagation BernoulliRBM DictionaryLearning MiniBatchDictionaryLearning "
    "SparsePCA MiniBatchSparsePCA RBFSampler Nystroem SkewedChi2Sampler "
    "GaussianRandomProjection SparseRandomProjection permutation_importance shuffle resample "
    "train_test_split"
).split()

#: scikit-learn callables that take ``random_state``, and when they actually draw from it.
SKLEARN: dict[str, Condition] = {
    **dict.fromkeys(_RANDOM_ESTIMATORS, _always),
    "train_test_split": _not("shuffle", False),
    "HistGradientBoostingClassifier": _not("early_stopping", False),
    "HistGradientBoostingRegressor": _not("early_stopping", False),
    "KFold": _is("shuffle", True),
    "StratifiedKFold": _is("shuffle", True),
    "GroupKFold": _is("shuffle", True),
    "LogisticRegression": _is("solver", "sag", "saga", "liblinear"),
    "Ridge": _is("solver", "sag", "saga"),
    "Lasso": _is("selection", "random"),
    "ElasticNet": _is("selection", "random"),
    "LinearSVC": _not("dual", False),
    "LinearSVR": _not("dual", False),
    "SVC": _is("probability", True),
    "NuSVC": _is("probability", True),
    "PCA": _is("svd_solver", "randomized", "arpack"),
    "KernelPCA": _is("eigen_solver", "randomized", "arpack"),
    "NMF": _is("init", "random"),
    "FactorAnalysis": _not("svd_method", "lapack"),
    "DummyClassifier": _is("strategy", "stratified", "uniform"),
}


@register
class GlobalRandomState(Rule):
    id = "RNG004"
    name = "random-state-unset"
    title = "A scikit-learn or pandas call draws from NumPy's global generator"
    why = (
        "scikit-learn estimators, splitters and DataFrame.sample use NumPy's global generator "
        "when random_state is left unset. Unless the program seeds NumPy, each run gets "
        "another split, another forest, another sample. (np.random.seed anywhere in the "
        "program silences this rule, but the result then still depends on every earlier draw "
        "from the global generator.)"
    )
    fix = "Pass random_state explicitly: train_test_split(X, y, random_state=seed)."
    bad = (
        "from sklearn.model_selection import train_test_split\n"
        "X_train, X_test = train_test_split(X, test_size=0.2)"
    )
    good = (
        "from sklearn.model_selection import train_test_split\n"
        "X_train, X_test = train_test_split(X, test_size=0.2, random_state=42)"
    )
    nodes = (ast.Call,)

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        if keyword(node, "random_state") is not None or any(k.arg is None for k in node.keywords):
            return  # given, or maybe given through **kwargs
        name = self.ctx.resolve(node.func)
        if name is not None and name.startswith("sklearn."):
            short = name.rpartition(".")[2]
            condition = SKLEARN.get(short)
            if condition is not None and condition(node):
                self.report(node, f"{short}() leaves random_state unset", subject="numpy")
        elif (
            name is None
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "sample"
            and "pandas" in self.ctx.modules
            and len(node.args) < 2  # random.Random().sample(population, k) takes two
            and self.ctx.resolve(node.func.value) is None
        ):
            self.report(node, ".sample() leaves random_state unset", subject="numpy")

    program_wide = True

    @classmethod
    def stands(cls, hit: Hit, facts: Facts) -> bool:
        return hit.subject not in facts.seeded
