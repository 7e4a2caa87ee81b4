"""RNG004: scikit-learn and pandas randomness left to NumPy's global generator."""

from __future__ import annotations

import pytest

from tests.doctor.conftest import Analyse, rule_ids


@pytest.mark.parametrize(
    "code",
    [
        "from sklearn.model_selection import train_test_split\na, b = train_test_split(X)",
        "from sklearn.ensemble import RandomForestClassifier\nm = RandomForestClassifier()",
        "import sklearn.model_selection as ms\ncv = ms.KFold(5, shuffle=True)",
        "from sklearn.linear_model import LogisticRegression\nm = LogisticRegression(solver='sag')",
        "import pandas as pd\ndf = pd.read_csv('x.csv')\nsample = df.sample(frac=0.1)",
    ],
)
def test_unset_random_state_is_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == ["RNG004"]


@pytest.mark.parametrize(
    "code",
    [
        "from sklearn.model_selection import train_test_split\na, b = train_test_split(X, "
        "random_state=0)",
        "from sklearn.model_selection import train_test_split\na, b = train_test_split(X, "
        "shuffle=False)",
        "from sklearn.model_selection import KFold\ncv = KFold(5)",
        "from sklearn.linear_model import LogisticRegression\nm = LogisticRegression()",
        "from sklearn.ensemble import RandomForestClassifier\nm = RandomForestClassifier(**cfg)",
        "import numpy as np\nfrom sklearn.cluster import KMeans\nnp.random.seed(0)\nm = KMeans(3)",
        "import pandas as pd\ndf = pd.DataFrame()\ns = df.sample(frac=0.1, random_state=3)",
        "import random\nimport pandas\npicked = random.Random(1).sample(items, 3)",
    ],
)
def test_explicit_or_deterministic_calls_are_not(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == []
