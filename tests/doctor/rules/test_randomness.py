"""RNG001-RNG003: unseeded generators (whole-program), clock seeds, PYTHONHASHSEED."""

from __future__ import annotations

import pytest

from tests.doctor.conftest import Analyse, rule_ids


@pytest.mark.parametrize(
    "code",
    [
        "import random\nx = random.random()",
        "from random import shuffle\nshuffle(items)",
        "import numpy as np\nx = np.random.rand(3)",
        "from numpy import random as npr\nx = npr.normal()",
        "import torch\nx = torch.randn(3)",
        "import torch.nn as nn\nlayer = nn.Linear(3, 4)",
        "import tensorflow as tf\nx = tf.random.normal([3])",
        "import numpy as np\nrng = np.random.default_rng()",
        "import random\nrng = random.Random()",
    ],
)
def test_unseeded_use_is_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"train.py": code})) == ["RNG001"]


@pytest.mark.parametrize(
    "code",
    [
        "import random\nrandom.seed(0)\nx = random.random()",
        "import numpy as np\nnp.random.seed(1)\nx = np.random.rand(3)",
        "import numpy as np\nrng = np.random.default_rng(7)\nx = rng.normal()",
        "import torch\ntorch.manual_seed(0)\nx = torch.randn(3)",
        # a new torch.Generator() starts from torch's fixed default seed: it repeats run to run
        "import torch\ng = torch.Generator()\nx = torch.randn(3, generator=g)",
        "import tensorflow as tf\nx = tf.random.normal([3], seed=1)",
        "import transformers, torch\ntransformers.set_seed(3)\nx = torch.rand(2)",
        "import samerun, random\nsamerun.seed_everything()\nx = random.random()",
        "import secrets\ntoken = secrets.token_hex()",
        "random = object()\nx = random.random()",  # not the random module
    ],
)
def test_seeded_or_explicit_use_is_not(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"train.py": code})) == []


def test_a_seed_in_an_imported_module_counts(analyse: Analyse) -> None:
    found = analyse(
        {
            "utils.py": "import numpy as np\ndef set_seed(s):\n    np.random.seed(s)\n",
            "train.py": "import numpy as np\nfrom utils import set_seed\nx = np.random.rand(3)\n",
        }
    )
    assert rule_ids(found) == []


def test_each_script_is_its_own_program(analyse: Analyse) -> None:
    """A folder of independent scripts reports what each script alone reports."""
    seeded = "import numpy as np\nnp.random.seed(5)\nx = np.random.rand(3)\n"
    unseeded = "import numpy as np\nx = np.random.rand(3)\n"
    found = analyse({"a.py": seeded, "b.py": unseeded})
    assert [(f.rule, f.path) for f in found.findings] == [("RNG001", "b.py")]
    assert analyse({"b.py": unseeded}).findings[0].message == found.findings[0].message


def test_a_library_is_judged_under_each_entry_point(analyse: Analyse) -> None:
    found = analyse(
        {
            "pkg/__init__.py": "",
            "pkg/noise.py": "import numpy as np\ndef noise():\n    return np.random.rand(3)\n",
            "train.py": "import numpy as np\nfrom pkg.noise import noise\nnp.random.seed(1)\n",
            "evaluate.py": "from pkg import noise\nif __name__ == '__main__':\n    noise.noise()\n",
        }
    )
    assert [(f.rule, f.path) for f in found.findings] == [("RNG001", "pkg/noise.py")]
    assert "(in the program run from evaluate.py)" in found.findings[0].message
    seeds = {p.entry: p.facts.seeded for p in found.programs}
    assert seeds == {"evaluate.py": set(), "train.py": {"numpy"}}


def test_relative_imports_join_a_program(analyse: Analyse) -> None:
    found = analyse(
        {
            "pkg/__init__.py": "",
            "pkg/seeding.py": "import random\nrandom.seed(0)\n",
            "pkg/main.py": "import random\nfrom . import seeding\nrandom.random()\n",
        }
    )
    assert rule_ids(found) == []


def test_seeding_without_a_value_does_not_count(analyse: Analyse) -> None:
    assert rule_ids(analyse({"a.py": "import random\nrandom.seed()\nrandom.random()"})) == [
        "RNG001"
    ]


PARSER = "import argparse, random\nparser = argparse.ArgumentParser()\n"


@pytest.mark.parametrize(
    ("option", "found"),
    [
        ("parser.add_argument('--seed', type=int)", ["RNG001", "RNG001"]),
        ("parser.add_argument('--seed', default=None, type=int)", ["RNG001", "RNG001"]),
        ("parser.add_argument('--seed', default=0, type=int)", []),
        ("parser.add_argument('--seed', required=True, type=int)", []),
        ("parser.add_argument('--seed', type=int)\nif args.seed is None:\n    args.seed = 7", []),
    ],
)
def test_a_seed_from_an_option_counts_only_if_the_option_has_a_value(
    analyse: Analyse, option: str, found: list[str]
) -> None:
    code = (
        f"{PARSER}{option}\nargs = parser.parse_args()\n"
        "if args.seed is not None:\n    random.seed(args.seed)\nx = random.random()\n"
    )
    analysis = analyse({"a.py": code})
    assert rule_ids(analysis) == found
    if found:
        assert "seeds only when --seed is given" in analysis.findings[0].message


@pytest.mark.parametrize(
    "code",
    [
        "import random, time\nrandom.seed(int(time.time()))",
        "import os\nseed = os.getpid()",
        "import numpy as np, time\nrng = np.random.default_rng(time.time_ns())",
        "from datetime import datetime\nm = Model(random_state=int(datetime.now().timestamp()))",
    ],
)
def test_clock_seeds_are_reported(analyse: Analyse, code: str) -> None:
    assert "RNG002" in rule_ids(analyse({"a.py": code}))


@pytest.mark.parametrize(
    "code",
    [
        "import random\nrandom.seed(42)",
        "import time\nstart = time.time()",
        "import os\nseed = int(os.environ['SEED'])",
    ],
)
def test_fixed_seeds_are_not(analyse: Analyse, code: str) -> None:
    assert "RNG002" not in rule_ids(analyse({"a.py": code}))


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.environ['PYTHONHASHSEED'] = '0'",
        "import os\nos.environ.setdefault('PYTHONHASHSEED', '0')",
        "import os\nos.environ.update(PYTHONHASHSEED='0')",
    ],
)
def test_hash_seed_set_in_process_is_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == ["RNG003"]


def test_hash_seed_for_a_child_environment_is_not(analyse: Analyse) -> None:
    code = "import os, subprocess\nenv = dict(os.environ)\nenv['PYTHONHASHSEED'] = '0'\n"
    assert rule_ids(analyse({"a.py": code})) == []


@pytest.mark.parametrize(
    "code",
    [
        "import jax, time\nkey = jax.random.PRNGKey(int(time.time()))",
        "import torch, time\ng = torch.Generator()\ng.manual_seed(time.time_ns())",
        "import os\nimport tensorflow as tf\n"
        "g = tf.random.Generator.from_seed(int.from_bytes(os.urandom(4), 'big'))",
    ],
)
def test_generators_seeded_from_entropy_are_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == ["RNG002"]


def test_an_unseeded_torch_generator_is_not_reported(analyse: Analyse) -> None:
    """torch.Generator() starts from a fixed default seed: the same numbers on every run."""
    code = "import torch\ng = torch.Generator()\nx = torch.rand(3, generator=g)"
    assert rule_ids(analyse({"a.py": code})) == []


@pytest.mark.parametrize(
    ("code", "use"),
    [
        ("def split(ids):\n    return [i for i in ids if hash(i) % 10 < 8]", "bucket"),
        ("train = [r for r in rows if hash(r.user) < 0]", "split"),
        ("import random\nrandom.seed(hash(run_name))", "seed"),
        ("import numpy as np\nrng = np.random.default_rng(abs(hash(name)))", "seed"),
        ("m = Model(random_state=hash((name, 1)) & 0xFFFF)", "bucket"),
        ("order = sorted(names, key=hash)", "sorting"),
        ("names.sort(key=lambda n: hash(n))", "sorting"),
        ("h = hash(pickle.dumps(x))\nsplit = 'test' if h % 4 == 0 else 'train'", "bucket"),
    ],
)
def test_string_hash_deciding_something_is_reported(analyse: Analyse, code: str, use: str) -> None:
    found = analyse({"a.py": code})
    assert rule_ids(found) == ["RNG005"]
    assert use in found.findings[0].message


@pytest.mark.parametrize(
    "code",
    [
        "class Key:\n    def __hash__(self):\n        return hash((self.a, self.b)) % 7",
        "cache = {hash(x): x for x in xs}",
        "bucket = hash(12) % 10",
        "same = hash(a) == hash(b)",
        "h = hash(x)\nh = 3\nb = h % 2",
        "import hashlib\nbucket = int(hashlib.sha1(k.encode()).hexdigest(), 16) % 10",
    ],
)
def test_hash_not_deciding_anything_is_not(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == []


def test_a_module_is_judged_only_where_its_code_is_called(analyse: Analyse) -> None:
    """predict.py imports Net only to unpickle a model: Net's initialization never runs there."""
    found = analyse(
        {
            "model.py": "import torch\nclass Net(torch.nn.Module):\n"
            "    def __init__(self):\n        self.fc = torch.nn.Linear(2, 2)\n",
            "train.py": "import torch\nfrom model import Net\ntorch.manual_seed(0)\nnet = Net()\n",
            "predict.py": "import torch\nfrom model import Net\nnet = torch.load('m.pt')\n",
        }
    )
    assert rule_ids(found) == []
