"""One walk per file: import-aware name resolution, ancestry, scopes, and the program's facts.

Every rule sees the nodes it asked for during a single depth-first walk in source order, with
the ancestors of the node and the import aliases seen so far, so ``np.random.rand`` resolves to
``numpy.random.rand`` whatever the import looked like.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

#: Builtins that rules reason about; a bare name resolves to itself when it is not imported.
BUILTINS = frozenset(
    "sorted set frozenset list tuple dict len any all max min sum bool iter next reversed range "
    "enumerate zip map filter int str print open hash abs".split()
)
#: Nodes that open a scope of their own; module level (every cell of a notebook) is scope 0.
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass
class Facts:
    """What the whole program does, gathered from every file before any hit is judged."""

    seeded: set[str] = field(default_factory=set)  # libraries whose global RNG is seeded
    deterministic: bool = False  # torch deterministic algorithms (or cuDNN determinism) enabled


@dataclass(frozen=True)
class Hit:
    """A rule's candidate finding; whether it stands may depend on the whole program."""

    rule: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    cell: int | None
    subject: str = ""  # what the program-wide condition is about (e.g. the library)
    origin: int = 0  # another line whose comment also silences it (where the hazard was made)
    returned_by: str = ""  # the function that hands the hazard to callers the file does not hold
    # the imported function (dotted) and the position or keyword it is handed the collection at:
    # a function of another file of the project is judged by what it does with that parameter
    handed_to: tuple[str, int | str] | None = None


class FileContext:
    """The state of the walk through one file (or one notebook, cell after cell)."""

    def __init__(self, path: str, facts: Facts) -> None:
        self.path = path
        self.facts = facts
        self.aliases: dict[str, str] = {}
        self.modules: set[str] = set()  # top-level modules this file imports
        self.imported: set[str] = set()  # every module it imports, dotted, relative ones resolved
        self.main = False  # it has an `if __name__ == "__main__":` block
        # modules whose functions it may run without naming them: relative and star imports
        self.loose: set[str] = set()
        self.calls: set[str] = set()  # what it calls or subclasses, resolved through imports
        self.called_names: set[str] = set()  # methods and its own functions that it calls
        self.parents: list[ast.AST] = []
        self.scopes: list[ast.AST] = []
        self.cell: int | None = None
        self.hits: list[Hit] = []

    @property
    def scope(self) -> int:
        return id(self.scopes[-1]) if self.scopes else 0

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name ``node`` refers to through imports (``np.random`` → ``numpy.random``)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id) or (node.id if node.id in BUILTINS else None)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is None or base in BUILTINS:
                return None
            return f"{base}.{node.attr}"
        return None

    def imports(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for name in node.names:
                top = name.name.split(".")[0]
                self.modules.add(top)
                self.imported.add(name.name)
                if name.asname:
                    self.aliases[name.asname] = name.name
                else:
                    self.aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            self.modules.add(node.module.split(".")[0])
            self.imported.add(node.module)
            for name in node.names:
                if name.name == "*":
                    self.loose.add(node.module)
                else:
                    self.aliases[name.asname or name.name] = f"{node.module}.{name.name}"
                    self.imported.add(f"{node.module}.{name.name}")
        elif isinstance(node, ast.ImportFrom):
            package = self.path.split("/")[: -node.level]
            base = ".".join([*package, *([node.module] if node.module else [])])
            relative = {f"{base}.{n.name}".lstrip(".") for n in node.names} | {base} - {""}
            self.imported |= relative
            self.loose |= relative

    def report(
        self,
        rule: str,
        node: ast.AST,
        message: str,
        subject: str = "",
        origin: int = 0,
        returned_by: str = "",
        handed_to: tuple[str, int | str] | None = None,
    ) -> None:
        line = getattr(node, "lineno", 1)
        self.hits.append(
            Hit(
                rule=rule,
                message=message,
                path=self.path,
                line=line,
                column=getattr(node, "col_offset", 0) + 1,
                # an expression may carry the comment that silences it on its last line;
                # a statement (a whole loop) only on its first
                end_line=(node.end_lineno or line) if isinstance(node, ast.expr) else line,
                cell=self.cell,
                subject=subject,
                origin=origin,
                returned_by=returned_by,
                handed_to=handed_to,
            )
        )


Visitor = Callable[[ast.AST], None]


def _children(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        # the value before the targets: `x = f(x)` reads the old x before binding the new one
        if node.value is not None:
            yield node.value
        yield from node.targets if isinstance(node, ast.Assign) else (node.target,)
        if isinstance(node, ast.AnnAssign):
            yield node.annotation
        return
    yield from ast.iter_child_nodes(node)


def walk(tree: ast.AST, ctx: FileContext, dispatch: dict[type[ast.AST], list[Visitor]]) -> None:
    """Visit ``tree`` depth-first in source order; a node's visitors run before its children's."""
    parents = ctx.parents
    scopes = ctx.scopes

    def visit(node: ast.AST) -> None:
        for visitor in dispatch.get(type(node), ()):
            visitor(node)
        scoped = isinstance(node, _SCOPES)
        if scoped:
            scopes.append(node)
        parents.append(node)
        for child in _children(node):
            visit(child)
        parents.pop()
        if scoped:
            scopes.pop()

    visit(tree)
