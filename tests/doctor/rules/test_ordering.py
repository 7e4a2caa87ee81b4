"""ORD001-ORD002: file listings and sets whose arbitrary order reaches something ordered."""

from __future__ import annotations

import pytest

from tests.doctor.conftest import Analyse, rule_ids


@pytest.mark.parametrize(
    "code",
    [
        "import os\nfor i, name in enumerate(os.listdir(d)):\n    index[name] = i",
        "import glob\nfiles = glob.glob('*.csv')\nfirst = files[0]",
        "from pathlib import Path\nimages = [p for p in Path(d).iterdir()]\nds = Dataset(images)",
        "import os\ndef shards(d):\n    return [os.path.join(d, f) for f in os.listdir(d)]\n"
        "ds = Dataset(shards('x'))",
        "import os\ndef names(d):\n    for f in os.listdir(d):\n        yield f\n"
        "first = list(names(d))[0]",
        "import os\nfor f in os.listdir(d):\n    model = train(model, f)",
        "import os\nfor f in os.listdir(d):\n    train_on(f)",
        "import os\nout = []\nfor f in os.listdir(d):\n    out.append(f)\nsave(out)",
        "import os\nwith os.scandir(d) as it:\n    names = [e.name for e in it]\nsave(names)",
        "import glob\na, b = glob.glob('*.csv')",
        "import os\nfor i, f in enumerate(os.listdir(d)):\n    print(i)\n    index[f] = i",
        "import os\nfor f in os.listdir(d):\n    x = load(f)\n    model.fit(x)",
        "import os\nfor f in os.listdir(d):\n    out.write(f)",
        "import glob\nlabels = glob.glob(root + '/*.txt')[0]",
        "import glob\nfirst = glob.glob('*.*')[0]",
    ],
)
def test_listing_used_in_order_is_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == ["ORD001"]


@pytest.mark.parametrize(
    "code",
    [
        "import os\nfiles = sorted(os.listdir(d))",
        "import glob\nfiles = glob.glob('*.csv')\nfiles.sort()\nuse(files)",
        "import os\nn = len(os.listdir(d))",
        "import os\nif 'x' in os.listdir(d):\n    pass",
        "from pathlib import Path\nassert not list(Path(d).glob('*.tmp'))",
        "from pathlib import Path\nnames = {p.name for p in Path(d).iterdir()}",
        "from pathlib import Path\nlatest = max(p.stat().st_mtime for p in Path(d).glob('*'))",
        "import os\nfor f in os.listdir(d):\n    os.remove(f)",
        "import os\nout = []\nfor f in os.listdir(d):\n    out.append(f)\nsave(sorted(out))",
        "from pathlib import Path\nsizes = {p.name: p.stat().st_size for p in Path(d).iterdir()}",
        "import glob\nx = glob.glob('a')\nx = ['b']\nuse(x)",
        "import os\nfiles = os.listdir(d)  # samerun: ignore[ORD001]\nuse(files[0])",
        "import os\ndef shards(d):\n    return [f for f in os.listdir(d)]\nn = len(shards('x'))",
        # one item has one order
        "from pathlib import Path\n(site,) = Path(d).glob('python*/site-packages')",
        "from pathlib import Path\nassert [p.name for p in Path(d).iterdir()] == ['kept.txt']",
        # each item acted on alone, whatever comes first
        "import os\nfrom pathlib import Path\nfor p in Path(d).rglob('*'):\n"
        "    os.utime(p, (1, 1))",
        "from pathlib import Path\nfor p in Path(d).iterdir():\n    p.write_bytes(b'')",
        "import os\nfrom PIL import Image\nfor i, name in enumerate(os.listdir(d)):\n"
        "    with Image.open(name) as img:\n        img = img.resize((8, 8))\n"
        "        img.save(out + name)\n    if i % 100 == 0:\n        print(i)",
        "import os\nit = os.scandir(d)\nwith it:\n    for e in it:\n        os.unlink(e.path)",
        "import os\nseen = set()\nseen.update(os.listdir(d))",
        "import os\nfiles = os.listdir(d)\nassert files, f'nothing in {files}'",
        "import glob\nimage = glob.glob(name + '.*')[0]",
        "from pathlib import Path\nmask = list(Path(d).glob(f'{stem}_mask.*'))[0]",
        "from pathlib import Path\nfound = list(Path(d).glob(stem + '.*'))\n"
        "assert len(found) == 1\nuse(found[0])",
    ],
)
def test_listing_used_without_order_is_not(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == []


def test_a_listing_is_reported_once_where_its_order_is_used(analyse: Analyse) -> None:
    code = "import os\nfiles = os.listdir(d)\nn = len(files)\nfirst = files[0]\nlast = files[-1]\n"
    found = analyse({"a.py": code})
    assert [(f.rule, f.line) for f in found.findings] == [("ORD001", 4)]
    assert "(line 2)" in found.findings[0].message


@pytest.mark.parametrize(
    "code",
    [
        "vocab = set(tokens)\nindex = {w: i for i, w in enumerate(vocab)}",
        "labels = list(set(y))\nmodel.fit(X, labels)",
        "for i, name in enumerate({'cat', 'dog'}):\n    ids[name] = i",
        "words = set()\nfor t in text:\n    words.add(t)\nvocab = list(words)\nsave(vocab)",
    ],
)
def test_set_order_feeding_an_ordering_is_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == ["ORD002"]


@pytest.mark.parametrize(
    "code",
    [
        "vocab = set(tokens)\nindex = {w: i for i, w in enumerate(sorted(vocab))}",
        "seen = set()\nif x in seen:\n    pass\nseen.add(x)",
        "ids = list(set(range(10)))\nuse(ids[0])",
        "for i, n in enumerate({1, 2, 3}):\n    print(i, n)",
        "missing = set(a) - set(b)\nraise KeyError(', '.join(missing))",
        "names = set(a)\ncheck(names)",
        "counts = {w: text.count(w) for w in set(text)}",
    ],
)
def test_set_without_order_is_not(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == []


@pytest.mark.parametrize(
    "code",
    [
        "import os\ndef load(d):\n    out = []\n    for f in os.listdir(d):\n"
        "        out.append(f)\n    return out",
        "import os\ndef load(d):\n"
        "    return [open(os.path.join(d, f)).read() for f in os.listdir(d)]",
        "import glob\ndef load():\n    files = []\n    files += glob.glob('*.csv')\n"
        "    return files",
        "import os\ndef main():\n    return load('d')[0]\ndef load(d):\n    return os.listdir(d)",
    ],
)
def test_a_listing_returned_in_file_system_order_is_reported(analyse: Analyse, code: str) -> None:
    found = analyse({"a.py": code})
    assert rule_ids(found) == ["ORD001"]
    assert "(line" in found.findings[0].message


def test_a_returned_listing_whose_callers_sort_it_is_not(analyse: Analyse) -> None:
    code = (
        "import os\ndef main():\n    return sorted(load('d'))\n"
        "def load(d):\n    return [f for f in os.listdir(d)]"
    )
    assert rule_ids(analyse({"a.py": code})) == []


@pytest.mark.parametrize(
    "code",
    [
        "from multiprocessing import Pool\nwith Pool(4) as p:\n"
        "    results = list(p.imap_unordered(f, range(100)))\nsave(results)",
        "from concurrent.futures import ThreadPoolExecutor, as_completed\n"
        "rows = []\nfor fut in as_completed(futures):\n    rows.append(fut.result())\nwrite(rows)",
        "import asyncio\nasync def main():\n    for c in asyncio.as_completed(tasks):\n"
        "        log.write(await c)",
        "import multiprocessing as mp\nq = mp.Queue()\nout = [q.get() for _ in range(4)]\n"
        "save(out)",
        "import multiprocessing as mp\nq = mp.Queue()\nout = []\nwhile not q.empty():\n"
        "    out.append(q.get())\nsave(out)",
    ],
)
def test_completion_order_used_in_order_is_reported(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == ["ORD003"]


@pytest.mark.parametrize(
    "code",
    [
        "from multiprocessing import Pool\nwith Pool(4) as p:\n"
        "    total = sum(p.imap_unordered(f, range(100)))",
        "from concurrent.futures import as_completed\nfor fut in as_completed(futures):\n"
        "    print(fut.result())",
        "from multiprocessing import Pool\nwith Pool(4) as p:\n"
        "    results = sorted(p.imap_unordered(f, range(100)))\nsave(results)",
        "from multiprocessing import Pool\nwith Pool(4) as p:\n"
        "    results = list(p.imap(f, range(100)))\nsave(results)",
        "import multiprocessing as mp\nq = mp.Queue()\nout = []\nfor _ in range(4):\n"
        "    out.append(q.get())\ntotal = sum(out)",
    ],
)
def test_completion_order_not_used_in_order_is_not(analyse: Analyse, code: str) -> None:
    assert rule_ids(analyse({"a.py": code})) == []


def test_a_returned_listing_is_judged_where_another_file_calls_it(analyse: Analyse) -> None:
    lister = "import os\ndef names(d):\n    return [f for f in os.listdir(d)]\n"
    found = analyse(
        {
            "lister.py": lister,
            "main.py": "import json\nfrom lister import names\n"
            "count = len(names('d'))\ndata = json.load(open('x'))\n",
        }
    )
    assert rule_ids(found) == []
    assert rule_ids(analyse({"lister.py": lister, "main.py": "import json\njson.names(1)\n"})) == [
        "ORD001"
    ]


def test_a_returned_set_is_not_but_a_list_made_from_it_is(analyse: Analyse) -> None:
    assert rule_ids(analyse({"a.py": "def used(xs):\n    return set(xs)\n"})) == []
    assert rule_ids(analyse({"a.py": "def used(xs):\n    return list(set(xs))\n"})) == ["ORD002"]


def test_a_listing_handed_to_a_function_is_judged_by_what_it_does_with_it(
    analyse: Analyse,
) -> None:
    code = (
        "import os\n"
        "def total(files):\n    return sum(os.path.getsize(f) for f in files)\n"
        "def first(files):\n    return files[0]\n"
        "class Loader:\n    def load(self, d):\n        return self.pick(os.listdir(d))\n"
        "    def pick(self, names):\n        return names[-1]\n"
        "size = total(os.listdir('a'))\n"
        "head = first(files=os.listdir('b'))\n"
    )
    found = analyse({"a.py": code})
    assert [(f.rule, f.line) for f in found.findings] == [("ORD001", 8), ("ORD001", 12)]
    assert "pick() uses its order on line 10" in found.findings[0].message
    assert "first() uses its order on line 5" in found.findings[1].message


def test_a_listing_handed_to_a_function_of_another_file_is_judged_there(
    analyse: Analyse,
) -> None:
    util = "def count(files):\n    return len(files)\ndef first(files):\n    return files[0]\n"
    main = (
        "import os\nfrom pkg import util\nfrom pkg.util import count\n"
        "n = count(os.listdir('a'))\nhead = util.first(os.listdir('b'))\n"
    )
    found = analyse({"pkg/__init__.py": "", "pkg/util.py": util, "main.py": main})
    assert [(f.path, f.line) for f in found.findings] == [("main.py", 5)]
    assert "first() uses its order on line 4 of pkg/util.py" in found.findings[0].message
