"""--select/--ignore work like ruff's: prefixes, and the more specific one wins."""

from __future__ import annotations

import pytest

from samerun._exceptions import UsageError
from samerun.doctor.registry import rules, selector


def chosen(select: list[str], ignore: list[str]) -> set[str]:
    keep = selector(select, ignore)
    return {rule_id for rule_id in rules() if keep(rule_id)}


def test_everything_by_default() -> None:
    assert chosen([], []) == set(rules())


def test_prefixes_select_and_ignore() -> None:
    assert chosen(["TORCH"], []) == {"TORCH001", "TORCH002", "TORCH003", "TORCH004"}
    rng = {"RNG001", "RNG002", "RNG003", "RNG004", "RNG005"}
    assert chosen(["rng,ord001"], []) == rng | {"ORD001"}
    assert "ORD001" not in chosen([], ["ORD"])


def test_the_more_specific_prefix_wins() -> None:
    assert chosen(["ORD001"], ["ORD"]) == {"ORD001"}
    assert chosen(["ORD"], ["ORD001"]) == {"ORD002", "ORD003"}
    assert chosen(["ALL"], ["ALL"]) == set()


def test_an_unknown_rule_is_one_clear_error() -> None:
    with pytest.raises(UsageError, match="no rule id starts with 'XYZ'"):
        selector(["XYZ"], [])


def test_the_readme_lists_every_rule() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert [r for r in rules() if f"`{r}`" not in readme] == []
