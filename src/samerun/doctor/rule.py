"""What a doctor rule is: a plugin class with an id, docs and examples, and its registration.

A rule asks for node types; during the one walk of each file it is handed those nodes and
reports hits. Whether a hit stands may depend on the whole program (``stands``), e.g. a use of
``random`` is a hazard only if no file seeds it. Rule modules import this one to register; the
registry (:mod:`samerun.doctor.registry`) imports the rule modules to list them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import ClassVar

from samerun.doctor.context import Facts, FileContext, Hit, Visitor
from samerun.doctor.sources import NotebookCell


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
    once: ClassVar[bool] = False  # report only each program's first standing hit
    program_wide: ClassVar[bool] = False  # whether `stands` depends on the program

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx

    def visit(self, node: ast.AST) -> None:
        """Called for each node of a type in ``nodes``; reports with ``self.report``."""

    def visitors(self) -> dict[type[ast.AST], Visitor]:
        """The method called for each node type of ``nodes``: ``visit``, unless a rule hands a
        frequent type (every name, say) to a method of its own that returns at once."""
        return dict.fromkeys(self.nodes, self.visit)

    def finish(self) -> None:
        """Called once the whole file has been walked, for what only its end can decide."""

    def report(
        self,
        node: ast.AST,
        message: str,
        subject: str = "",
        origin: int = 0,
        returned_by: str = "",
        handed_to: tuple[str, int | str] | None = None,
    ) -> None:
        self.ctx.report(self.id, node, message, subject, origin, returned_by, handed_to)

    @classmethod
    def handed_order(cls, tree: ast.Module, function: str, argument: int | str) -> int | None:
        """For a hit handed to ``function`` of another file (parsed as ``tree``) at
        ``argument``: the line where that function makes the hazard real, None when it does
        not, 0 when that cannot be told (rules that follow no parameters)."""
        return 0

    @classmethod
    def stands(cls, hit: Hit, facts: Facts) -> bool:
        """Whether ``hit`` is a hazard given what the program running it does."""
        return True


class NotebookRule(Rule):
    """A rule about a notebook as a whole (its cells' execution record), not its code."""

    @classmethod
    def check(cls, cells: list[NotebookCell]) -> Iterator[tuple[int, str]]:
        """Yields (code cell number, message) for each hazard."""
        raise NotImplementedError


REGISTERED: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator that adds a rule to the registry."""
    if cls.id in REGISTERED:
        raise ValueError(f"two rules have the id {cls.id}")
    REGISTERED[cls.id] = cls
    return cls
