from __future__ import annotations

import pytest

from samerun import SamerunError
from samerun.split import assign, stable_split

LETTER = {"train": "r", "val": "v", "test": "t"}


def _letters(ids: list[object], seed: int) -> str:
    return "".join(LETTER[assign(i, seed=seed)] for i in ids)


def test_golden_vectors_pin_the_documented_rule() -> None:
    # blake3(str(seed) + NUL + id) → u in [0, 1) → first split whose running total exceeds u.
    assert _letters(list(range(40)), 0) == "trrrrtvtrrrrrrrtrttvrrtrrvrrtvrrrrrrrrrr"
    assert _letters([f"user-{i}" for i in range(40)], 42) == (
        "rrvrvrrvrvrrrrvrvrrtrrrrrrrrrrvrrrrrrrrr"
    )
    halves = "".join(
        assign(f"row{i}".encode(), fractions={"a": 0.5, "b": 0.5}, seed=3) for i in range(40)
    )
    assert halves == "abbabbbbaaabbaaabbabbaababbaabaaabbaaaba"


def test_adding_rows_never_moves_existing_ones() -> None:
    before = stable_split(list(range(1000)), seed=5)
    after = stable_split(list(range(3000)), seed=5)
    for name, ids in before.items():
        assert set(ids) <= set(after[name])


def test_fractions_are_respected_and_the_seed_changes_the_assignment() -> None:
    parts = stable_split(list(range(20_000)), seed=1)
    assert abs(len(parts["train"]) / 20_000 - 0.7) < 0.02
    assert abs(len(parts["test"]) / 20_000 - 0.15) < 0.02
    assert stable_split(list(range(100)), seed=2) != stable_split(list(range(100)), seed=3)


def test_tables_split_the_same_way_as_plain_ids() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    ids = [f"id{i}" for i in range(500)]
    expected = stable_split(ids, seed=9)
    frames = {
        "pandas": stable_split(pd.DataFrame({"k": ids}), id_column="k", seed=9),
        "polars": stable_split(pl.DataFrame({"k": ids}), id_column="k", seed=9),
        "pyarrow": stable_split(pa.table({"k": ids}), id_column="k", seed=9),
    }
    for parts in frames.values():
        for name, part in parts.items():
            column = part.column("k").to_pylist() if hasattr(part, "num_rows") else part["k"]
            assert list(column) == expected[name]


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(SamerunError, match="add up to 1"):
        stable_split([1, 2], fractions={"a": 0.5, "b": 0.4})
    with pytest.raises(SamerunError, match="str, int or bytes"):
        stable_split([1.5])
    with pytest.raises(SamerunError, match="no column"):
        stable_split(pytest.importorskip("pandas").DataFrame({"a": [1]}), id_column="b")
