"""The rule registry: every rule is a plugin class with an id, docs and examples.

A rule asks for node types; during the one walk of each file it is handed those nodes and
reports hits. Whether a hit stands may depend on the whole program (``stands``), e.g. a use of
``random`` is a hazard only if no file seeds it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from samerun._exceptions import UsageError
from samerun.doctor.context import Facts, FileContext, Hit
from samerun.doctor.sources import NotebookCell

ALL = "ALL"


class Rule:
    """Base of every rule. Subclasses set the class attributes and override ``visit``."""

    id: ClassVar[str]
    name: ClassVar[str]  # kebab-case, for humans and SARIF
    title: ClassVar[str]  # one line
    why: ClassVar[str]  # why it matters for reproducibility
    fix: ClassVar[str]  # what to do
    bad: ClassVar[str]  # a snippet the rule reports
    good: ClassVar[str]  # the same snippet, fixed
    nodes: ClassVar[tuple[type[ast.AST], ...]] = ()
    once: ClassVar[bool] = False  # report only the program's first standing hit

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx

    def visit(self, node: ast.AST) -> None:
        """Called for each node of a type in ``nodes``; reports with ``self.report``."""

    def report(self, node: ast.AST, message: str, subject: str = "", origin: int = 0) -> None:
        self.ctx.report(self.id, node, message, subject, origin)

    @classmethod
    def stands(cls, hit: Hit, facts: Facts) -> bool:
        """Whether ``hit`` is a hazard given what the whole program does."""
        return True


class NotebookRule(Rule):
    """A rule about a notebook as a whole (its cells' execution record), not its code."""

    @classmethod
    def check(cls, cells: list[NotebookCell]) -> Iterator[tuple[int, str]]:
        """Yields (code cell number, message) for each hazard."""
        raise NotImplementedError


_RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator that adds a rule to the registry."""
    if cls.id in _RULES:
        raise ValueError(f"two rules have the id {cls.id}")
    _RULES[cls.id] = cls
    return cls


def rules() -> dict[str, type[Rule]]:
    """Every registered rule by id, in id order."""
    import samerun.doctor.rules  # noqa: F401  (registers the built-in rules)

    return dict(sorted(_RULES.items()))


def _prefixes(values: Iterable[str]) -> list[str]:
    return [p.strip().upper() for v in values for p in v.split(",") if p.strip()]


def matches(rule_id: str, prefix: str) -> bool:
    return prefix == ALL or rule_id.startswith(prefix)


def selector(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Callable[[str], bool]:
    """A predicate over rule ids, with ruff's semantics.

    ``select`` defaults to every rule; a prefix selects every rule whose id starts with it;
    when both lists match an id the longer (more specific) prefix wins, ``ignore`` on a tie.
    """
    chosen, dropped = _prefixes(select) or [ALL], _prefixes(ignore)
    known = rules()
    for prefix in [*chosen, *dropped]:
        if not any(matches(rule_id, prefix) for rule_id in known):
            raise UsageError(
                f"no rule id starts with {prefix!r}; `samerun doctor --rules` lists them"
            )

    def weight(rule_id: str, prefixes: list[str]) -> int:
        hits = [0 if p == ALL else len(p) for p in prefixes if matches(rule_id, p)]
        return max(hits, default=-1)

    return lambda rule_id: weight(rule_id, chosen) > weight(rule_id, dropped)
