"""Every rule's documented examples: the bad one is reported, the good one is not."""

from __future__ import annotations

import pytest

from samerun.doctor.registry import rules
from samerun.doctor.rule import NotebookRule, Rule
from tests.doctor.conftest import Analyse, rule_ids

CODE_RULES = [r for r in rules().values() if not issubclass(r, NotebookRule)]


@pytest.mark.parametrize("rule", CODE_RULES, ids=lambda r: r.id)
def test_the_bad_example_is_reported(analyse: Analyse, rule: type[Rule]) -> None:
    assert rule.id in rule_ids(analyse({"main.py": rule.bad}))


@pytest.mark.parametrize("rule", CODE_RULES, ids=lambda r: r.id)
def test_the_good_example_is_not(analyse: Analyse, rule: type[Rule]) -> None:
    assert rule.id not in rule_ids(analyse({"main.py": rule.good}))


def test_every_rule_is_documented() -> None:
    for rule in rules().values():
        assert all((rule.title, rule.why, rule.fix, rule.bad, rule.good)), rule.id
        assert rule.name == rule.name.lower()
        assert " " not in rule.name
